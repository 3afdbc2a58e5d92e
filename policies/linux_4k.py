"""linux-4k: Linux with transparent huge pages disabled (enabled=never).

Every fault maps one 4 KiB page; nothing is ever promoted.
"""
from machine.constants import FAULT_BASE
from policies.base import Policy, register


@register("linux-4k")
class Linux4K(Policy):
    fault_mode = FAULT_BASE
    # THP disabled: no huge allocation, so nothing to compact for (defrag_fault False)

"""Workload generators and the trace format they write.

Each generator module registers itself in ``REGISTRY`` (see ``base.py``);
``python -m workloads.generate`` runs one by name.
"""
from workloads.base import REGISTRY, Workload, register, get  # noqa: F401
from workloads import buffer_touch  # noqa: F401  (registers)
from workloads import graph500  # noqa: F401  (registers)

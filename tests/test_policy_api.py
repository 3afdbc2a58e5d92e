"""Policies use only the machine's mechanism API (machine.mechanisms).

No file under policies/ may index a machine array or counter, or name the
machine's internal codes: page tables ``rg``, physical memory ``ph``, the
global/process/parameter arrays ``G``, ``C``, ``P``, a process's ``arrays``,
or the ``PG_*``, ``BLK_*``, ``L_*``, ``C_*``, ``G_*``, ``P_*`` constants.
The scan covers the whole text (code, comments and docstrings).
"""
import re
from pathlib import Path

import pytest

POLICIES = Path(__file__).resolve().parents[1] / "policies"

FORBIDDEN = re.compile(
    r"\b(?:rg|ph)\.[a-z_]+\["          # rg.huge[slot], ph.blk_state[b]
    r"|\.(?:rg|ph)\b"                  # m.rg, self.m.ph
    r"|\.[GCP]\["                      # m.G[...], proc.C[...], m.P[...]
    r"|\.arrays\b"                     # pr.arrays
    r"|\b(?:PG|BLK|L|C|G|P)_[A-Z][A-Z0-9_]*\b")   # PG_ACCESSED, BLK_RESERVED, C_CLOCK...


def violations(text: str) -> list[str]:
    """'line: match' for every forbidden name in a source text."""
    return [f"{n}: {m.group(0)}" for n, line in enumerate(text.splitlines(), 1)
            for m in FORBIDDEN.finditer(line)]


def test_policies_use_only_the_mechanism_api():
    files = sorted(POLICIES.rglob("*.py"))
    assert len(files) >= 10          # the scan really sees the policy sources
    found = {str(f.relative_to(POLICIES)): v for f in files if (v := violations(f.read_text()))}
    assert found == {}


@pytest.mark.parametrize("line", [
    "st = m.rg.pg_state[slot * 512:(slot + 1) * 512]",       # linux_thp before the API
    "private = int(rg.mapped[slot] - rg.zpages[slot])",      # ingens before the API
    "proc.C[C_CLOCK] += int(self.m.P[P_PROMOTE_INPLACE])",   # freebsd before the API
    "cand = np.flatnonzero(ph.blk_state == BLK_RESERVED)",
    "n = int(self.m.ph.lst[L_FREE_DIRTY, 2])",               # prezero before the API
    "from machine.constants import PG_ACCESSED",
    "a = pr.arrays",
    "self.G[G_RESV_BROKEN] += 1",
])
def test_the_scan_catches_what_policies_did_before(line):
    assert violations(line)


@pytest.mark.parametrize("line", [
    "from machine.constants import FAULT_BASE, FAULT_HUGE",
    "s = m.pte_summary(slot)",
    "self.m.charge_process(proc, self.m.params.us('promote_inplace_us'))",
    "n = pr.rss_pages // PAGES_PER_HUGE",
])
def test_the_scan_allows_the_api(line):
    assert violations(line) == []

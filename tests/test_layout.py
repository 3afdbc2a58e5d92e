"""The layering of the packages and the size of files, checked on the sources.

Data flows one way: ``hpsim`` (units, io, cli) imports no other project
package; ``machine`` imports no policy and nothing of the run layer;
``policies`` imports ``machine`` (and ``hpsim``) only; ``sim`` drives both.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = {"hpsim", "machine", "policies", "sim", "workloads", "report", "host"}
# package -> the project packages it may import besides itself
ALLOWED = {
    "hpsim": set(),
    "machine": {"hpsim", "workloads"},      # workloads.trace: the record format the engine reads
    "policies": {"hpsim", "machine"},
    "workloads": {"hpsim"},
    "sim": {"hpsim", "machine", "policies", "workloads"},
    "report": {"hpsim"},
    # the real kernel's measurements never depend on the simulator they check
    "host": {"hpsim", "workloads"},
}
MAX_LINES = 600


def project_imports(path: Path) -> set[str]:
    """Top-level project packages imported anywhere in a file (also inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {n.split(".")[0] for n in names} & PROJECT
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_flow_one_way(package):
    bad = {}
    for f in sorted((ROOT / package).rglob("*.py")):
        extra = project_imports(f) - ALLOWED[package] - {package}
        if extra:
            bad[str(f.relative_to(ROOT))] = sorted(extra)
    assert not bad, f"{package} may import only {sorted(ALLOWED[package])}: {bad}"


def test_the_check_sees_a_late_import(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from policies import create\n    import sim.simulate\n")
    assert project_imports(f) == {"policies", "sim"}


def test_no_python_file_over_600_lines():
    mine = [f for f in ROOT.rglob("*.py")
            if not any(part.startswith(".") or part in ("results", "build")
                       for part in f.relative_to(ROOT).parts)]
    long = {str(f.relative_to(ROOT)): n for f in mine
            if (n := len(f.read_text().splitlines())) > MAX_LINES}
    assert not long, f"files over {MAX_LINES} lines: {long}"


def test_machine_array_indices_are_unique():
    """Each index of the machine's parameter (P_), per-process counter (C_) and global
    counter (G_) arrays names one quantity: two names on one slot would silently share it
    (policies and mechanisms added in parallel pick free numbers)."""
    import re
    text = (ROOT / "machine" / "constants.py").read_text()
    for prefix, size in (("P_", "N_PARAMS"), ("C_", "N_COUNTERS"), ("G_", "N_GLOBAL")):
        slots = {}
        for name, idx in re.findall(rf"^({prefix}[A-Z0-9_]+) = (\d+)", text, re.M):
            slots.setdefault(int(idx), []).append(name)
        shared = {i: n for i, n in slots.items() if len(n) > 1}
        assert not shared, f"{prefix} slots used twice: {shared}"
        limit = int(re.search(rf"^{size} = (\d+)", text, re.M).group(1))
        assert max(slots) < limit, f"{prefix} index {max(slots)} >= {size} {limit}"

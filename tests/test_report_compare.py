"""report.compare: verdicts of two profiles side by side, and the committed expected
results of the paper profile against the default profile's (issue "Fidelity")."""
from pathlib import Path

import pandas as pd

from report.compare import main, problems, verdict_pairs

REPO = Path(__file__).resolve().parent.parent
COLUMNS = ["id", "source", "statement", "paper_value", "our_value", "rel_error", "verdict",
           "reason"]


def claims_csv(path: Path, verdicts: dict[str, str]) -> Path:
    pd.DataFrame([{"id": i, "source": "s", "statement": "t", "paper_value": 1.0,
                   "our_value": 1.0, "rel_error": 0.0, "verdict": v, "reason": "r"}
                  for i, v in verdicts.items()], columns=COLUMNS).to_csv(path, index=False)
    return path


def test_pairs_and_problems(tmp_path):
    a = pd.read_csv(claims_csv(tmp_path / "a.csv", {"x": "reproduced", "y": "partly",
                                                    "z": "not measured"}))
    b = pd.read_csv(claims_csv(tmp_path / "b.csv", {"x": "reproduced", "y": "not reproduced"}))
    p = verdict_pairs(a, b).set_index("id")
    assert list(p["same"]) == [True, False, False]
    assert p.loc["z", "verdict_b"] == ""
    assert problems(verdict_pairs(a, b), {"y": "why", "z": "absent"}) == []
    assert problems(verdict_pairs(a, b), {"y": "why"}) == [
        "z: not measured here, (missing) in the other profile, and not listed in the "
        "differences file"]
    assert problems(verdict_pairs(a, b), {"x": "w", "y": "w", "z": "w", "q": "w"}) == [
        "q: listed as differing, but no such claim",
        "x: listed as differing, but both verdicts are reproduced"]


def test_cli_exit_codes(tmp_path, capsys):
    a = claims_csv(tmp_path / "a.csv", {"x": "reproduced", "y": "partly"})
    b = claims_csv(tmp_path / "b.csv", {"x": "reproduced", "y": "not reproduced"})
    assert main([str(a), str(b)]) == 0                 # no list: report only
    out = capsys.readouterr().out
    assert "y  partly          not reproduced  DIFFERS" in out
    diff = tmp_path / "d.yaml"
    diff.write_text("y: the mechanism M acts only at scale\n")
    assert main([str(a), str(b), "--differences", str(diff)]) == 0
    diff.write_text("{}\n")
    assert main([str(a), str(b), "--differences", str(diff)]) == 1
    diff.write_text("y: [not text]\n")
    assert main([str(a), str(b), "--differences", str(diff)]) == 2
    assert main([str(a), str(tmp_path / "missing.csv")]) == 2
    assert "missing.csv" in capsys.readouterr().err

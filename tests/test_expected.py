"""The committed expected results (expected/): the paper profile's claims against the
default profile's (issue "Fidelity": a miniature is faithful when its verdicts are the
paper scale's).  expected/differences.yaml names each claim whose verdict differs, with
the mechanism and the reason; this test fails on a difference it does not list and on a
listed one that no longer differs, so the list and the report stay true."""
from pathlib import Path

from report.claims import load_claims as load_claim_specs
from report.compare import load_differences, problems, verdict_pairs
from report.render.load import load_claims

REPO = Path(__file__).resolve().parent.parent
EXPECTED = REPO / "expected"


def test_the_profiles_verdicts_differ_only_where_listed():
    pairs = verdict_pairs(load_claims(EXPECTED / "default" / "claims.csv"),
                          load_claims(EXPECTED / "paper" / "claims.csv"))
    assert problems(pairs, load_differences(EXPECTED / "differences.yaml")) == []


def test_expected_results_cover_every_claim():
    ids = [c.id for c in load_claim_specs(REPO / "config" / "claims.yaml")]
    for profile in ("default", "paper"):
        assert list(load_claims(EXPECTED / profile / "claims.csv")["id"]) == ids, profile


def test_every_claim_we_do_not_reproduce_says_why():
    """The report gives one paragraph per claim whose verdict is not the paper's
    (config/claims.yaml ``explanation``): which mechanism, and why."""
    specs = {c.id: c for c in load_claim_specs(REPO / "config" / "claims.yaml")}
    for profile in ("default", "paper"):
        df = load_claims(EXPECTED / profile / "claims.csv")
        missing = [i for i, v in zip(df["id"], df["verdict"])
                   if v in ("partly", "not reproduced") and not specs[i].explanation]
        assert missing == [], (profile, missing)

import hashlib
from pathlib import Path

from synth_helpers import SEED, N
from worklink.synth import generate


def _hashes(out: Path) -> dict[str, str]:
    return {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_identical_files(clean_run, tmp_path):
    again = tmp_path / "again"
    generate(again, seed=SEED, participants=N)
    first, second = _hashes(clean_run), _hashes(again)
    assert first.keys() == second.keys()
    differing = [k for k in first if first[k] != second[k]]
    assert not differing, differing[:5]
    assert any(k.endswith(".xlsx") for k in first)


def test_different_seed_differs(clean_run, tmp_path):
    other = tmp_path / "other"
    generate(other, seed=SEED + 1, participants=N)
    first, second = _hashes(clean_run), _hashes(other)
    assert first["_truth/persons.csv"] != second["_truth/persons.csv"]
    assert sum(first[k] != second.get(k) for k in first) > len(first) // 2


def test_defect_rate_does_not_change_truth(clean_run, defect_run):
    for name in ("persons.csv", "counts.json"):
        assert (clean_run / "_truth" / name).read_bytes() == (defect_run / "_truth" / name).read_bytes()

"""Ingestion and linkage accept and reject exactly the same identifiers.

Ingestion decides with the feed's checks (the GX suite and the rules beside it, as the nightly runs
them); linkage with the identity vault's cleaning. One definition per format lives in
worklink.identifiers: here both sides see an exhaustive list of shapes (every letter in every letter
position of every postcode shape, every NINo prefix, every NHS check digit, spacing and case
variants) and must agree on each. A shape-level disagreement (e.g. "M1Z 1AA" accepted by one side)
would mean a partner is told nothing about a value linkage then ignores.
"""

from __future__ import annotations

import string

import pandas as pd
import pytest
from worklink.contracts import load_contracts
from worklink.feed_templates import example_row
from worklink.identifiers import nhs_number_check_digit
from worklink.identity import vault
from worklink.ingest.checks import prepare, validate
from worklink.quality.suites import load_suite
from worklink.settings import load_settings

LETTERS, DIGITS = string.ascii_uppercase, string.digits
# What partners' systems leave between an identifier's parts: spaces, tabs and line breaks, the no-break
# and narrow no-break spaces of text copied from web pages, and punctuation (hyphens are accepted in NHS
# numbers and NINos, never in postcodes; dots, underscores and slashes never).
SEPARATORS = [" ", "  ", "\t", "\n", "\u00a0", "\u202f", "-", ".", "_", "/"]
CONTRACT = next(c for c in load_contracts() if c.key == "wythenshawe_wellbeing__referrals")


def postcode_shapes() -> list[str]:
    """Every outward shape (A9, A99, AA9, AA99, A9A, AA9A) with each letter position run through the
    whole alphabet (the others kept valid), each inward letter position likewise, then case,
    spacing and the special GIR 0AA."""
    valid = {"A9": "M1", "A99": "M14", "AA9": "SW1", "AA99": "SW19", "A9A": "W1A", "AA9A": "EC1A"}
    shapes = set()
    for shape, example in valid.items():
        for position, kind in enumerate(shape):
            alphabet = LETTERS if kind == "A" else DIGITS
            for ch in alphabet:
                outward = example[:position] + ch + example[position + 1:]
                shapes.add(f"{outward} 5TQ")
        for position in (1, 2):
            for ch in LETTERS:
                inward = "5TQ"[:position] + ch + "5TQ"[position + 1:]
                shapes.add(f"{example} {inward}")
    shapes |= {"GIR 0AA", "m14 5tq", "M145TQ", "M14  5TQ", " M14 5TQ ", "M14-5TQ", "M1 5T", "M14 5TQQ", "145TQ"}
    shapes |= {f"M14{sep}5TQ" for sep in SEPARATORS} | {f"M{sep}14 5TQ" for sep in SEPARATORS}
    return sorted(shapes)


def nhs_shapes() -> list[str]:
    shapes = set()
    for stem in ("999000001", "401023213", "943476591", "123456789", "000000000", "987654321"):
        shapes |= {stem + d for d in DIGITS}  # exactly one check digit is right (or none: remainder 10)
    valid = next(s + d for s in ("999000001",) for d in DIGITS if nhs_number_check_digit(s) == int(d))
    shapes |= {valid[:3] + " " + valid[3:6] + " " + valid[6:], valid[:3] + "-" + valid[3:6] + "-" + valid[6:],
               valid[:9], valid + "0", "A" + valid[1:], valid.replace("9", "O", 1), valid + ".0"}
    shapes |= {sep.join([valid[:3], valid[3:6], valid[6:]]) for sep in SEPARATORS}
    return sorted(shapes)


def nino_shapes() -> list[str]:
    shapes = {a + b + "123456" + suffix for a in LETTERS for b in LETTERS for suffix in ("", "C")}
    shapes |= {"AB123456" + s for s in "ABDEZ"} | {"TN010180M", "TN311299F", "ab123456c", "AB 12 34 56 C",
                                                   "AB12345C", "AB1234567C", "A1123456C"}
    shapes |= {sep.join(["AB", "12", "34", "56", "C"]) for sep in SEPARATORS}
    return sorted(shapes)


def _ingestion_accepts(column: str, rule: str, values: list[str]) -> list[bool]:
    base = {c.name: v for c, v in zip(CONTRACT.columns, example_row(CONTRACT, "2025-10").values(), strict=True)}
    frame = pd.DataFrame([{**base, column: value, "_row": i + 1} for i, value in enumerate(values)]).astype(object)
    checked = validate(prepare(frame, CONTRACT), CONTRACT, load_suite(CONTRACT, load_settings().expectations_dir),
                       "2025-10")
    issues = checked.issues
    flagged = set(issues.loc[(issues["column_name"] == column) & (issues["rule_id"] == rule), "_row"])
    return [i + 1 not in flagged for i in range(len(values))]


CASES = {
    "postcode": (postcode_shapes, "postcode", lambda s: vault.clean_postcode(s).notna()),
    "nhs_number": (nhs_shapes, "nhs_number", lambda s: vault.clean_nhs_number(s).notna()),
    "ni_number": (nino_shapes, "ni_number", lambda s: vault.nino_stem(s).notna()),
}


@pytest.mark.parametrize("column", CASES)
def test_ingestion_and_linkage_accept_the_same_identifiers(column):
    shapes, rule, linkage_accepts = CASES[column]
    values = shapes()
    ingested = _ingestion_accepts(column, rule, values)
    linked = linkage_accepts(pd.Series(values, dtype=object)).tolist()
    disagreements = [(v, i, k) for v, i, k in zip(values, ingested, linked, strict=True) if i != k]
    assert disagreements == []
    # the list holds both kinds in numbers (a test where everything passes, or fails, proves nothing)
    assert 0.05 < sum(ingested) / len(values) < 0.95, (column, sum(ingested), len(values))

"""Keyed pseudonyms (HMAC-SHA256) for identifiers, computed at ingestion.

Tokens let every layer outside the ``identity`` schema join one person's records
without holding the identifier. Practice follows the NHS De-ID / DSCRO and
OpenPseudonymiser pattern (https://digital.nhs.uk/services/de-id): a secret key
held apart from the data, separate keys per identifier type (derived here from one
master key), and no identifying characters in the token.

The master key comes from ``WORKLINK_PSEUDONYM_KEY`` (hex or any string; in
production a secret from the deployment's secret store) or, for development, from
``.worklink/secrets/pseudonym.key`` which is generated on first use and ignored by git.
Rotation: ``worklink identity rotate-key`` (``worklink.identity.rotation``; docs/linkage.md
section 2). Tokens change with the key; participant ids do not depend on tokens, so they
survive rotation.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from worklink.platform.private_files import write_private_text
from worklink.settings import load_settings

TOKEN_KINDS = ("nhs_number", "ni_number", "name_dob")
KEY_VERSION_BYTES = 4  # the token's first 8 hex characters name the key, so rotation is visible


def _master_key() -> bytes:
    settings = load_settings()
    env = settings.pseudonym_key
    if env:
        try:
            return bytes.fromhex(env)
        except ValueError:
            return env.encode()
    path: Path = settings.state_dir / "secrets" / "pseudonym.key"
    if not path.exists():
        write_private_text(path, secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


@lru_cache(maxsize=8)
def _subkey(kind: str, master: bytes) -> bytes:
    if kind not in TOKEN_KINDS:
        raise ValueError(f"unknown token kind {kind!r}")
    return hmac.new(master, f"worklink/pseudonym/{kind}".encode(), hashlib.sha256).digest()


def key_id() -> str:
    """Short public fingerprint of the master key in use (not secret)."""
    return hashlib.sha256(b"worklink/key-id/" + _master_key()).hexdigest()[: KEY_VERSION_BYTES * 2]


def token(kind: str, value: str | None) -> str | None:
    """HMAC token of an already-normalised identifier; None for a missing value."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA or value == "":
        return None
    key = _subkey(kind, _master_key())
    return hmac.new(key, str(value).encode(), hashlib.sha256).hexdigest()


def tokens(kind: str, values: pd.Series) -> pd.Series:
    """Token column: one HMAC per distinct value, ~1 µs each.

    HMAC-SHA256 as RFC 2104 defines it (equal to ``hmac.digest``, checked by a test), with the
    key's inner and outer hash states prepared once and copied per value: half the time of
    ``hmac.digest``, which sets the key up again for every value.
    """
    inner, outer = _keyed_states(_subkey(kind, _master_key()))
    codes, uniques = pd.factorize(values)  # missing -> -1, which picks the None at the end
    made = []
    for value in uniques.to_numpy(dtype=object):
        h = inner.copy()
        h.update(str(value).encode())
        o = outer.copy()
        o.update(h.digest())
        made.append(o.hexdigest())
    made.append(None)
    return pd.Series(np.array(made, dtype=object)[codes], index=values.index, dtype="str")


@lru_cache(maxsize=8)
def _keyed_states(key: bytes) -> tuple:
    size = hashlib.sha256().block_size
    block = (hashlib.sha256(key).digest() if len(key) > size else key).ljust(size, b"\0")
    return (hashlib.sha256(bytes(b ^ 0x36 for b in block)), hashlib.sha256(bytes(b ^ 0x5C for b in block)))


def normalise_name(values: pd.Series) -> pd.Series:
    """Upper case, letters only: the form a name+DOB token is computed from."""
    return values.str.upper().str.replace(r"[^A-Z]", "", regex=True).replace("", pd.NA)

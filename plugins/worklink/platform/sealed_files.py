"""Encryption at rest for the files worklink keeps (the archive of every received file).

Received files hold names, dates of birth, NHS and National Insurance numbers: the archive keeps them
sealed with AES-256-GCM (the `cryptography` library), so a copy of the disk, a backup or a misplaced
folder gives nothing without the key. The key is kept like the pseudonym key: the secret store in
production (``WORKLINK_ARCHIVE_KEY``, 64 hex characters), else a generated development key in
``.worklink/secrets/archive.key`` (mode 600).

Format (streamed in 1 MiB chunks, so a 1 GiB delivery never sits in memory twice)::

    b"WLSEAL01" | key id (8 bytes) | nonce prefix (8 random bytes)
    then per chunk: length (4 bytes, big-endian) | last-chunk flag (1 byte) | ciphertext + tag

Each chunk's nonce is the prefix plus its index; its associated data binds the header, the index and
the last-chunk flag, so chunks cannot be reordered, dropped, or the file cut short without the tag
check failing (the STREAM construction of Hoang, Reyhanitabar, Rogaway and Vizar, 2015).

Rotation: ``worklink archive rotate-key`` seals every archived file again under a new key (read with
any key it knows: the current one, ``WORKLINK_ARCHIVE_OLD_KEYS``), then retires the old development
key. Files archived before sealing existed (no magic) are read as they are and sealed by the rotation.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from worklink.platform.private_files import FILE_MODE, private_dir, write_private_text
from worklink.settings import load_settings

MAGIC = b"WLSEAL01"
CHUNK = 1 << 20
HEADER_BYTES = len(MAGIC) + 8 + 8
SUFFIX = ".sealed"


class SealedFileError(Exception):
    """A sealed file that cannot be opened: unknown key, altered or cut short (never its content)."""


def _key_path() -> Path:
    return load_settings().state_dir / "secrets" / "archive.key"


def parse_key(text: str, where: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        key = b""
    if len(key) != 32:
        raise SealedFileError(f"{where} must be 64 hexadecimal characters (a 256-bit key)")
    return key


def archive_key() -> bytes:
    """The key new files are sealed with."""
    env = load_settings().archive_key
    if env:
        return parse_key(env, "WORKLINK_ARCHIVE_KEY")
    path = _key_path()
    if not path.exists():
        write_private_text(path, secrets.token_hex(32))
    return parse_key(path.read_text(), str(path))


def key_id(key: bytes) -> bytes:
    """Public 8-byte fingerprint of a key (stored in each file's header; not secret)."""
    return hashlib.sha256(b"worklink/archive-key-id/" + key).digest()[:8]


def reading_keys(extra: Iterable[bytes] = ()) -> dict[bytes, bytes]:
    """Every key a sealed file may have been written with, by key id."""
    keys = [archive_key(), *extra]
    for text in load_settings().archive_old_keys:
        keys.append(parse_key(text, "WORKLINK_ARCHIVE_OLD_KEYS"))
    return {key_id(k): k for k in keys}


def is_sealed(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(len(MAGIC)) == MAGIC


def _chunks(source: Iterable[bytes]) -> Iterator[tuple[bytes, bool]]:
    """Re-cut ``source`` into CHUNK-sized pieces, flagging the last (an empty input is one empty chunk)."""
    buffer = bytearray()
    for piece in source:
        buffer += piece
        while len(buffer) > CHUNK:  # strictly more: the last chunk is never an empty one after a full one
            yield bytes(buffer[:CHUNK]), False
            del buffer[:CHUNK]
    yield bytes(buffer), True


def seal(source: Iterable[bytes], target: Path, key: bytes | None = None) -> Path:
    """Write ``source`` (an iterable of byte strings) sealed to ``target``: 600 in a 700 folder,
    atomically (a temporary file, fsync, rename), never following a link at ``target``."""
    key = key or archive_key()
    cipher = AESGCM(key)
    header = MAGIC + key_id(key) + secrets.token_bytes(8)
    target = Path(target)
    private_dir(target.parent)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as out:
            out.write(header)
            for index, (chunk, last) in enumerate(_chunks(source)):
                nonce = header[-8:] + struct.pack(">I", index)
                ciphertext = cipher.encrypt(nonce, chunk, header + struct.pack(">I?", index, last))
                out.write(struct.pack(">I?", len(ciphertext), last))
                out.write(ciphertext)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def file_pieces(path: Path, size: int = CHUNK) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while piece := handle.read(size):
            yield piece


def unseal(path: Path, keys: dict[bytes, bytes] | None = None) -> Iterator[bytes]:
    """The plaintext of a sealed file, chunk by chunk; a file without the magic (archived before
    sealing) is returned as it is. Raises SealedFileError on an unknown key or any alteration."""
    path = Path(path)
    with open(path, "rb") as handle:
        header = handle.read(HEADER_BYTES)
        if not header.startswith(MAGIC):
            yield header
            while piece := handle.read(CHUNK):
                yield piece
            return
        if len(header) < HEADER_BYTES:
            raise SealedFileError(f"{path.name}: sealed file cut short in its header")
        keys = keys if keys is not None else reading_keys()
        key = keys.get(header[len(MAGIC):len(MAGIC) + 8])
        if key is None:
            raise SealedFileError(f"{path.name} was sealed with a key not configured here "
                                  "(WORKLINK_ARCHIVE_KEY, WORKLINK_ARCHIVE_OLD_KEYS)")
        cipher = AESGCM(key)
        index, last = 0, False
        while not last:
            frame = handle.read(5)
            if len(frame) < 5:
                raise SealedFileError(f"{path.name}: sealed file cut short (chunk {index} missing)")
            length, last = struct.unpack(">I?", frame)
            ciphertext = handle.read(length)
            try:
                yield cipher.decrypt(header[-8:] + struct.pack(">I", index), ciphertext,
                                     header + struct.pack(">I?", index, last))
            except InvalidTag:
                raise SealedFileError(f"{path.name}: chunk {index} fails its integrity check "
                                      "(altered, or another key)") from None
            index += 1
        if handle.read(1):
            raise SealedFileError(f"{path.name}: data after the last chunk")


def read_sealed(path: Path) -> bytes:
    """The whole plaintext of a kept file (sealed or not)."""
    return b"".join(unseal(path))


def reseal_all(root: Path, new_key: bytes, old_keys: Iterable[bytes] = ()) -> int:
    """Seal every kept file under ``root`` again with ``new_key`` (one file at a time, each
    replaced atomically; a run stopped half-way can be run again). Returns the count."""
    keys = reading_keys(old_keys)
    keys[key_id(new_key)] = new_key
    count = 0
    for path in sorted(p for p in Path(root).rglob("*") if p.is_file() and not p.is_symlink()
                       and not p.name.startswith(".")):
        with open(path, "rb") as handle:
            head = handle.read(HEADER_BYTES)
        if head.startswith(MAGIC) and head[len(MAGIC):len(MAGIC) + 8] == key_id(new_key):
            continue
        seal(unseal(path, keys), path, new_key)
        count += 1
    return count


def rotate_development_key(root: Path) -> tuple[int, str]:
    """New development key; every file under ``root`` sealed again; the old key file removed.
    Returns (files re-sealed, new key id as hex)."""
    old = archive_key()
    new = secrets.token_bytes(32)
    count = reseal_all(root, new, [old])
    write_private_text(_key_path(), new.hex())
    return count, key_id(new).hex()

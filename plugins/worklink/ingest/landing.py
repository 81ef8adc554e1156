"""The landing folder as a jail: find what partners delivered and open it without following anything.

Nothing outside the landing root is ever opened. A symbolic link (to a file or a folder), a
device, a pipe or a socket is never opened or followed: it is reported as a refused entry with
its reason, so the partner and the data engineers hear of it. A regular file is opened once with
``O_NOFOLLOW`` and read from that descriptor, after checking that its resolved path is under the
root; hashing, archiving and parsing then all use the bytes read there, so the file cannot be
swapped between the check and the read.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from worklink.platform.private_files import private_dir

# Names a delivery tool writes while a file is still arriving, and hidden files: not deliveries.
IN_PROGRESS_SUFFIXES = {".part", ".tmp", ".filepart", ".crdownload"}

_CHUNK = 1 << 20


class LandingRefused(Exception):
    """An entry of the landing folder that is not opened: ``rule`` says why (no file content)."""

    def __init__(self, rule: str, message: str):
        super().__init__(message)
        self.rule = rule
        self.message = message


@dataclass(frozen=True)
class LandingEntry:
    path: Path
    refused: LandingRefused | None = None  # set for links, devices and the like: never opened


@dataclass
class LandedFile:
    """A delivered regular file as read once from its descriptor.

    ``data`` holds the bytes for files up to the contract's size limit; a larger file is only
    hashed and spooled to ``spooled`` (a private temporary copy the archive takes over).
    """

    path: Path
    sha256: str
    size: int
    mtime: float
    data: bytes | None = None
    spooled: Path | None = None

    @property
    def name(self) -> str:
        return self.path.name

    def discard_spool(self) -> None:
        if self.spooled is not None and self.spooled.exists():
            self.spooled.unlink()


def is_delivery_name(name: str) -> bool:
    return not name.startswith(".") and Path(name).suffix not in IN_PROGRESS_SUFFIXES


def scan(root: Path) -> Iterator[LandingEntry]:
    """Every delivered entry below ``root``, in name order; links and special files refused.

    Folders are walked without following links (``os.scandir`` with ``follow_symlinks=False``);
    a folder that is a link is reported, not entered. A missing root yields nothing: a contract's
    folder may not exist before its first delivery.
    """
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except FileNotFoundError:
        return
    except NotADirectoryError:
        yield LandingEntry(Path(root), _refusal_for(Path(root)))
        return
    for entry in entries:
        if not is_delivery_name(entry.name):
            continue
        path = Path(entry.path)
        if entry.is_symlink():
            yield LandingEntry(path, symlink_refusal(path))
        elif entry.is_dir(follow_symlinks=False):
            yield from scan(path)
        elif entry.is_file(follow_symlinks=False):
            yield LandingEntry(path)
        else:
            yield LandingEntry(path, _refusal_for(path))


def symlink_refusal(path: Path) -> LandingRefused:
    """The one refusal for a link in the landing folder (to a file or a folder)."""
    return LandingRefused("landing_symlink", f"{path.name} is a symbolic link; links are never followed: "
                                             "deliver the file itself")


def _refusal_for(path: Path) -> LandingRefused:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return LandingRefused("file_vanished", f"{path.name} disappeared before it could be read")
    if stat.S_ISLNK(mode):
        return symlink_refusal(path)
    kind = ("a pipe" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file")
    return LandingRefused("landing_not_a_file", f"{path.name} is {kind}, not a delivered file")


def _inside(path: Path, root: Path) -> bool:
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def _no_linked_folder(path: Path, root: Path) -> bool:
    """No folder between ``root`` and ``path`` is a link (O_NOFOLLOW only guards the last part)."""
    try:
        relative = Path(os.path.abspath(path)).relative_to(os.path.abspath(root))
    except ValueError:
        return False
    current = Path(os.path.abspath(root))
    for part in relative.parts[:-1]:
        current = current / part
        if os.path.islink(current):
            return False
    return True


def open_landed(path: Path, root: Path, max_bytes: int, spool_dir: Path | None = None) -> LandedFile:
    """Open one delivered file inside ``root`` and read it; raise LandingRefused otherwise.

    Files over ``max_bytes`` are hashed and copied in the same pass to a private temporary file
    in ``spool_dir`` (so the archive still keeps them) but not read into memory.
    """
    path = Path(path)
    if not _no_linked_folder(path, root) or not _inside(path, root):
        raise LandingRefused("outside_landing", f"{path.name} is not inside the landing folder "
                                                "(WORKLINK_LANDING_DIR); only files delivered there are read")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise LandingRefused("file_vanished", f"{path.name} disappeared before it could be read") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise symlink_refusal(path) from None
        raise LandingRefused("file_unreadable", f"{path.name} could not be opened ({errno.errorcode.get(exc.errno, 'error')})"
                             ) from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise LandingRefused("landing_not_a_file", f"{path.name} is not a regular file")
        digest = hashlib.sha256()
        if info.st_size <= max_bytes:
            data = handle.read(max_bytes + 1)
            if len(data) <= max_bytes:
                digest.update(data)
                return LandedFile(path, digest.hexdigest(), len(data), info.st_mtime, data=data)
            first = data  # grew while we read it: spool it like any large file
        else:
            first = b""
        spool_dir = Path(spool_dir or tempfile.gettempdir())
        private_dir(spool_dir)
        out_fd, spooled = tempfile.mkstemp(prefix=".spool-", dir=spool_dir)  # mode 600
        size = 0
        with os.fdopen(out_fd, "wb") as out:
            for chunk in [first] if first else []:
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
        return LandedFile(path, digest.hexdigest(), size, info.st_mtime, spooled=Path(spooled))

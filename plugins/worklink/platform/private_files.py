"""Folders and files only the worklink OS user may read: 700 folders, 600 files.

Every secret worklink generates (database passwords, the pseudonym key, Airflow's admin
password and signing keys) and every copy of a partner's data it keeps (archive, reports)
goes through these helpers, so the permission rule lives in one place.

Files are created with their final mode (``os.open(..., 0o600)``), never written first and
narrowed afterwards, so there is no moment at which another user could open them; they are
written to a temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterable
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
#: umask for subprocesses (Airflow, dbt) whose own files must come out 600/700.
PRIVATE_UMASK = 0o077


def private_dir(path: str | os.PathLike) -> Path:
    """Create ``path`` (and missing parents) and make ``path`` itself mode 700.

    Parents that already exist keep their mode: the embedded PostgreSQL needs the traverse bit on
    them. Parents created here are 700 as well.
    """
    path = Path(path)
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    for created in missing:
        os.chmod(created, DIR_MODE)
    os.chmod(path, DIR_MODE)
    return path


def _write_private(path: Path, data: bytes) -> Path:
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # O_TRUNC of a leftover temp file keeps its old mode
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_private_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` as a 600 file in a 700 folder (atomically, replacing any old file)."""
    return _write_private(Path(path), text.encode(encoding))


def write_private_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Binary twin of :func:`write_private_text`."""
    return _write_private(Path(path), data)


def copy_private(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Copy ``src``'s content to ``dst`` as a 600 file in a 700 folder (``shutil.copy2`` would copy
    the source's mode, often 644). Modification time is kept."""
    src, dst = Path(src), Path(dst)
    private_dir(dst.parent)
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        with open(src, "rb") as source, os.fdopen(fd, "wb") as target:
            shutil.copyfileobj(source, target, 1 << 20)
            target.flush()
            os.fsync(target.fileno())
        shutil.copystat(src, tmp, follow_symlinks=False)
        os.chmod(tmp, FILE_MODE)  # copystat copied the source's mode too
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dst


def make_private(paths: Iterable[str | os.PathLike]) -> None:
    """Narrow existing files to 600 and folders to 700 (not following symlinks), e.g. files another
    program wrote with its own umask. Missing paths are skipped."""
    for raw in paths:
        path = Path(raw)
        try:
            st = path.lstat()
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(st.st_mode):
            continue
        wanted = DIR_MODE if stat.S_ISDIR(st.st_mode) else FILE_MODE
        if stat.S_IMODE(st.st_mode) != wanted:
            os.chmod(path, wanted)


def make_tree_private(root: str | os.PathLike) -> None:
    """:func:`make_private` on ``root`` and everything under it (symlinks are left alone)."""
    root = Path(root)
    if not root.exists():
        return
    make_private([root])
    for folder, dirs, files in os.walk(root):
        make_private(Path(folder, name) for name in (*dirs, *files))


def is_private(path: str | os.PathLike) -> bool:
    """True when ``path`` is a 600 file or a 700 folder owned by us."""
    st = Path(path).lstat()
    wanted = DIR_MODE if stat.S_ISDIR(st.st_mode) else FILE_MODE
    return stat.S_IMODE(st.st_mode) == wanted and st.st_uid == os.geteuid()

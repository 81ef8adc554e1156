"""Files only the platform's own OS user may read: secrets, archived deliveries, partner reports.

Folders are made 700 and files 600 whatever the umask, and a file is written through a
temporary name and renamed, so a reader never sees half a file and a link planted at the
target name is replaced, not followed.
"""

from __future__ import annotations

import os
from pathlib import Path


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) as 700; tighten it if it exists."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def write_private(path: Path, content: bytes | str) -> Path:
    """Write ``content`` to ``path`` as a 600 file in a 700 folder (atomically)."""
    path = Path(path)
    private_dir(path.parent)
    data = content.encode("utf-8") if isinstance(content, str) else content
    tmp = path.with_name(f".{path.name}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path

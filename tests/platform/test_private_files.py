"""The private-file helpers: 600 files in 700 folders, whatever the process umask."""

from __future__ import annotations

import os
import stat

import pytest
from worklink.platform.private_files import (
    copy_private,
    is_private,
    make_tree_private,
    private_dir,
    write_private_bytes,
    write_private_text,
)


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def open_umask():
    """The most permissive umask, so a helper that relies on the umask is caught."""
    old = os.umask(0)
    yield
    os.umask(old)


def test_write_private_text_is_600_in_700_folders_even_with_umask_0(tmp_path, open_umask):
    target = tmp_path / "a" / "b" / "secret.txt"
    write_private_text(target, "s3cret")
    assert target.read_text() == "s3cret"
    assert mode(target) == 0o600
    assert mode(tmp_path / "a" / "b") == 0o700
    assert mode(tmp_path / "a") == 0o700  # created here, so private too
    assert is_private(target) and is_private(target.parent)


def test_rewrite_narrows_an_existing_world_readable_file_and_leaves_no_temp(tmp_path, open_umask):
    target = tmp_path / "k.bin"
    target.write_bytes(b"old")
    os.chmod(target, 0o644)
    write_private_bytes(target, b"new")
    assert target.read_bytes() == b"new" and mode(target) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.bin"]


def test_private_dir_keeps_existing_parents_mode(tmp_path, open_umask):
    os.chmod(tmp_path, 0o711)
    private_dir(tmp_path / "x")
    assert mode(tmp_path) == 0o711 and mode(tmp_path / "x") == 0o700


def test_copy_private_does_not_copy_the_source_mode(tmp_path, open_umask):
    src = tmp_path / "landing.csv"
    src.write_text("a,b\n1,2\n")
    os.chmod(src, 0o644)
    os.utime(src, (1_700_000_000, 1_700_000_000))
    dst = copy_private(src, tmp_path / "archive" / "p" / "landing.csv")
    assert dst.read_text() == "a,b\n1,2\n"
    assert mode(dst) == 0o600 and mode(dst.parent) == 0o700
    assert int(dst.stat().st_mtime) == 1_700_000_000


def test_write_refuses_to_follow_a_planted_temp_symlink(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep")
    target = tmp_path / "secret"
    (tmp_path / f".secret.{os.getpid()}.tmp").symlink_to(victim)
    with pytest.raises(OSError):
        write_private_text(target, "x")
    assert victim.read_text() == "keep"


def test_make_tree_private_fixes_files_another_program_wrote(tmp_path):
    home = tmp_path / "airflow"
    (home / "logs").mkdir(parents=True)
    (home / "airflow.cfg").write_text("[core]\n")
    os.chmod(home, 0o755)
    os.chmod(home / "logs", 0o755)
    os.chmod(home / "airflow.cfg", 0o644)
    outside = tmp_path / "outside.txt"
    outside.write_text("x")
    os.chmod(outside, 0o644)
    (home / "link").symlink_to(outside)
    make_tree_private(home)
    assert (mode(home), mode(home / "logs"), mode(home / "airflow.cfg")) == (0o700, 0o700, 0o600)
    assert mode(outside) == 0o644  # a symlink's target is not touched

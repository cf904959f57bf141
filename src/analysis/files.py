"""Small file helpers every step shares: content hashes and atomic writes."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def sha256_file(path: Path | str) -> str:
    """sha256 of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_remembered(path: Path | str) -> str:
    """sha256 of a derived file (a clean table), remembered beside it in ``<file>.sha256`` with the
    file's size, modification time and inode: a city's clean event tables are hundreds of MiB, and
    every notebook and unit page fingerprints them. The stamp changes whenever the file is rewritten
    (the clean step replaces a table, never edits it in place), and a stale or unreadable note is
    simply recomputed; a folder that cannot be written just goes without the note. Never for raw
    input (``data/raw`` is read-only): hash those with :func:`sha256_file`."""
    path = Path(path)
    st = path.stat()
    stamp = f"{st.st_size} {st.st_mtime_ns} {st.st_ino}"
    note = path.with_name(path.name + ".sha256")
    try:
        kept_stamp, kept = note.read_text(encoding="utf-8").rsplit(" ", 1)
        if kept_stamp == stamp and len(kept) == 64:
            return kept
    except (OSError, ValueError):
        pass
    digest = sha256_file(path)
    if path.stat().st_mtime_ns == st.st_mtime_ns:  # not rewritten while it was read
        try:
            write_atomic(note, f"{stamp} {digest}")
        except OSError:
            pass
    return digest


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def write_atomic(path: Path | str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and ``os.replace``:
    readers see the old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; published files are for others to read
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise

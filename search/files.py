"""One way to write a file the app keeps: a temporary name in the same directory, fsync, rename,
fsync of the directory. A reader (or a crash) sees the old content or the new, never a mix.

Every file Paperscope writes for later use goes through here: builds and their manifests
(search/index_store.py, search/keyword.py, search/vector_index.py), the exported model cache
(search/embedder.py) and benchmark/evaluation reports.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Make a directory's entries (a rename, a new file) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block ends without error, the temporary
    file is fsynced and renamed onto ``path`` (and the directory fsynced). On error it is removed.

    For writers that want a file name rather than bytes (FAISS, NumPy, a library's ``save``).
    """
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        fsync_file(tmp)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: bytes | str, *, encoding: str = "utf-8") -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new content, never a mix."""
    payload = data.encode(encoding) if isinstance(data, str) else data
    with atomic_path(path) as tmp:
        tmp.write_bytes(payload)

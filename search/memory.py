"""Hand the heap memory a large piece of work freed back to the system (glibc's ``malloc_trim``).

An incremental build holds a private, writable copy of the base build's vectors (4 GB at 2.6M
papers: FAISS keeps each IVF list in its own allocation of ~1 MB). glibc serves blocks that size
from its heap once its dynamic mmap threshold has risen, so freeing them leaves the pages with the
process: a long-lived Celery worker kept ~5 GB after a build at 2.6M (docs/scale.md, "Run 6").
``malloc_trim(0)`` returns every free page, not only the top of the heap, in ~40 ms there.
(config/gunicorn.conf.py tunes the web workers' malloc separately: it is read before Django.)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from typing import Any


@functools.cache
def _glibc() -> Any:
    name = ctypes.util.find_library("c")
    if not name or "libc" not in name:  # pragma: no cover - another libc
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:  # pragma: no cover
        return None
    return libc if hasattr(libc, "malloc_trim") else None


def release_freed_memory() -> bool:
    """Return freed heap pages to the system; False where the C library cannot (not glibc)."""
    libc = _glibc()
    if libc is None:  # pragma: no cover - not glibc
        return False
    libc.malloc_trim(0)
    return True

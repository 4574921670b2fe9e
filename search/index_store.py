"""Immutable, atomically published index builds under INDEX_DIR.

Layout::

    INDEX_DIR/builds/<build_id>/manifest.json  (+ the backend's files, members.npy)
    INDEX_DIR/builds/.staging-<build_id>/       (being written; never loaded, removed after a crash)
    INDEX_DIR/CURRENT                           (the published build id; replaced atomically)
    INDEX_DIR/checksums/<dev>-<inode>-<size>-<mtime>  (files' checksums already computed; a cache)

``members.npy`` lists every paper in the build with the content hash its vector was computed
from: incremental builds, ``verify_index`` and reconcile compare it with the database without
reading a single vector.

A writer fills a fresh build directory, fsyncs every file and the directory, and only then
repoints CURRENT with write-temp + fsync + os.replace. A reader verifies the manifest
(checksums, count, dim, model) before it swaps a build in; a build that fails is refused and
the previous one keeps serving (invariant 3).

Damage after a build was loaded: the worker's reconcile re-checks the current build's
checksums every RECONCILE_INTERVAL and records a failing build in ``INDEX_DIR/DAMAGED``;
readers stop serving a build named there (an older good build, or a 503) until the rebuild it
asked for is published. Files up to MEMORY_LOAD_MAX_BYTES are read into memory rather than
mapped, so truncating one under a running process cannot kill it with SIGBUS.

With no build to serve, searches raise IndexUnavailable (answered 503 with Retry-After) and
the reader asks for a rebuild from the vectors stored in the database (seconds for most
collections; inline in a background thread in the embedded default).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

from search.files import atomic_path, fsync_dir, write_atomic
from search.keyword import KeywordIndex
from search.vector_index import (
    NumpyIndex,
    RowFile,
    VectorIndex,
    choose_kind,
    load_index,
    make_index,
    save_rows,
    save_updated,
)

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
CURRENT = "CURRENT"
DAMAGED = "DAMAGED"
MEMBERS = "members.npy"
STAGING_PREFIX = ".staging-"
# Builds of another format are refused, not converted: they are rebuilt from the database.
# 2: the manifest names the vector index kind, its FAISS factory string and parameters;
# members.npy and (IVF) ivf_directory.npy are always present.
FORMAT_VERSION = 2
# (paper id, first 16 hex digits of the content hash): plain dtypes, so no pickle on load.
MEMBER_DTYPE = np.dtype([("id", "<i8"), ("hash", "S16")])
# A build whose files add up to at most this is read into each process's memory: a few MB per
# process at demo sizes, and a file truncated on disk later cannot raise SIGBUS in a reader
# (a mapped page past the new end of file does). Bigger builds are mapped, shared by every
# web process; their damage is caught by reconcile's checksums (see DAMAGED).
MEMORY_LOAD_MAX_BYTES = 64 << 20
# What a 503 asks clients to wait before trying again, and how often one process asks for a
# rebuild while it has nothing to serve.
RETRY_AFTER_SECONDS = 10
REBUILD_REQUEST_INTERVAL = 30.0


class IndexRefused(Exception):
    """A build that must not be served (corrupt, truncated, or for another model/dim)."""


class IndexUnavailable(Exception):
    """No build can be served now: searches answer 503 with ``reason`` and Retry-After."""

    def __init__(self, reason: str, retry_after: int = RETRY_AFTER_SECONDS) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def index_dir() -> Path:
    return Path(settings.INDEX_DIR)


def builds_dir() -> Path:
    return index_dir() / "builds"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# Checksums already computed, by file identity (device, inode, size, modification time). A build
# hard-links every unchanged file of its base, so a web process loading build N+1 (or the builder
# starting from the build it just wrote) meets the very inodes it, or another process, has
# already read: at 2.6M papers re-hashing them is ~7 GB a build. A file that changed since has
# another size or modification time (rewriting it in place changes the time); a full check
# (verify_index, reconcile: ``trust_seen=False``) reads every byte again.
#
# Remembered in this process, and on disk under INDEX_DIR/checksums/ (one small file an identity)
# so that a fresh process (a new web worker, a ``build_index`` run, the next worker) does not
# re-hash a build the builder or a reader already checksummed: that was ~21 s of a fresh
# incremental build at 2.6M (docs/scale.md, "Run 5"). The memo sits beside the builds it
# describes: whoever could write a wrong entry could rewrite a build and its manifest as well.
# An entry is only ever trusted to confirm a manifest: when it disagrees, ``verify_build`` reads
# the file before refusing, so a stale or damaged memo cannot refuse a good build. Entries for
# files no build holds any more go with the builds (``remove_old_builds``). A process that may
# not write INDEX_DIR (web processes mount it read-only) only reads the memo.
_seen_checksums: dict[tuple[int, int, int, int], str] = {}
_seen_lock = threading.Lock()
CHECKSUMS = "checksums"
# File systems keep modification times in coarse ticks (a few milliseconds), so a file rewritten
# just after it was read can keep its time. As git does with "racily clean" files, a checksum is
# only remembered for a file last modified well before it was read (unless it is ``sealed``).
_RACY_NS = 100_000_000


def _identity(path: Path) -> tuple[int, int, int, int]:
    stat = path.stat()
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns


def _memo_path(key: tuple[int, int, int, int]) -> Path:
    return index_dir() / CHECKSUMS / "-".join(str(part) for part in key)


def _is_digest(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def _recall(key: tuple[int, int, int, int]) -> str | None:
    with _seen_lock:
        known = _seen_checksums.get(key)
    if known is not None:
        return known
    try:
        stored = _memo_path(key).read_text(encoding="ascii").strip()
    except (OSError, ValueError):
        return None
    if not _is_digest(stored):  # a torn or foreign entry: ignored, the file is read instead
        return None
    with _seen_lock:
        _seen_checksums[key] = stored
    return stored


def _remember(key: tuple[int, int, int, int], digest: str) -> None:
    with _seen_lock:
        if len(_seen_checksums) > 100_000:
            _seen_checksums.clear()
        _seen_checksums[key] = digest
    path = _memo_path(key)
    try:
        if path.read_text(encoding="ascii").strip() == digest:
            return
    except (OSError, ValueError):
        pass
    try:  # a cache: written atomically (a reader never sees half an entry), not fsynced
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
        temporary.write_text(digest + "\n", encoding="ascii")
        os.replace(temporary, path)
    except OSError:  # INDEX_DIR read-only here (a web process): the in-process memo still holds it
        pass


def file_checksum(path: Path, *, trust_seen: bool = True, sealed: bool = False) -> tuple[str, bool]:
    """(sha256 of ``path``, whether it was recalled rather than read): computed once per file
    identity (see above), unless ``trust_seen`` is False.

    ``sealed``: the caller wrote the file and nothing writes it again (a build being finished),
    so it is remembered even while its modification time is racily recent.
    """
    started = time.time_ns()
    key = _identity(path)
    known = _recall(key) if trust_seen else None
    if known is not None:
        return known, True
    digest = sha256_file(path)
    if _identity(path) == key and (sealed or started - key[3] > _RACY_NS):  # unchanged while read, not racily new
        _remember(key, digest)
    return digest, False


def forget_checksums_of_removed_files() -> int:
    """Drop memo entries whose file no build (complete or being written) holds any more."""
    memo = index_dir() / CHECKSUMS
    if not memo.is_dir():
        return 0
    held = set()
    if builds_dir().is_dir():
        for build in builds_dir().iterdir():
            if build.is_dir():
                for path in build.rglob("*"):  # the keyword index's files lie in a subfolder
                    try:
                        held.add("-".join(str(part) for part in _identity(path)))
                    except OSError:
                        continue
    dropped = 0
    for entry in memo.iterdir():
        try:
            if entry.name.startswith(".") and time.time() - entry.stat().st_mtime < 3600:
                continue  # another process's entry being written
        except OSError:
            continue
        if entry.name not in held:
            entry.unlink(missing_ok=True)
            dropped += 1
    return dropped


def new_build_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ") + f"-{os.getpid()}"


@dataclass
class BuildWriter:
    """Writes one build directory; ``finish`` seals it with its manifest (not yet published)."""

    build_id: str = field(default_factory=new_build_id)
    # The build an incremental build starts from: files hard-linked from it keep its checksums.
    base_build: str | None = None

    def __post_init__(self) -> None:
        builds_dir().mkdir(parents=True, exist_ok=True)
        # A dot-prefixed staging name: a crashed writer never leaves a loadable build behind.
        self.staging = builds_dir() / f"{STAGING_PREFIX}{self.build_id}"
        self.staging.mkdir()
        self.files: list[str] = []
        self.facts: dict[str, Any] = {}  # e.g. the vector index kind, factory string and parameters
        self._base_files: dict[str, Any] | None = None  # the base build's manifest entries (hard links reuse them)

    @property
    def final(self) -> Path:
        return builds_dir() / self.build_id

    def _linked_facts(self, name: str) -> dict[str, Any] | None:
        """The base manifest's entry for ``name`` when the staged file is a hard link to it.

        Hashing every unchanged multi-GB segment again would make each incremental build
        O(collection); the same inode holds the same bytes, which the base's manifest already
        checksums (and which were verified when the base was chosen, and by reconcile since).
        """
        if self.base_build is None:
            return None
        if self._base_files is None:
            try:
                self._base_files = dict(read_manifest(self.base_build).get("files", {}))
            except IndexRefused:
                self._base_files = {}
        facts = self._base_files.get(name)
        if facts is None:
            return None
        try:
            linked = os.path.samefile(self.staging / name, builds_dir() / self.base_build / name)
        except OSError:
            return None
        if not linked or (self.staging / name).stat().st_size != facts["bytes"]:
            return None
        return {"sha256": facts["sha256"], "bytes": facts["bytes"]}

    def finish(self, *, backend: str, model: str, dim: int, count: int, extra: dict[str, Any]) -> dict[str, Any]:
        files = {}
        for name in sorted(self.files):
            path = self.staging / name
            reused = self._linked_facts(name)
            if reused is not None:  # already durable and checksummed in the base build
                files[name] = reused
                continue
            with open(path, "rb+") as handle:
                os.fsync(handle.fileno())
            files[name] = {"sha256": file_checksum(path, trust_seen=False, sealed=True)[0], "bytes": path.stat().st_size}
        manifest = {
            "format": FORMAT_VERSION,
            "build_id": self.build_id,
            "backend": backend,
            "model": model,
            "dim": dim,
            "count": count,
            "created": dt.datetime.now(dt.UTC).isoformat(),
            "files": files,
            **self.facts,
            **extra,
        }
        manifest["sha256"] = manifest_digest(manifest)
        write_atomic(self.staging / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode())
        fsync_dir(self.staging)
        os.replace(self.staging, self.final)
        fsync_dir(builds_dir())
        return manifest

    def abort(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def manifest_digest(manifest: dict[str, Any]) -> str:
    """One checksum over the files' checksums and the manifest's facts."""
    facts = {k: v for k, v in manifest.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


def publish(build_id: str) -> None:
    """Atomically make ``build_id`` the build every reader serves."""
    write_atomic(index_dir() / CURRENT, build_id.encode())


def current_build_id() -> str | None:
    try:
        return (index_dir() / CURRENT).read_text().strip() or None
    except FileNotFoundError:
        return None


def read_manifest(build_id: str) -> dict[str, Any]:
    path = builds_dir() / build_id / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise IndexRefused(f"build {build_id}: unreadable manifest ({exc})") from exc
    if not isinstance(manifest, dict):
        raise IndexRefused(f"build {build_id}: manifest is not an object")
    return manifest


def verify_build(
    build_id: str, *, expected_model: str | None = None, expected_dim: int | None = None, trust_seen: bool = True
) -> dict[str, Any]:
    """Check a build's files against its manifest; raise IndexRefused on any mismatch.

    A file whose checksum is already known under the same identity (this process's memo or the
    one on disk) is not read again unless ``trust_seen`` is False (``file_checksum``)."""
    manifest = read_manifest(build_id)
    directory = builds_dir() / build_id
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexRefused(f"build {build_id}: unknown format {manifest.get('format')!r}")
    if manifest.get("sha256") != manifest_digest(manifest):
        raise IndexRefused(f"build {build_id}: manifest checksum mismatch (edited?)")
    if expected_model is not None and manifest.get("model") != expected_model:
        raise IndexRefused(f"build {build_id}: model {manifest.get('model')!r}, expected {expected_model!r}")
    if expected_dim is not None and manifest.get("dim") != expected_dim:
        raise IndexRefused(f"build {build_id}: dim {manifest.get('dim')}, expected {expected_dim}")
    for name, facts in manifest.get("files", {}).items():
        path = directory / name
        if not path.is_file():
            raise IndexRefused(f"build {build_id}: missing file {name}")
        if path.stat().st_size != facts["bytes"]:
            raise IndexRefused(f"build {build_id}: {name} is {path.stat().st_size} bytes, expected {facts['bytes']}")
        digest, recalled = file_checksum(path, trust_seen=trust_seen)
        if digest != facts["sha256"] and recalled:  # a memo never refuses a build: the bytes decide
            digest, recalled = file_checksum(path, trust_seen=False)
        if digest != facts["sha256"]:
            raise IndexRefused(f"build {build_id}: {name} checksum mismatch")
    return manifest


def quick_check(build_id: str) -> str:
    """What is wrong with a build short of reading every byte ("" when nothing is seen).

    The manifest and its checksum, each file's presence and size, and the damage reconcile
    recorded: cheap enough for every status page; verify_build reads the files too.
    """
    try:
        manifest = read_manifest(build_id)
    except IndexRefused as exc:
        return str(exc)
    if manifest.get("sha256") != manifest_digest(manifest):
        return f"build {build_id}: manifest checksum mismatch (edited?)"
    for name, facts in manifest.get("files", {}).items():
        path = builds_dir() / build_id / name
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return f"build {build_id}: missing file {name}"
        if size != facts.get("bytes"):
            return f"build {build_id}: {name} is {size} bytes, expected {facts.get('bytes')}"
    damage = damaged_builds().get(build_id)
    return f"build {build_id}: damaged on disk ({damage})" if damage else ""


@dataclass
class LoadedIndex:
    """A verified build, loaded (memory-mapped where the backend allows) for searching."""

    build_id: str
    manifest: dict[str, Any]
    vectors: VectorIndex
    keyword: KeywordIndex | None = None  # None only for builds made before keyword search
    loaded_at: float = field(default_factory=time.time)

    @property
    def count(self) -> int:
        return len(self.vectors)


def load_build(build_id: str, *, expected_model: str | None = None) -> LoadedIndex:
    manifest = verify_build(build_id, expected_model=expected_model)
    total = sum(int(facts.get("bytes", 0)) for facts in manifest.get("files", {}).values())
    mmap = total > MEMORY_LOAD_MAX_BYTES
    vectors = _load_vectors(build_id, manifest, mmap=mmap)
    if len(vectors) != manifest.get("count") or vectors.dim != manifest.get("dim"):
        raise IndexRefused(
            f"build {build_id}: holds {len(vectors)} x {vectors.dim}, manifest says "
            f"{manifest.get('count')} x {manifest.get('dim')}"
        )
    keyword_index = None
    if "keyword" in manifest:
        try:
            keyword_index = KeywordIndex.load(builds_dir() / build_id, mmap=mmap)
        except Exception as exc:
            raise IndexRefused(f"build {build_id}: cannot load the keyword index ({exc})") from exc
        if len(keyword_index) != manifest.get("count"):
            raise IndexRefused(f"build {build_id}: keyword index holds {len(keyword_index)} papers, manifest says {manifest.get('count')}")
    return LoadedIndex(build_id=build_id, manifest=manifest, vectors=vectors, keyword=keyword_index)


class IndexReader:
    """Per-process holder of the current build; checks CURRENT at most once per interval.

    By default a new build is loaded inside the call that notices it (the embedded default and
    tests see it at once). After ``load_in_background(warm)`` (gunicorn's workers) that call
    hands the load to a thread and keeps answering from the old build; the thread verifies and
    loads the new build, runs ``warm(new)`` (a real search, pinned to the new build) and only
    then swaps it in, so no request waits for a load or pays a cold first search. With nothing
    loaded yet, and for damaged-build fallbacks, the load stays inline: there is nothing to serve.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: LoadedIndex | None = None
        self._checked_at = 0.0
        self._refused: dict[str, str] = {}
        self._rebuild_asked_at = -REBUILD_REQUEST_INTERVAL
        self._warm: Callable[[LoadedIndex], object] | None = None
        self._background = False
        self._loading: str | None = None  # the build a background thread is loading
        self._generation = 0  # bumped by reset(): a thread from before it never swaps its build in
        self._pinned = threading.local()

    def load_in_background(self, warm: Callable[[LoadedIndex], object] | None) -> None:
        """Load new builds off the request path and run ``warm`` on each before serving it."""
        self._background, self._warm = True, warm

    def get(self) -> LoadedIndex | None:
        pinned: LoadedIndex | None = getattr(self._pinned, "index", None)
        if pinned is not None:
            return pinned
        now = time.monotonic()
        if self._loaded is not None and now - self._checked_at < settings.INDEX_RELOAD_INTERVAL:
            return self._loaded
        with self._lock:
            self._checked_at = time.monotonic()
            self._drop_damaged()
            build_id = current_build_id()
            if build_id is not None and not (self._loaded and self._loaded.build_id == build_id) and build_id not in self._refused:
                if self._background and self._loaded is not None:
                    self._load_later(build_id)
                else:
                    self._load(build_id)
            if self._loaded is None:
                self._ask_for_rebuild(build_id)
            return self._loaded

    @contextmanager
    def pinned(self, index: LoadedIndex) -> Iterator[LoadedIndex]:
        """Within the block, ``get()`` in this thread returns ``index`` (a warm-up searches a
        build through the ordinary code path before any request is served from it)."""
        previous = getattr(self._pinned, "index", None)
        self._pinned.index = index
        try:
            yield index
        finally:
            self._pinned.index = previous

    def warm(self, index: LoadedIndex) -> None:
        """Run the warm-up on ``index`` (errors logged: a build that verified is served anyway)."""
        if self._warm is None:
            return
        started = time.perf_counter()
        try:
            with self.pinned(index):
                self._warm(index)
        except Exception:
            logger.exception("warm-up search on index build %s failed; serving it anyway", index.build_id)
            return
        logger.info("warmed index build %s in %.0f ms", index.build_id, (time.perf_counter() - started) * 1000)

    def _load_later(self, build_id: str) -> None:
        """Start loading ``build_id`` in a thread (at most one load at a time); called under the lock."""
        if self._loading is not None:
            return  # the next check after it finishes starts the newest build, if CURRENT moved on
        self._loading = build_id
        generation = self._generation
        threading.Thread(target=self._load_and_swap, args=(build_id, generation), name=f"index-load-{build_id}", daemon=True).start()

    def _load_and_swap(self, build_id: str, generation: int) -> None:
        from django.db import connection

        from search.embedder import model_name

        try:
            try:
                loaded = load_build(build_id, expected_model=model_name())
            except IndexRefused as exc:
                with self._lock:
                    if generation == self._generation:
                        self._refused[build_id] = str(exc)
                logger.error("refused index build: %s; still serving %s", exc, self._loaded and self._loaded.build_id)
                return
            except Exception:
                logger.exception("loading index build %s failed; still serving the old one", build_id)
                return
            self.warm(loaded)
            with self._lock:
                # Damage recorded while it loaded, or a reset: never swap it in.
                if generation == self._generation and build_id not in self._refused and build_id not in damaged_builds():
                    self._loaded = loaded
                    logger.info("serving index build %s (%d vectors)", build_id, loaded.count)
        finally:
            with self._lock:
                if generation == self._generation:
                    self._loading = None
            connection.close()  # the warm-up's own connection; nothing else would close it

    def _load(self, build_id: str) -> None:
        from search.embedder import model_name

        try:
            self._loaded = load_build(build_id, expected_model=model_name())
            logger.info("serving index build %s (%d vectors)", build_id, self._loaded.count)
        except IndexRefused as exc:
            self._refused[build_id] = str(exc)
            logger.error("refused index build: %s; still serving %s", exc, self._loaded and self._loaded.build_id)
            if self._loaded is None:
                # A process started after the damage has nothing to keep serving: fall back
                # to the newest older build that still verifies.
                self._loaded = self._fallback(model=model_name(), skip=build_id)

    def _drop_damaged(self) -> None:
        """Stop serving a build that reconcile found damaged on disk after this process loaded it."""
        if self._loaded is None:
            return
        reason = damaged_builds().get(self._loaded.build_id)
        if reason is None:
            return
        bad = self._loaded.build_id
        self._refused[bad] = f"damaged on disk after it was loaded: {reason}"
        logger.error("stopped serving index build %s: %s", bad, reason)
        from search.embedder import model_name

        self._loaded = None
        self._loaded = self._fallback(model=model_name(), skip=bad)

    def _ask_for_rebuild(self, build_id: str | None) -> None:
        """Nothing to serve: ask for a build from the stored vectors (at most every 30 s per process)."""
        now = time.monotonic()
        if now - self._rebuild_asked_at < REBUILD_REQUEST_INTERVAL:
            return
        self._rebuild_asked_at = now
        try:
            if build_id is None and not _vectors_stored():
                return  # nothing embedded yet: the first import asks for the first build itself
            from search.signals import index_rebuild_wanted

            if settings.CELERY_TASK_ALWAYS_EAGER:
                # Embedded default: the build runs in this process; not inside the request.
                threading.Thread(target=_quietly(index_rebuild_wanted.send), kwargs={"sender": None}, name="index-rebuild", daemon=True).start()
            else:
                index_rebuild_wanted.send(sender=None)
            logger.warning("no servable index build (%s): asked for a rebuild from the stored vectors", build_id or "none published")
        except Exception:  # asking is best effort: reconcile asks again on its schedule
            logger.exception("could not ask for an index rebuild")

    def unavailable_reason(self) -> str:
        """Why no build is served (for 503 pages, the API and /readyz)."""
        build_id = current_build_id()
        if build_id is None:
            if _vectors_stored():
                return f"The search index is being rebuilt from the stored vectors (no build published under {settings.INDEX_DIR})."
            return "The search index has not been built yet; it is built as soon as papers are embedded (or run build_index)."
        refused = self._refused.get(build_id, "it could not be loaded")
        return f"The search index is being rebuilt from the stored vectors (build {build_id} refused: {refused})."

    def _fallback(self, *, model: str, skip: str) -> LoadedIndex | None:
        for candidate in complete_build_ids():
            if candidate == skip or candidate in self._refused or candidate > skip:
                continue
            try:
                loaded = load_build(candidate, expected_model=model)
            except IndexRefused as exc:
                self._refused[candidate] = str(exc)
                continue
            logger.warning("serving older index build %s while %s is refused", candidate, skip)
            return loaded
        return None

    @property
    def refused(self) -> dict[str, str]:
        return dict(self._refused)

    def reset(self) -> None:
        with self._lock:
            self._loaded, self._checked_at, self._refused = None, 0.0, {}
            self._rebuild_asked_at = -REBUILD_REQUEST_INTERVAL
            self._background, self._warm, self._loading = False, None, None
            self._generation += 1


def _vectors_stored() -> bool:
    """Whether the database holds vectors a build can be made from (no build yet otherwise)."""
    from search.embedder import model_name
    from search.models import PaperEmbedding

    return PaperEmbedding.objects.filter(model=model_name()).exists()


def _quietly(function: Any) -> Any:
    """``function`` for a background thread: errors logged, its database connection closed."""

    def run(**kwargs: Any) -> None:
        from django.db import connection

        try:
            function(**kwargs)
        except Exception:
            logger.exception("index rebuild failed")
        finally:
            connection.close()  # this thread's own connection; nothing else would close it

    return run


reader = IndexReader()


def current_index() -> LoadedIndex | None:
    """The build this process serves (None before the first build)."""
    return reader.get()


def require_index() -> LoadedIndex:
    """The build this process serves; IndexUnavailable (a 503 for callers) when there is none."""
    loaded = reader.get()
    if loaded is None:
        raise IndexUnavailable(reader.unavailable_reason())
    return loaded


def record_damage(build_id: str, reason: str) -> None:
    """Note in INDEX_DIR that a published build failed its checksums (by the writer only).

    Readers that loaded it before the damage stop serving it on their next check.
    """
    found = damaged_builds()
    if found.get(build_id) == reason:
        return
    found[build_id] = reason
    # Only builds still on disk are worth naming; the file stays small.
    found = {b: r for b, r in found.items() if (builds_dir() / b).is_dir()}
    write_atomic(index_dir() / DAMAGED, json.dumps(found, indent=2, sort_keys=True).encode())
    logger.error("index build %s is damaged on disk: %s", build_id, reason)


_damaged_cache: tuple[float, dict[str, str]] = (-1.0, {})


def damaged_builds() -> dict[str, str]:
    """Build id -> reason, for builds reconcile found damaged (re-read only when the file changes)."""
    global _damaged_cache
    path = index_dir() / DAMAGED
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return {}
    if mtime != _damaged_cache[0]:
        try:
            found = json.loads(path.read_text())
        except (OSError, ValueError):
            found = {}
        _damaged_cache = (mtime, {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {})
    return dict(_damaged_cache[1])


def _load_vectors(build_id: str, manifest: dict[str, Any], *, mmap: bool) -> VectorIndex:
    """The vector index of the kind the manifest records, checked against its factory string."""
    try:
        vectors = load_index(builds_dir() / build_id, kind=str(manifest["index_kind"]), params=dict(manifest["index_params"]), mmap=mmap)
    except Exception as exc:  # a library error on a damaged file is a refusal, not a crash
        raise IndexRefused(f"build {build_id}: cannot load its vector index ({exc})") from exc
    if vectors.factory != manifest.get("index_factory"):
        raise IndexRefused(f"build {build_id}: holds a {vectors.factory} index, manifest says {manifest.get('index_factory')}")
    return vectors


def write_vectors(writer: BuildWriter, *, backend: str, ids: np.ndarray, vectors: np.ndarray | RowFile, dim: int) -> VectorIndex:
    """Build the vector index into ``writer``: "faiss" gets the configured kind (INDEX_KIND) for
    this size, "numpy" the brute-force reference. ``vectors`` in a RowFile (a full build's) are
    read a chunk at a time (``save_rows``): an IVF index is written straight into its file, never
    whole in memory."""
    kind = choose_kind(len(ids)) if backend == "faiss" else NumpyIndex.KIND
    if isinstance(vectors, RowFile) and len(vectors):
        index, names = save_rows(writer.staging, kind=kind, ids=ids, rows=vectors)
    else:  # nothing spooled (an empty collection), or a matrix given whole
        index = make_index(dim, kind)
        if len(ids):
            index.add(ids, vectors.read(0, len(vectors)) if isinstance(vectors, RowFile) else vectors)
        names = index.save(writer.staging)
    _record_index(writer, index, names)
    return index


def _record_index(writer: BuildWriter, index: VectorIndex, names: list[str]) -> None:
    """The vector index's files and facts in ``writer``'s manifest."""
    writer.files.extend(names)
    # What load_build reads back (an incremental build keeps its base's kind and structure).
    writer.facts["index_kind"] = index.kind
    writer.facts["index_factory"] = index.factory
    writer.facts["index_params"] = dict(index.params)


def write_members(writer: BuildWriter, *, ids: np.ndarray, hashes: list[str]) -> None:
    """Record which papers, at which content version, the build holds (checksummed like the rest)."""
    members = np.zeros(len(ids), dtype=MEMBER_DTYPE)
    members["id"] = ids
    members["hash"] = [h[:16].encode("ascii") for h in hashes]
    members.sort(order="id")
    with atomic_path(writer.staging / MEMBERS) as tmp, open(tmp, "wb") as handle:
        np.save(handle, members, allow_pickle=False)
    writer.files.append(MEMBERS)


def read_members(build_id: str) -> dict[int, str]:
    """Paper id -> content hash prefix of a build's vectors."""
    path = builds_dir() / build_id / MEMBERS
    try:
        members = np.load(path, allow_pickle=False)
        return {int(i): h.decode("ascii") for i, h in zip(members["id"], members["hash"], strict=True)}
    except (OSError, ValueError, KeyError) as exc:
        raise IndexRefused(f"build {build_id}: unreadable {MEMBERS} ({exc})") from exc


def write_update(
    writer: BuildWriter, build_id: str, manifest: dict[str, Any], *, remove: np.ndarray, ids: np.ndarray, vectors: np.ndarray
) -> VectorIndex:
    """Write into ``writer`` a verified build's vectors less ``remove``, plus ``ids``' ``vectors``
    (the vector half of an incremental build). IVF builds are streamed list by list from the
    mapped base, without a private copy of the collection (search/vector_index.py).

    ``manifest``: what ``verify_build`` returned for the base moments ago, so its files are not
    read and hashed a second time. ValueError or RuntimeError: this base cannot be updated.
    """
    index, names = save_updated(
        builds_dir() / build_id, writer.staging, kind=str(manifest["index_kind"]), params=dict(manifest["index_params"]),
        remove=remove, ids=ids, vectors=vectors,
    )
    _record_index(writer, index, names)
    return index


def complete_build_ids() -> list[str]:
    """Complete build directories, newest first (staging directories excluded)."""
    if not builds_dir().is_dir():
        return []
    names = [p.name for p in builds_dir().iterdir() if p.is_dir() and not p.name.startswith(".")]
    return sorted(names, reverse=True)


def remove_old_builds(*, keep: int | None = None, grace_seconds: float | None = None) -> list[str]:
    """Delete superseded builds and crashed writers' leftovers once past the grace period.

    The current build and the newest ``keep`` builds always stay; anything younger than the
    grace period stays too, because a web process may have read CURRENT a moment ago and be
    about to load it. Call with the builder lock held.
    """
    keep = settings.INDEX_KEEP_BUILDS if keep is None else keep
    grace_seconds = settings.INDEX_BUILD_GRACE_SECONDS if grace_seconds is None else grace_seconds
    if not builds_dir().is_dir():
        return []
    current = current_build_id()
    complete = complete_build_ids()
    staging = [p.name for p in builds_dir().iterdir() if p.is_dir() and p.name.startswith(STAGING_PREFIX)]
    removed = []
    now = time.time()
    for name in complete[keep:] + staging:
        path = builds_dir() / name
        try:
            age = now - path.stat().st_mtime
        except FileNotFoundError:
            continue
        if name == current or age < grace_seconds:
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(name)
    if removed:
        forget_checksums_of_removed_files()
    return removed

"""The vector half of an incremental build, both ways, side by side in one run:

    python -m bench.ivf_update BUILD_DIR [--added 1000] [--removed 100] [--rounds 3] [--json FILE]

``BUILD_DIR`` is a published IVF build (e.g. ``var/bench/scale-2600000.index/builds/<id>``, made by
``manage.py bench_scale``). Each round runs each way in its own fresh process, interleaved:

- ``private copy``: what an incremental build did before: the base read into the builder's own
  memory (``load_index(mmap=False)``), ``--removed`` papers removed, ``--added`` new ones added,
  saved with ``faiss.write_index``;
- ``streamed``: ``vector_index.save_updated``: the base mapped read-only, written list by list.

This process samples each child's anonymous (private) and resident memory every 10 ms; the child
reports its wall time and peak RSS. Also checks that both ways leave every list with the same ids.
New vectors are unit vectors near stored ones (a stored vector plus noise), so they fall into
lists as real papers do. The page cache is not dropped (the base stays cached between runs, as
it is on a server whose web processes map it). Prints JSON and a table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.measure import cpu_model, status_kb

WAYS = ("private copy", "streamed")


def _changes(build: Path, *, added: int, removed: int) -> tuple[dict[str, Any], np.ndarray, np.ndarray, np.ndarray]:
    """(manifest, ids to remove, new ids, their vectors): the same for both ways."""
    from search.vector_index import IVFIndex

    manifest = json.loads((build / "manifest.json").read_text())
    kind = str(manifest.get("index_kind", ""))
    if not (kind.startswith("IVF") and kind.endswith(",Flat")):  # new vectors are drawn near stored ones, read back exactly
        raise SystemExit(f"{build} holds a {kind} index, not IVF{{n}},Flat")
    index = IVFIndex.load(build, kind=kind, params=manifest["index_params"])
    assert isinstance(index, IVFIndex)
    ids = index.ids()
    rng = np.random.default_rng(0)
    remove = np.sort(rng.choice(ids, removed, replace=False)) if removed else np.zeros(0, dtype=np.int64)
    _, vectors = index._ivf_vectors(np.unique(rng.choice(ids, added, replace=False)))
    # A stored vector plus noise: a real paper's neighbourhood.
    vectors += rng.normal(scale=0.02, size=vectors.shape).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    new_ids = np.arange(added, dtype=np.int64) + int(ids.max()) + 1
    return manifest, remove, new_ids, vectors


def _child(way: str, build: Path, out: Path, changes: Path) -> None:
    """One way, in this fresh process; prints one JSON line."""
    from search import vector_index

    data = np.load(changes)
    manifest = json.loads((build / "manifest.json").read_text())
    kind, params = manifest["index_kind"], manifest["index_params"]
    started = time.perf_counter()
    if way == "streamed":
        index, _ = vector_index.save_updated(build, out, kind=kind, params=params, remove=data["remove"], ids=data["ids"], vectors=data["vectors"])
    else:
        index = vector_index.load_index(build, kind=kind, params=params, mmap=False)
        index.remove(data["remove"])
        index.add(data["ids"], data["vectors"])
        index.save(out)
    wall = time.perf_counter() - started
    print(json.dumps({"wall_s": round(wall, 2), "count": len(index), "peak_rss_mb": round(status_kb(os.getpid(), "VmHWM") / 1024, 1)}))


def _run(way: str, build: Path, changes: Path) -> tuple[dict[str, Any], Path]:
    out = Path(tempfile.mkdtemp(prefix="ivf-update-", dir=build.parent.parent))  # same disk as the build
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.ivf_update", "--child", way, str(build), "--out", str(out), "--changes", str(changes)],
        stdout=subprocess.PIPE, text=True,
    )
    peak = {"anon": 0, "rss": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak["anon"] = max(peak["anon"], status_kb(process.pid, "RssAnon"))
            peak["rss"] = max(peak["rss"], status_kb(process.pid, "VmRSS"))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, _ = process.communicate()
    done.set()
    sampler.join()
    if process.returncode:
        raise SystemExit(f"{way} failed with exit code {process.returncode}")
    outcome: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    outcome["peak_anon_mb"] = round(peak["anon"] / 1024, 1)
    return outcome, out


def _lists_of(path: Path) -> list[np.ndarray]:
    import faiss

    index = faiss.read_index(str(path / "vectors.faiss"), faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)
    return [
        np.sort(faiss.rev_swig_ptr(index.invlists.get_ids(n), index.invlists.list_size(n)).copy()) if index.invlists.list_size(n) else np.zeros(0, dtype=np.int64)
        for n in range(index.nlist)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build", type=Path)
    parser.add_argument("--added", type=int, default=1_000)
    parser.add_argument("--removed", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", dest="json_out", default="")
    parser.add_argument("--child", choices=WAYS, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--changes", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.build, args.out, args.changes)
        return

    build = args.build.resolve()
    manifest, remove, ids, vectors = _changes(build, added=args.added, removed=args.removed)
    base_mb = sum(f["bytes"] for name, f in manifest["files"].items() if name.startswith("vectors")) / 2**20
    runs: dict[str, list[dict[str, Any]]] = {way: [] for way in WAYS}
    with tempfile.TemporaryDirectory() as scratch:
        changes = Path(scratch) / "changes.npz"
        np.savez(changes, remove=remove, ids=ids, vectors=vectors)
        for _ in range(args.rounds):
            outs = {}
            for way in WAYS:
                outcome, outs[way] = _run(way, build, changes)
                runs[way].append(outcome)
                print(f"{way}: {outcome}", file=sys.stderr)
            same = all(np.array_equal(a, b) for a, b in zip(_lists_of(outs["private copy"]), _lists_of(outs["streamed"]), strict=True))
            for out in outs.values():
                shutil.rmtree(out, ignore_errors=True)
            if not same:
                raise SystemExit("the two ways left different ids in the lists")
    results: dict[str, Any] = {
        "cpu": cpu_model(),
        "build": str(build),
        "count": manifest["count"],
        "factory": manifest.get("index_factory"),
        "vectors_file_mb": round(base_mb, 1),
        "added": args.added,
        "removed": args.removed,
        "rounds": args.rounds,
        "same_lists": True,
        "ways": {
            way: {
                "median_wall_s": round(statistics.median(r["wall_s"] for r in rs), 2),
                "median_peak_anon_mb": round(statistics.median(r["peak_anon_mb"] for r in rs), 1),
                "median_peak_rss_mb": round(statistics.median(r["peak_rss_mb"] for r in rs), 1),
                "runs": rs,
            }
            for way, rs in runs.items()
        },
    }
    text = json.dumps(results, indent=2)
    print(text)
    if args.json_out:
        Path(args.json_out).write_text(text + "\n")
    print(f"\n{manifest['count']:,} vectors ({base_mb:,.0f} MB), +{args.added:,} -{args.removed:,}, median of {args.rounds} ({results['cpu']})")
    print(f"{'way':<14} {'wall s':>8} {'peak anon MB':>13} {'peak RSS MB':>12}")
    for way, facts in results["ways"].items():
        print(f"{way:<14} {facts['median_wall_s']:>8} {facts['median_peak_anon_mb']:>13} {facts['median_peak_rss_mb']:>12}")


if __name__ == "__main__":
    main()

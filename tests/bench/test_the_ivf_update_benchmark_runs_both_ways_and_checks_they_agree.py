"""``python -m bench.ivf_update`` runs the vector half of an incremental build both ways (a private
copy changed in memory, and the stream from the mapped base), each in a fresh process, and
reports their time and memory only when both leave the same ids in every list."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from django.conf import settings

from search import vector_index


def _build(directory: Path, rows: int = 6_000, dim: int = 32) -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((rows, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = vector_index.make_index(dim, "IVF{n},Flat")
    index.add(np.arange(rows, dtype=np.int64) * 2 + 1, vectors)
    names = index.save(directory)
    manifest = {
        "count": rows,
        "index_kind": index.kind,
        "index_factory": index.factory,
        "index_params": index.params,
        "files": {name: {"bytes": (directory / name).stat().st_size} for name in names},
    }
    (directory / "manifest.json").write_text(json.dumps(manifest))


def test_both_ways_run_in_their_own_processes_and_leave_the_same_lists(tmp_path: Path) -> None:
    build = tmp_path / "builds" / "b1"
    build.mkdir(parents=True)
    _build(build)
    out = tmp_path / "ivf_update.json"

    done = subprocess.run(
        [sys.executable, "-m", "bench.ivf_update", str(build), "--added", "300", "--removed", "40", "--rounds", "1", "--json", str(out)],
        cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=300, check=False,
    )

    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text())
    assert results["same_lists"] is True and results["count"] == 6_000
    for way in ("private copy", "streamed"):
        facts = results["ways"][way]
        [run] = facts["runs"]
        assert run["count"] == 6_000 - 40 + 300
        assert facts["median_peak_anon_mb"] > 0 and facts["median_wall_s"] >= 0
    assert "streamed" in done.stdout.splitlines()[-1]  # the table's last row
    assert not list(tmp_path.glob("ivf-update-*"))  # its scratch builds (beside the builds folder) removed

"""PNG plots for docs/benchmarks.md (matplotlib, a development dependency, imported only here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def latency_vs_size(results: dict[str, Any], path: Path) -> Path:
    """Left: end-to-end p50/p99 per index kind and peer. Right: retrieval alone (index only)."""
    plt = _pyplot()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    sizes = sorted(results["collections"].values(), key=lambda c: c["size"])
    kinds = sorted({k for c in sizes for k in c["kinds"]})
    for kind in kinds:
        points = [(c["size"], c["kinds"][kind]) for c in sizes if kind in c["kinds"]]
        xs = [s for s, _ in points]
        line = ax.plot(xs, [k["total"]["p50_ms"] for _, k in points], marker="o", label=f"FAISS {kind} p50")[0]
        ax.plot(xs, [k["total"]["p99_ms"] for _, k in points], ls="--", color=line.get_color(), alpha=0.6)
        ax2.plot(xs, [k["search"]["p50_ms"] for _, k in points], marker="o", color=line.get_color(), label=f"{kind} p50")
        ax2.plot(xs, [k["search"]["p99_ms"] for _, k in points], ls="--", color=line.get_color(), alpha=0.6)
    peers = results.get("peers", {})
    for label, pick in (
        ("pgvector HNSW p50", lambda p: p["pgvector_hnsw"][-1]["total"] if p.get("pgvector_hnsw") else None),
        ("PostgreSQL FTS p50", lambda p: p["fts"]["total"] if p.get("fts") else None),
    ):
        points = [(p["size"], pick(p)) for p in sorted(peers.values(), key=lambda p: p["size"]) if pick(p)]
        if points:
            ax.plot([s for s, _ in points], [t["p50_ms"] for _, t in points], marker="s", ls=":", label=label)
    for axis in (ax, ax2):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("papers in the collection")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=8)
    ax.set_ylabel("ms per search")
    ax.set_title("End to end: encode + retrieve + fetch (dashed: p99)", fontsize=10)
    ax2.set_title("Retrieval only, top 10 (dashed: p99)", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def throughput_per_backend(rows: list[dict[str, Any]], path: Path) -> Path:
    """Embedding abstracts/s per backend, annotated with the minimum cosine to torch fp32."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=110)
    names = [r["backend"] for r in rows]
    rates = [r["abstracts_per_s"] for r in rows]
    bars = ax.bar(names, rates, color=["#888888", "#4c72b0", "#55a868"][: len(rows)])
    for bar, row in zip(bars, rows, strict=True):
        ax.annotate(
            f"{row['abstracts_per_s']:.0f}/s\ncos min {row['cosine_min']:.5f}",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_ylabel("abstracts / s (2 cores)")
    ax.set_title("Embedding throughput per backend (same texts, same run)")
    ax.set_ylim(0, max(rates) * 1.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path

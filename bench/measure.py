"""What a benchmark records about the machine and its processes: the CPU, private memory.

(Percentiles and the ranking metrics live in bench/metrics.py.)
"""

from __future__ import annotations

import platform
from pathlib import Path


def status_kb(pid: int | str, field: str) -> int:
    """One kB figure of /proc/<pid>/status (``RssAnon``, ``VmRSS``, ``VmHWM``; ``Threads`` is a
    count); 0 once the process has exited."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return next((int(line.split()[1]) for line in status if line.startswith(field + ":")), 0)
    except OSError:
        return 0


def process_memory(pid: int | str = "self") -> dict[str, float]:
    """USS (private), PSS and RSS from /proc/<pid>/smaps_rollup, plus anonymous RSS, in MB.

    USS counts pages only this process maps; pages of a memory-mapped index that several web
    processes map are shared (and PSS splits them between the processes).
    """
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            fields[parts[0].rstrip(":")] = int(parts[1])
    anon = status_kb(pid, "RssAnon")
    mb = 1024.0
    return {
        "uss_mb": round((fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)) / mb, 1),
        "pss_mb": round(fields.get("Pss", 0) / mb, 1),
        "rss_mb": round(fields.get("Rss", 0) / mb, 1),
        "anon_mb": round(anon / mb, 1),
    }


def memory_breakdown(pid: int | str = "self", *, top: int = 12) -> dict[str, object]:
    """Where a process's private memory (USS) lies, from /proc/<pid>/smaps, in MB.

    Private pages grouped by what maps them: ``[anon]`` (malloc arenas, thread stacks, Python
    objects), ``[heap]``, each shared library, each data file. Also whether torch is mapped
    (a web process on the openvino backend should never load it) and the thread count.
    """
    private: dict[str, int] = {}
    name = "[anon]"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split(None, 5)
        if head and "-" in head[0] and len(head) >= 5 and ":" not in head[0]:
            name = head[5].strip() if len(head) > 5 and head[5].strip() else "[anon]"
            continue
        if head and head[0] in ("Private_Clean:", "Private_Dirty:"):
            private[name] = private.get(name, 0) + int(head[1])
    grouped: dict[str, int] = {}
    for path, kib in private.items():
        key = path
        if path.startswith("/") and ".so" in path:
            key = "lib " + Path(path).name
        elif path.startswith("/"):
            key = "file " + Path(path).name
        grouped[key] = grouped.get(key, 0) + kib
    largest = sorted(grouped.items(), key=lambda item: -item[1])[:top]
    threads = status_kb(pid, "Threads")
    libs = sum(kib for key, kib in grouped.items() if key.startswith("lib "))
    return {
        "largest_mb": {key: round(kib / 1024, 1) for key, kib in largest},
        "anon_and_heap_mb": round((grouped.get("[anon]", 0) + grouped.get("[heap]", 0)) / 1024, 1),
        "libraries_mb": round(libs / 1024, 1),
        "torch_mapped": any("libtorch" in path for path in private) or "libtorch" in Path(f"/proc/{pid}/maps").read_text(),
        "threads": threads,
    }


def cpu_model() -> str:
    """The CPU's model name with its family and model numbers (every benchmark number is recorded with it)."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    name = fields.get("model name") or platform.processor() or platform.machine()
    return f"{name} (family {fields['cpu family']} model {fields['model']})" if "cpu family" in fields else name

"""Each worker process gets cores // processes threads (torch, OpenVINO, FAISS, OpenMP), at least one."""

from __future__ import annotations

import os

import pytest

from config.celery import worker_threads


@pytest.mark.parametrize("processes", [1, 2, 3, 64])
def test_threads_per_worker_process_share_the_cores(processes: int, settings) -> None:  # type: ignore[no-untyped-def]
    settings.WORKER_THREADS = 0
    cores = len(os.sched_getaffinity(0))
    threads = worker_threads(processes)
    assert threads == max(1, cores // processes)
    assert threads * processes <= max(cores, processes)


def test_an_explicit_setting_wins(settings) -> None:  # type: ignore[no-untyped-def]
    settings.WORKER_THREADS = 3
    assert worker_threads(8) == 3

"""Import jobs: a file uploaded in the admin, stored, then imported in the background."""

from __future__ import annotations

import datetime as dt
import io
import time
from pathlib import Path

from django.conf import settings
from django.db import transaction

from papers.importers import FORMATS
from papers.models import ImportJob
from papers.records import RecordError
from papers.services import ImportSummary, papers_import
from papers.signals import import_job_created


def import_job_create(*, name: str, data: bytes, fmt: str = "auto", user: object | None = None) -> ImportJob:
    """Store an uploaded file as an import job and run it in the background after commit."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of: {', '.join(FORMATS)}")
    job = ImportJob.objects.create(
        name=Path(name).name[:255] or "upload",
        format=fmt,
        size=len(data),
        data=data,
        created_by=user if getattr(user, "pk", None) else None,  # type: ignore[misc]
    )
    pk = job.pk
    # papers.apps runs the task for it (papers.tasks imports this module: no import back).
    transaction.on_commit(lambda: import_job_created.send(sender=ImportJob, job_id=pk))
    return job


def import_job_run(*, job_id: int, progress_interval: float = 0.5) -> ImportJob | None:
    """Run an import job: parse the stored upload, upsert papers, record progress and rejects.

    Safe to run twice: a finished job is left alone; an interrupted one starts over (the
    upsert is idempotent). A file that cannot be read at all fails the job with a message.
    """
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None or job.finished_running:
        return job
    jobs = ImportJob.objects.filter(pk=job_id)
    now = dt.datetime.now(dt.UTC)
    jobs.update(
        status=ImportJob.Status.RUNNING, started=now, bytes_read=0, created_count=0, updated_count=0,
        unchanged_count=0, merged_count=0, queued_count=0, error_count=0, warning_count=0, errors=[],
        warnings=[], message="",
    )
    buffer = io.BytesIO(bytes(job.data))
    counts = {
        "created_count": 0, "updated_count": 0, "unchanged_count": 0, "merged_count": 0, "queued_count": 0,
        "error_count": 0, "warning_count": 0,
    }
    errors: list[dict[str, str]] = []
    warnings: list[dict[str, str]] = []
    max_errors = settings.IMPORT_JOB_MAX_ERRORS
    last_saved = 0.0

    def save_progress(force: bool = False) -> None:
        nonlocal last_saved
        if force or time.monotonic() - last_saved >= progress_interval:
            jobs.update(bytes_read=min(buffer.tell(), job.size), errors=errors, warnings=warnings, **counts)
            last_saved = time.monotonic()

    def on_error(error: RecordError) -> None:
        counts["error_count"] += 1
        if len(errors) < max_errors:
            errors.append({"source": error.source, "reason": error.reason})
        save_progress()

    def on_batch(summary: ImportSummary) -> None:
        for name in ("created", "updated", "unchanged", "merged", "queued"):
            counts[f"{name}_count"] += getattr(summary, name)
        counts["warning_count"] += len(summary.warnings)
        for warning in summary.warnings[: max(0, max_errors - len(warnings))]:
            warnings.append({"source": warning.source, "reason": warning.reason})
        save_progress(force=True)

    status, message = ImportJob.Status.DONE, ""
    try:
        summary = papers_import(
            source=buffer, fmt=job.format, name=job.name, on_error=on_error, on_batch=on_batch,
            max_bytes=settings.IMPORT_UPLOAD_MAX_UNPACKED_MB * 1048576,
        )
        message = str(summary) if summary.imported else "Nothing could be imported from this file."
    except Exception as exc:  # noqa: BLE001 - whatever stops the file, the job records why (never a lost upload)
        status, message = ImportJob.Status.FAILED, f"{type(exc).__name__}: {exc}"
    jobs.update(
        status=status, message=message, finished=dt.datetime.now(dt.UTC), data=b"",
        bytes_read=job.size if status == ImportJob.Status.DONE else min(buffer.tell(), job.size),
        errors=errors, warnings=warnings, **counts,
    )
    return ImportJob.objects.get(pk=job_id)

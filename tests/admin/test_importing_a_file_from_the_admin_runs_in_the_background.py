"""Uploading a file in the admin: a background job imports it; its page shows progress, the
counts, and each rejected line with its reason."""

from __future__ import annotations

import gzip
import json
from typing import Any

from django.contrib.admin.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from papers.models import ImportJob, Paper
from papers.import_jobs import import_job_run
from search.models import PaperEmbedding

UPLOAD = reverse("admin:papers_importjob_add")
GOOD = [
    {"title": "Sparse attention for long documents", "abstract": "We study sparse attention over long inputs.", "arxiv_id": "2401.00001v2"},
    {"title": "Graph neural networks for molecules", "abstract": "Message passing on molecular graphs.", "doi": "10.1234/ABC"},
]
LINES = [json.dumps(GOOD[0]), "{not json", json.dumps(GOOD[1]), json.dumps({"title": "", "abstract": "no title"})]


def _upload(client: Any, content: bytes, name: str = "batch.jsonl", fmt: str = "auto", capture: Any = None) -> Any:
    data = {"file": SimpleUploadedFile(name, content), "format": fmt}
    if capture is None:
        return client.post(UPLOAD, data)
    with capture(execute=True):
        return client.post(UPLOAD, data)


def test_an_upload_with_bad_lines_imports_the_rest_and_lists_each_rejected_line(
    admin_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    response = _upload(admin_client, ("\n".join(LINES) + "\n").encode(), capture=django_capture_on_commit_callbacks)
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("admin:papers_importjob_change", args=[job.pk])
    assert (job.status, job.created_count, job.error_count, job.progress_percent) == ("done", 2, 2, 100)
    assert [e["source"] for e in job.errors] == ["batch.jsonl:2", "batch.jsonl:4"]
    assert job.data == b""  # the upload is dropped once imported
    assert set(Paper.objects.values_list("arxiv_id", "doi")) == {("2401.00001", None), (None, "10.1234/abc")}
    assert PaperEmbedding.objects.count() == 2  # embedded after the import committed
    page = admin_client.get(response["Location"]).content.decode()
    assert "batch.jsonl:2" in page and "batch.jsonl:4" in page
    for reason in (job.errors[0]["reason"], job.errors[1]["reason"]):
        assert reason.replace('"', "&quot;").replace("'", "&#x27;") in page
    assert 'http-equiv="refresh"' not in page  # finished: no more refreshing
    assert '<div class="ps-num">2</div><div class="ps-label">created</div>' in page
    assert '<div class="ps-num">2</div><div class="ps-label">rejected</div>' in page
    assert LogEntry.objects.filter(object_id=str(job.pk), change_message__startswith="Uploaded batch.jsonl").exists()


def test_a_queued_job_page_refreshes_itself_and_shows_its_progress(admin_client: Any) -> None:
    _upload(admin_client, ("\n".join(LINES) + "\n").encode())  # commit hooks not run: still queued
    job = ImportJob.objects.get()
    assert job.status == "queued" and job.size == len(("\n".join(LINES) + "\n").encode())
    page = admin_client.get(reverse("admin:papers_importjob_change", args=[job.pk])).content.decode()
    assert '<meta http-equiv="refresh" content="2">' in page and "queued" in page
    ImportJob.objects.filter(pk=job.pk).update(status="running", bytes_read=job.size // 2, created_count=1)
    page = admin_client.get(reverse("admin:papers_importjob_change", args=[job.pk])).content.decode()
    job.refresh_from_db()
    assert 0 < job.progress_percent < 100 and f'<progress class="ps-progress" max="100" value="{job.progress_percent}"' in page
    assert 'http-equiv="refresh"' in page


def test_running_a_job_twice_imports_once_and_a_redelivered_running_job_starts_over(admin_client: Any, django_capture_on_commit_callbacks: Any) -> None:
    _upload(admin_client, ("\n".join(LINES) + "\n").encode())
    job = ImportJob.objects.get()
    ImportJob.objects.filter(pk=job.pk).update(status="running", created_count=7)  # a worker died mid-way
    assert import_job_run(job_id=job.pk).created_count == 2
    again = import_job_run(job_id=job.pk)
    assert (again.status, again.created_count) == ("done", 2)
    assert Paper.objects.count() == 2


def test_gzip_and_an_explicit_format_are_accepted(admin_client: Any, django_capture_on_commit_callbacks: Any) -> None:
    csv = b"title,abstract,doi\nA csv paper,Its abstract.,10.5/a\n,missing title,\n"
    _upload(admin_client, gzip.compress(csv), name="papers.csv.gz", fmt="csv", capture=django_capture_on_commit_callbacks)
    job = ImportJob.objects.get()
    assert (job.status, job.format, job.created_count, job.error_count) == ("done", "csv", 1, 1)


def test_a_file_that_cannot_be_read_fails_the_job_with_a_reason_not_a_server_error(
    admin_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    response = _upload(admin_client, b"\x00\x01\x02 binary junk", name="junk.bin", capture=django_capture_on_commit_callbacks)
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.status == "failed" and "cannot detect the format" in job.message
    page = admin_client.get(response["Location"]).content.decode()
    assert "failed" in page and "cannot detect the format" in page
    assert not Paper.objects.exists()


def test_a_file_with_nothing_importable_says_so(admin_client: Any, django_capture_on_commit_callbacks: Any) -> None:
    _upload(admin_client, b"{oops\n{\"title\": 3}\n", fmt="jsonl", capture=django_capture_on_commit_callbacks)
    job = ImportJob.objects.get()
    assert (job.status, job.error_count) == ("done", 2) and job.message == "Nothing could be imported from this file."


def test_empty_and_too_large_files_are_refused_on_the_form(admin_client: Any, settings: Any) -> None:
    response = _upload(admin_client, b"")
    assert response.status_code == 400 and "The submitted file is empty" in response.content.decode()
    settings.IMPORT_UPLOAD_MAX_MB = 0
    response = _upload(admin_client, b'{"title": "t", "abstract": "a"}\n')
    assert response.status_code == 400 and "uploads are limited to 0 MB" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_uploading_needs_the_add_permission_and_job_pages_the_view_permission(staff_client: Any, admin_client: Any) -> None:
    viewer = staff_client("papers.view_importjob")
    assert viewer.get(UPLOAD).status_code == 403
    assert _upload(viewer, b'{"title": "t", "abstract": "a"}\n').status_code == 403
    assert not ImportJob.objects.exists()
    _upload(admin_client, b'{"title": "t", "abstract": "a"}\n')
    job_page = reverse("admin:papers_importjob_change", args=[ImportJob.objects.get().pk])
    assert viewer.get(job_page).status_code == 200
    assert staff_client("papers.add_importjob").get(job_page).status_code == 403
    uploader = staff_client("papers.add_importjob", "papers.view_importjob")
    assert uploader.get(UPLOAD).status_code == 200
    assert _upload(uploader, b'{"title": "u", "abstract": "b"}\n').status_code == 302

"""Imports from the admin: an upload form, and each job's progress and rejects."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.models import ADDITION
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from papers.admin.common import log_actions
from papers.import_jobs import import_job_create
from papers.importers import FORMATS
from papers.models import ImportJob


class ImportUploadForm(forms.Form):
    file = forms.FileField(help_text="JSON lines, CSV, arXiv Atom or Kaggle metadata, BEIR corpus, a Hugging Face listing; gzip is fine.")
    format = forms.ChoiceField(
        choices=[(f, "detect from the content" if f == "auto" else f) for f in FORMATS],
        initial="auto",
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        limit = settings.IMPORT_UPLOAD_MAX_MB * 1024 * 1024
        if upload.size > limit:
            raise ValidationError(
                f"The file is {upload.size / 1048576:,.1f} MB; uploads are limited to {settings.IMPORT_UPLOAD_MAX_MB} MB "
                "(IMPORT_UPLOAD_MAX_MB). Use `manage.py import_papers` for larger files."
            )
        if upload.size == 0:
            raise ValidationError("The file is empty.")
        return upload


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ("name", "status", "progress", "created_count", "updated_count", "merged_count", "unchanged_count", "error_count", "warning_count", "created_by", "created")
    list_filter = ("status",)
    list_select_related = ("created_by",)
    search_fields = ("name",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ImportJob]:
        return super().get_queryset(request).defer("data")  # the upload itself is never shown

    def has_change_permission(self, request: HttpRequest, obj: ImportJob | None = None) -> bool:
        return False  # a job is a record of what happened

    @admin.display(description="progress")
    def progress(self, job: ImportJob) -> str:
        return f"{job.progress_percent}%"

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ImportUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            job = import_job_create(name=upload.name, data=upload.read(), fmt=form.cleaned_data["format"], user=request.user)
            log_actions(request, [job], f"Uploaded {upload.name} ({upload.size:,} bytes) for import.", ADDITION)
            return HttpResponseRedirect(reverse("admin:papers_importjob_change", args=[job.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import papers from a file",
            "form": form,
            "max_mb": settings.IMPORT_UPLOAD_MAX_MB,
            "recent": ImportJob.objects.defer("data").order_by("-created")[:5],
        }
        return TemplateResponse(request, "admin/papers/importjob/upload.html", context, status=400 if form.errors else 200)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None) -> HttpResponse:
        job = self.get_object(request, object_id)
        if job is None:  # Django's own "does not exist" message and redirect
            return super().change_view(request, object_id, form_url, extra_context)
        if not self.has_view_permission(request, job):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Import of {job.name}",
            "job": job,
            "original": job,
            "has_delete_permission": self.has_delete_permission(request, job),
        }
        return TemplateResponse(request, "admin/papers/importjob/detail.html", context)

from typing import Any

from django.apps import AppConfig


class PapersConfig(AppConfig):
    name = "papers"
    verbose_name = "Papers"

    def ready(self) -> None:
        from papers.signals import import_job_created

        import_job_created.connect(_run_import_job, dispatch_uid="papers.import_job_created")


def _run_import_job(sender: Any, job_id: int, **kwargs: Any) -> None:
    from papers.tasks import import_job_run

    import_job_run.delay(job_id)

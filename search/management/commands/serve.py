"""manage.py serve [addrport]: Django's development server (what ``make run`` starts), warmed
first the way gunicorn's workers are (config/gunicorn.conf.py ``post_worker_init``): the model
loaded, the current build loaded and searched once, and each later build warmed in a background
thread before it is swapped in. Without it a newcomer's first search paid the model and build
loads (~1.7 s) inside the request. Run it with ``--noreload`` (as ``make run`` does): the warm
process is the one that serves."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.staticfiles.management.commands.runserver import Command as RunserverCommand

logger = logging.getLogger(__name__)


class Command(RunserverCommand):
    help = "Django's development server, with the model and the search index loaded and searched once before it serves."

    def inner_run(self, *args: Any, **options: Any) -> None:
        from search.warm import warm_process

        self.stdout.write("Loading the model and the search index ...")
        try:
            warm_process()
        except Exception:  # a missing model or build shows on the pages; the server still starts
            logger.exception("warm-up failed; the first search loads what it needs")
        super().inner_run(*args, **options)

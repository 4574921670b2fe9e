"""Signals the papers app sends; the search app listens (papers never imports search).

``import_job_created`` is heard inside papers: ``papers.apps`` queues the job's task, so that
``papers.services`` never imports ``papers.tasks`` (which imports it).
"""

from django.dispatch import Signal

# Sent after commit with ``paper_ids``: papers whose embedded text is new or changed.
papers_changed = Signal()
# Sent after commit with ``paper_ids``: papers hidden, unhidden or deleted (index membership).
papers_visibility_changed = Signal()
# Sent inside the merge transaction (not on commit) with ``paper_ids`` (the papers merged
# away) and ``into_id``: the search app drops their vectors in the same transaction.
papers_merged = Signal()
# Sent after commit with ``job_id``: an uploaded import job waiting to be run in the background.
import_job_created = Signal()

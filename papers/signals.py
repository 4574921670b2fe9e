"""Signals the papers app sends; other apps listen (papers never imports search).

``import_job_created`` is heard inside papers: ``papers.apps`` queues the job's task, so that
``papers.import_jobs`` never imports ``papers.tasks`` (which imports it).
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
# Sent by a duplicate scan (``papers.duplicates.duplicates_find``) with no arguments; each
# receiver returns the ``DuplicatePair``s its app's evidence suggests (the search app: papers
# whose stored vectors are nearly the same). The scan keeps each pair's strongest reason.
duplicate_scan_started = Signal()

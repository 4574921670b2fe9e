"""Curation in the Django admin: papers, the duplicate queue, curated related links, imports.

Thin like the views: each action or page checks a model permission, calls one service and
writes what it did to the admin history (LogEntry). One module per page family; importing
this package registers them all. Nothing here reads the search app's tables: ``search.admin``
adds the embedding column, filter, section and action to ``PaperAdmin`` by subclassing it.
"""

from papers.admin import duplicates, import_jobs, paper, related_links

__all__ = ["duplicates", "import_jobs", "paper", "related_links"]

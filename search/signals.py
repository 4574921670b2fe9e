"""Signals inside the search app, so a lower module can ask for work a higher one does.

``index_store`` (the reader) sits below ``search.tasks``; when it has no servable build it asks
for a rebuild through ``index_rebuild_wanted``, which ``search.apps`` connects to
``search.tasks.request_index_build``, instead of importing the tasks module (an import circle).
"""

from django.dispatch import Signal

# Sent with no arguments by a web process that has nothing servable: rebuild from stored vectors.
index_rebuild_wanted = Signal()

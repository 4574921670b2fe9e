"""WSGI entry point (gunicorn config.wsgi).

gunicorn runs no system checks of its own: the paperscope ones run here, in the master (the
app is preloaded) before any worker forks, and a misconfigured site refuses to start.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

from search.checks import refuse_to_start_on_errors  # noqa: E402 - needs the apps loaded above

refuse_to_start_on_errors("the web process")

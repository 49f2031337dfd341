"""WSGI entry point (gunicorn alliance_api.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alliance_api.settings")

application = get_wsgi_application()

from alliance_api.startup import require_reachable_services  # noqa: E402

require_reachable_services()

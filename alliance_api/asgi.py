"""ASGI entry point."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alliance_api.settings")

application = get_asgi_application()

from alliance_api.startup import require_reachable_services  # noqa: E402

require_reachable_services()

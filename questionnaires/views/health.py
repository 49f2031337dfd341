"""`GET /healthz` for load balancers and the engineer on call."""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from questionnaires.selectors.health import broker_status, database_status


@require_GET
def healthz(request) -> JsonResponse:
    database = database_status()
    broker = broker_status()
    body = {
        "status": "ok" if not (database or broker) else "unhealthy",
        "database": {"ok": database is None, **({"error": database} if database else {})},
        "broker": {
            "ok": broker is None,
            "mode": "eager" if settings.EMBEDDED else "broker",
            **({"error": broker} if broker else {}),
        },
    }
    if database or broker:
        body["failing"] = [name for name, problem in (("database", database), ("broker", broker)) if problem]
    return JsonResponse(body, status=200 if body["status"] == "ok" else 503)

"""Template tags for the admin pages this project adds: a therapy client's charts, responses and alerts."""

from __future__ import annotations

from django import template

from questionnaires.admin.client_charts import client_recent_alerts, client_recent_responses, client_trajectory_charts
from questionnaires.models import TherapyClient

register = template.Library()


@register.inclusion_tag("admin/questionnaires/therapyclient/overview.html")
def client_overview(client: TherapyClient) -> dict:
    """Rendered on the client's change page, whose view the admin already audits as a read of this client."""
    return {
        "client": client,
        "charts": client_trajectory_charts(client=client),
        "recent_responses": client_recent_responses(client=client),
        "recent_alerts": client_recent_alerts(client=client),
    }

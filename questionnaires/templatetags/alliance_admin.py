"""Template tags for the admin pages this project adds: a therapy client's charts, responses and alerts."""

from __future__ import annotations

from django import template

from questionnaires.admin.care import client_plan_and_due
from questionnaires.admin.client_charts import client_recent_alerts, client_recent_responses, client_trajectory_charts
from questionnaires.admin.exports import EXPORTS
from questionnaires.admin.tenancy import may, may_open
from questionnaires.models import TherapyClient

register = template.Library()


@register.inclusion_tag("admin/questionnaires/therapyclient/overview.html", takes_context=True)
def client_overview(context: dict, client: TherapyClient) -> dict:
    """Rendered on the client's change page, whose view the admin already audits as a read of this client.

    Takes the page's context for its request: the inline style carries the Content-Security-Policy nonce.
    """
    return {
        "request": context.get("request"),
        "client": client,
        "plan": client_plan_and_due(client=client),
        "charts": client_trajectory_charts(client=client),
        "recent_responses": client_recent_responses(client=client),
        "recent_alerts": client_recent_alerts(client=client),
    }


@register.simple_tag(takes_context=True)
def admin_pages(context) -> dict[str, bool]:
    """Which of the project's own admin pages the index offers this user (the pages check the same rule)."""
    user = context["request"].user
    return {
        "dashboard": may_open(user, "dashboard"),
        "supervision": may_open(user, "supervision"),
        "equity": may_open(user, "equity"),
        "exports": may(user, EXPORTS, "view"),
    }

"""The clinic dashboard: alliance and outcome means per clinician over time, alert counts and completion rates.

Means come from the metric rollups the workers keep (small cells suppressed as in the API), so the
page costs a few indexed reads whatever the clinic's size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from questionnaires.admin.auditing import admin_actor
from questionnaires.admin.credentials import ClientTokenAdmin
from questionnaires.admin.outcome_charts import early_alliance_charts, recovery_dropout_chart
from questionnaires.admin.tenancy import client_or_404, clinic_from_query, is_operator, may, may_open
from questionnaires.charts import Bar, Point, Series, bar_chart, line_chart
from questionnaires.models import Clinic
from questionnaires.registry import get_registry
from questionnaires.selectors.alerts import NOTE_KINDS
from questionnaires.selectors.dashboard import (
    alert_counts,
    completion_rates,
    dashboard_questionnaires,
    period_starts,
)
from questionnaires.selectors.metrics import metric_cells
from questionnaires.services.audit import audit_record
from questionnaires.services.credentials import client_token_issue
from questionnaires.services.metrics import metrics_recompute
from questionnaires.services.outcome_rollups import outcomes_recompute

PERIODS = {"month": 8, "week": 16}
"""How many periods the dashboard shows for each period kind."""
CONSTRUCT_ORDER = {"alliance": 0, "outcome": 1, "symptom": 2, "goals": 3}


@dataclass
class DashboardChart:
    chart_id: str
    title: str
    svg: SafeString
    points: int
    note: str = ""


def _label(start, period: str) -> str:
    return start.strftime("%d %b") if period == "week" else start.strftime("%b %y")


def metric_chart(*, clinic: Clinic, questionnaire_id: str, period: str, starts: list) -> DashboardChart:
    """Mean total per period: one series per clinician and a bold one for the whole clinic."""
    definition = get_registry().get(questionnaire_id)
    position = {start: index for index, start in enumerate(starts)}
    common = {
        "clinic_id": clinic.pk,
        "questionnaire_id": questionnaire_id,
        "period": period,
        "date_from": starts[0],
        "date_to": starts[-1],
    }
    series = []
    suppressed = 0
    groups = [("clinic", metric_cells(group_by="clinic", **common))]
    groups.append(("clinician", metric_cells(group_by="clinician", **common)))
    by_clinician: dict[str, list[Point]] = {}
    clinic_points: list[Point] = []
    for group, cells in groups:
        for cell in cells:
            if cell.period_start not in position:
                continue
            if cell.suppressed:
                suppressed += 1
                continue
            shaped = cell.as_dict()
            who = "clinic" if group == "clinic" else (cell.clinician or f"user {cell.clinician_id}")
            point = Point(
                x=position[cell.period_start],
                y=shaped["mean"],
                label=f"{who}, {_label(cell.period_start, period)}: mean {shaped['mean']:g} (n={shaped['n']})",
                data={"period": cell.period_start.isoformat(), "n": str(shaped["n"])},
            )
            if group == "clinic":
                clinic_points.append(point)
            else:
                by_clinician.setdefault(who, []).append(point)
    for username in sorted(by_clinician):
        series.append(Series(name=username, key=f"clinician-{username}", points=tuple(by_clinician[username])))
    # The clinic is the grey reference, drawn first so each clinician's line lies above it.
    series.append(Series(name="whole clinic", key="clinic", points=tuple(clinic_points), reference=True))
    title = definition.title if definition is not None else questionnaire_id
    low = float(definition.scoring.total_min) if definition is not None else 0.0
    high = float(definition.scoring.total_max) if definition is not None else 1.0
    cutoff = float(definition.clinical_cutoff) if definition and definition.clinical_cutoff is not None else None
    low, high = zoomed_range(low, high, [point.y for one in series for point in one.points], cutoff)
    drawn = sum(len(one.points) for one in series)
    svg = line_chart(
        chart_id=f"metric-{questionnaire_id}",
        title=f"{title}: mean total per {period}",
        description=(
            f"Mean client-rated total per {period} for {clinic.name}, per clinician and for the whole clinic; "
            f"{drawn} points shown, {suppressed} small cells hidden."
        ),
        x_labels=[_label(start, period) for start in starts],
        series=series,
        y_min=low,
        y_max=high,
        y_label="Mean total",
        cutoff=cutoff,
    )
    note = f"{suppressed} cell(s) with too few responses hidden." if suppressed else ""
    return DashboardChart(chart_id=f"metric-{questionnaire_id}", title=title, svg=svg, points=drawn, note=note)


def zoomed_range(low: float, high: float, values: list[float], cutoff: float | None) -> tuple[float, float]:
    """The instrument's range narrowed to the means shown and the cut-off, so changes of a point or two show."""
    shown = [*values, *([cutoff] if cutoff is not None else [])]
    if not shown:
        return low, high
    margin = (high - low) * 0.1
    return max(low, math.floor(min(shown) - margin)), min(high, math.ceil(max(shown) + margin))


def alerts_chart(*, clinic: Clinic, period: str, starts: list) -> DashboardChart:
    counts = alert_counts(clinic_id=clinic.pk, period=period, starts=starts)
    position = {start: index for index, start in enumerate(starts)}
    bars = [
        Bar(x=position[start], kind=kind, count=number)
        for start, kinds in counts.items()
        if start in position
        for kind, number in kinds.items()
        if kind not in NOTE_KINDS  # good news is a note, not an alert
    ]
    total = sum(bar.count for bar in bars)
    svg = bar_chart(
        chart_id="alerts",
        title=f"Alerts raised per {period}",
        description=(
            f"Alert reasons raised in {clinic.name} per {period}, stacked by kind (notes of good news left out); "
            f"{total} in the range shown."
        ),
        x_labels=[_label(start, period) for start in starts],
        bars=bars,
        y_label="Alerts",
    )
    return DashboardChart(chart_id="alerts", title="Alerts raised", svg=svg, points=len(bars))


def completion_chart(*, clinic: Clinic, period: str, starts: list, questionnaire_ids: list[str]) -> DashboardChart:
    rates = completion_rates(clinic_id=clinic.pk, period=period, starts=starts, questionnaire_ids=questionnaire_ids)
    series = []
    for questionnaire_id in questionnaire_ids:
        points = []
        for index, start in enumerate(starts):
            done, sessions = rates[questionnaire_id][start]
            if not sessions:
                continue
            share = round(100 * done / sessions, 1)
            points.append(
                Point(
                    x=index,
                    y=share,
                    label=f"{questionnaire_id}, {_label(start, period)}: {done} of {sessions} sessions ({share:g}%)",
                    data={"period": start.isoformat(), "sessions": str(sessions), "completed": str(done)},
                )
            )
        if points:
            series.append(Series(name=questionnaire_id, key=questionnaire_id, points=tuple(points)))
    drawn = sum(len(one.points) for one in series)
    svg = line_chart(
        chart_id="completion",
        title=f"Completion rate per {period}",
        description=(
            f"Share of client sessions in {clinic.name} with each measure filled in, per {period}; a session is a "
            "client's session number (or day) with any client-rated response."
        ),
        x_labels=[_label(start, period) for start in starts],
        series=series,
        y_min=0,
        y_max=100,
        y_label="% of sessions",
    )
    return DashboardChart(chart_id="completion", title="Completion rates", svg=svg, points=drawn)


def _ordered(questionnaire_ids: list[str]) -> list[str]:
    registry = get_registry()

    def key(questionnaire_id: str) -> tuple:
        definition = registry.get(questionnaire_id)
        return (CONSTRUCT_ORDER.get(definition.construct, 9) if definition else 9, questionnaire_id)

    return sorted(questionnaire_ids, key=key)


def dashboard_view(request: HttpRequest) -> HttpResponse:
    """Supervisors (their clinic) and superusers; another clinic's slug is a 404."""
    if not may_open(request.user, "dashboard"):
        raise PermissionDenied
    clinics, clinic = clinic_from_query(request.user, request.GET.get("clinic"))
    period = request.GET.get("period", "month")
    if period not in PERIODS:
        period = "month"
    context = {
        **admin.site.each_context(request),
        "title": "Clinic dashboard",
        "clinics": clinics,
        "clinic": clinic,
        "period": period,
        "periods": list(PERIODS),
        "charts": [],
        "min_cell": None,
    }
    if clinic is not None:
        starts = period_starts(period=period, count=PERIODS[period], today=timezone.now().date())
        questionnaire_ids = _ordered(dashboard_questionnaires(clinic_id=clinic.pk))
        context["metric_charts"] = [
            metric_chart(clinic=clinic, questionnaire_id=questionnaire_id, period=period, starts=starts)
            for questionnaire_id in questionnaire_ids
        ]
        context["alerts_chart"] = alerts_chart(clinic=clinic, period=period, starts=starts)
        context["completion_chart"] = completion_chart(
            clinic=clinic, period=period, starts=starts, questionnaire_ids=questionnaire_ids
        )
        outcome_charts = [
            recovery_dropout_chart(clinic=clinic, starts=period_starts(period="month", count=12,
                                                                       today=timezone.now().date())),
            *early_alliance_charts(clinic=clinic),
        ]
        # A chart whose every cell is suppressed would be an empty frame: name it instead.
        context["outcome_charts"] = [chart for chart in outcome_charts if chart.points]
        context["outcome_charts_empty"] = [chart.title for chart in outcome_charts if not chart.points]
        context["min_cell"] = settings.METRICS_MIN_CELL
        audit_record(
            actor=admin_actor(request),
            action="read",
            object_type="metrics",
            clinic_id=clinic.pk,
            detail=f"dashboard period={period}",
        )
    return TemplateResponse(request, "admin/dashboard.html", context)


@require_POST
def metrics_recompute_view(request: HttpRequest) -> HttpResponse:
    """Rebuild every clinic's rollups (one GROUP BY), for after a restore or a plugin cut-off change: superusers."""
    if not is_operator(request.user):
        raise PermissionDenied
    cells = metrics_recompute()
    outcome_cells = outcomes_recompute()
    audit_record(actor=admin_actor(request), action="recompute", object_type="metrics",
                 detail=f"{cells} cells, {outcome_cells} outcome cells")
    messages.success(request, f"Recomputed the metrics: {cells} rollup cells, {outcome_cells} outcome cells.")
    target = reverse("admin-dashboard")
    clinic = request.POST.get("clinic", "")
    if clinic and Clinic.objects.filter(slug=clinic).exists():
        target += f"?clinic={clinic}"
    return HttpResponseRedirect(target)


def client_form_link_view(request: HttpRequest, client_id: str) -> HttpResponse:
    """Issue a client token and show the /take/ link once; the token is stored hashed and cannot be shown again.

    For those who may add client tokens, and only for a client they see: any other client is a 404.
    """
    if not may(request.user, ClientTokenAdmin.tenancy, "add"):
        raise PermissionDenied
    client = client_or_404(request.user, client_id)
    context = {
        **admin.site.each_context(request),
        "title": f"Form link for {client.external_id}",
        "client": client,
        "link": "",
    }
    if request.method == "POST":
        token, key = client_token_issue(client=client, issued_by=request.user, name="form link")
        audit_record(
            actor=admin_actor(request),
            action="create",
            object_type="client_token",
            object_ids=[token.prefix],
            clinic_id=client.clinic_id,
            detail="form link",
        )
        context["link"] = request.build_absolute_uri(reverse("take-index", args=[key]))
        context["expires"] = token.expiry_date
    response = TemplateResponse(request, "admin/client_form_link.html", context)
    response["Cache-Control"] = "no-store"
    return response

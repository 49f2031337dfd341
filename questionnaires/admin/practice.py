"""Admin pages for alliance practice: a clinician's supervision report, the equity view and a client's goals.

Each page reads through the same selectors as the API, so suppression and figures agree; every
page view is audited. Scope as everywhere in the admin (questionnaires/admin/tenancy.py): supervisors
see their clinic, a clinician only their own supervision report and their caseload's goals, and another
clinic's clinic, clinician or client is a 404.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from questionnaires.admin.auditing import admin_actor
from questionnaires.admin.practice_models import GoalAdmin
from questionnaires.admin.tenancy import client_or_404, clinic_from_query, may, may_open, role_of
from questionnaires.charts import Point, Series, focus_range, line_chart
from questionnaires.models import BackgroundCategory, Clinic
from questionnaires.registry import get_registry
from questionnaires.selectors.equity import equity_breakdown
from questionnaires.selectors.goals import goal_as_dict, goal_ratings, goals_of
from questionnaires.selectors.supervision import clinician_report
from questionnaires.services.audit import audit_record

FIGURES = (
    ("mean", "Mean alliance total"),
    ("below_cutoff", "Sessions below the cut-off"),
    ("ruptures", "Ruptures per session"),
    ("repairs", "Ruptures repaired"),
    ("rater_gap", "Client minus clinician rating"),
)


def _clinic(request: HttpRequest, page: str) -> tuple[list[Clinic], Clinic | None]:
    if not may_open(request.user, page):
        raise PermissionDenied
    return clinic_from_query(request.user, request.GET.get("clinic"))


def _rows(mine: dict, clinic: dict) -> list[dict]:
    rows = [{"label": label, "clinician": mine[key], "clinic": clinic[key]} for key, label in FIGURES]
    for key, label in (("reliable_improvement", "Reliable improvement (clients)"),
                       ("reliable_deterioration", "Reliable deterioration (clients)")):
        rows.append({"label": label, "clinician": mine["outcomes"][key], "clinic": clinic["outcomes"][key]})
    return rows


def _trend_chart(report: dict, definition) -> object:
    months = [month["month"] for month in report["trend"]]
    series = []
    # The clinic is the reference, drawn first in grey; the clinician's line lies above it.
    for side, name, emphasis in (("clinic", "whole clinic", False), ("clinician", report["clinician"], True)):
        points = tuple(
            Point(x=index, y=month[side]["mean"], label=f"{name}, {month['month']}: mean {month[side]['mean']:g} "
                  f"(n={month[side]['n']})")
            for index, month in enumerate(report["trend"])
            if not month[side]["suppressed"] and month[side]["mean"] is not None
        )
        series.append(Series(name=name, key=side, points=points, emphasis=emphasis, reference=side == "clinic"))
    low, high = float(definition.scoring.total_min), float(definition.scoring.total_max)
    cutoff = float(definition.clinical_cutoff) if definition.clinical_cutoff is not None else None
    y_min, y_max = focus_range(low, high, [point.y for one in series for point in one.points], cutoff)
    return line_chart(
        chart_id="supervision-trend",
        title=f"{definition.title}: monthly mean, clinician vs clinic",
        description=(
            "Monthly mean client-rated alliance total, the clinician's line above the whole clinic's grey "
            f"reference line (scale {low:g}–{high:g}); months with too few sessions are left out."
        ),
        x_labels=months or ["-"],
        series=series,
        y_min=y_min,
        y_max=y_max,
        y_label="Mean total",
        cutoff=cutoff,
        scale_note=f"scale {low:g}–{high:g}" + (f", axis {y_min:g}–{y_max:g}" if (y_min, y_max) != (low, high) else ""),
    )


def _staff_for_report(request: HttpRequest, clinic: Clinic | None) -> list:
    """Whose report the user may open: a clinician only their own, a supervisor anyone of the clinic."""
    if clinic is None:
        return []
    staff = get_user_model().objects.filter(membership__clinic=clinic, is_active=True).order_by("username")
    if role_of(request.user) == "clinician":
        staff = staff.filter(pk=request.user.pk)
    return list(staff)


def supervision_view(request: HttpRequest) -> HttpResponse:
    clinics, clinic = _clinic(request, "supervision")
    registry = get_registry()
    alliance_ids = sorted(d.id for d in registry.latest() if d.construct == "alliance")
    questionnaire_id = request.GET.get("questionnaire", "srs")
    if questionnaire_id not in alliance_ids:
        questionnaire_id = "srs" if "srs" in alliance_ids else (alliance_ids[0] if alliance_ids else "")
    staff = _staff_for_report(request, clinic)
    wanted = request.GET.get("clinician", "")
    clinician = next((user for user in staff if user.username == wanted), None)
    if wanted and clinician is None:
        raise Http404  # not a clinician of this clinic, or (for a clinician) not themselves
    clinician = clinician or (staff[0] if staff else None)
    context = {
        **admin.site.each_context(request),
        "title": "Supervision feedback",
        "clinics": clinics, "clinic": clinic, "staff": staff, "clinician": clinician,
        "questionnaires": alliance_ids, "questionnaire": questionnaire_id, "report": None,
    }
    if clinic is not None and clinician is not None and questionnaire_id:
        report = clinician_report(
            clinic_id=clinic.pk, clinician=clinician, alliance_questionnaire=questionnaire_id,
            outcome_questionnaire="ors" if registry.get("ors") else None,
            # A clinician reads their own report as in the API: no clinic figure that would isolate a colleague.
            viewer_is_clinician=role_of(request.user) == "clinician",
        )
        context["report"] = report
        context["rows"] = _rows(report["clinician_figures"], report["clinic_figures"])
        context["chart"] = _trend_chart(report, registry.get(questionnaire_id))
        audit_record(actor=admin_actor(request), action="read", object_type="clinician_report", clinic_id=clinic.pk,
                     object_ids=[clinician.username], detail=f"supervision {questionnaire_id}")
    return TemplateResponse(request, "admin/supervision.html", context)


def equity_view(request: HttpRequest) -> HttpResponse:
    clinics, clinic = _clinic(request, "equity")
    registry = get_registry()
    questionnaire_ids = sorted(d.id for d in registry.latest() if d.construct in ("alliance", "outcome", "symptom"))
    questionnaire_id = request.GET.get("questionnaire", "srs")
    if questionnaire_id not in questionnaire_ids:
        questionnaire_id = questionnaire_ids[0] if questionnaire_ids else ""
    categories = list(BackgroundCategory.objects.filter(clinic=clinic).order_by("name")) if clinic else []
    wanted = request.GET.get("category", "")
    category = next((one for one in categories if one.name == wanted), categories[0] if categories else None)
    context = {
        **admin.site.each_context(request),
        "title": "Equity view",
        "clinics": clinics, "clinic": clinic, "categories": categories, "category": category,
        "questionnaires": questionnaire_ids, "questionnaire": questionnaire_id, "breakdown": None,
        "min_cell": settings.EQUITY_MIN_CELL,
    }
    if clinic is not None and category is not None and questionnaire_id:
        context["breakdown"] = equity_breakdown(
            clinic_id=clinic.pk, definition=registry.get(questionnaire_id), category=category,
            min_cell=settings.EQUITY_MIN_CELL,
        )
        audit_record(actor=admin_actor(request), action="read", object_type="equity", clinic_id=clinic.pk,
                     detail=f"equity {questionnaire_id} by {category.name}")
    return TemplateResponse(request, "admin/equity.html", context)


def client_goals_view(request: HttpRequest, client_id: str) -> HttpResponse:
    if not may(request.user, GoalAdmin.tenancy, "view"):
        raise PermissionDenied
    client = client_or_404(request.user, client_id)
    ratings = goal_ratings(client_id=client.pk)
    goals = [
        goal_as_dict(goal, ratings.get(goal.id, []), with_trajectory=True) for goal in goals_of(client_id=client.pk)
    ]
    longest = max((len(goal["trajectory"]) for goal in goals), default=0)
    series = [
        Series(
            name=f"Goal {position}", key=f"goal-{goal['id']}",
            points=tuple(
                Point(x=index, y=float(point["rating"]),
                      label=f"Goal {position}, rating {index + 1}: {point['rating']}")
                for index, point in enumerate(goal["trajectory"])
            ),
        )
        for position, goal in enumerate(goals, start=1)
        if goal["trajectory"]
    ]
    chart = line_chart(
        chart_id="goal-progress", title="Progress towards each goal (0-10)",
        description="Each goal's rating at every GBO response, first rating on the left.",
        x_labels=[str(number) for number in range(1, longest + 1)] or ["-"], series=series, y_min=0, y_max=10,
        y_label="Rating",
    )
    audit_record(actor=admin_actor(request), action="read", object_type="goal", clinic_id=client.clinic_id,
                 object_ids=[str(goal["id"]) for goal in goals], detail=f"client {client.external_id}")
    context = {
        **admin.site.each_context(request),
        "title": f"Goals of {client.external_id}",
        "client": client, "goals": goals, "chart": chart,
    }
    return TemplateResponse(request, "admin/client_goals.html", context)

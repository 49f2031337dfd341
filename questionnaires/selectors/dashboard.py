"""Reads behind the clinic dashboard: the periods shown, alert counts from the rollups, and completion rates."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from django.db.models import CharField, Count, Value
from django.db.models.functions import Cast, Coalesce, Concat, TruncDate

from questionnaires.metric_cells import month_start, week_start
from questionnaires.models import Clinic, MetricRollup, Response


def clinics_for_dashboard(user) -> list[Clinic]:
    """Superusers see every clinic; other staff the clinic of their membership, if any."""
    if user.is_superuser:
        return list(Clinic.objects.order_by("name"))
    membership = getattr(user, "membership", None)
    return [membership.clinic] if membership is not None else []


def period_starts(*, period: str, count: int, today: date) -> list[date]:
    """The last `count` weeks (Mondays) or months (first days) up to and including today's, oldest first."""
    if period == "week":
        current = week_start(today)
        return [current - timedelta(weeks=back) for back in range(count - 1, -1, -1)]
    starts = [month_start(today)]
    while len(starts) < count:
        starts.append(month_start(starts[-1] - timedelta(days=1)))
    return starts[::-1]


def period_of(day: date, period: str) -> date:
    return week_start(day) if period == "week" else month_start(day)


def dashboard_questionnaires(*, clinic_id: int) -> list[str]:
    """The instruments this clinic has rollups for."""
    return sorted(
        set(MetricRollup.objects.filter(clinic_id=clinic_id).values_list("questionnaire_id", flat=True).distinct())
    )


def alert_counts(*, clinic_id: int, period: str, starts: list[date]) -> dict[date, dict[str, int]]:
    """Alerts raised per period and kind, summed over instruments and raters from the clinic-scope rollups."""
    counts: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    if not starts:
        return {}
    rows = MetricRollup.objects.filter(
        clinic_id=clinic_id,
        scope=MetricRollup.Scope.CLINIC,
        period=period,
        period_start__gte=starts[0],
        period_start__lte=starts[-1],
    ).values_list("period_start", "alerts")
    for start, alerts in rows:
        for kind, number in (alerts or {}).items():
            counts[start][kind] += int(number)
    return {start: dict(kinds) for start, kinds in counts.items()}


def completion_rates(
    *, clinic_id: int, period: str, starts: list[date], questionnaire_ids: list[str]
) -> dict[str, dict[date, tuple[int, int]]]:
    """Per instrument and period: (sessions with a client rating on it, sessions with any client rating).

    A session is a client's session number, or the day they answered when no number was sent; only
    client-rated responses count, since the question is whether clients filled the measures in.
    """
    if not starts:
        return {}
    first = starts[0]
    last = starts[-1] + (timedelta(weeks=1) if period == "week" else timedelta(days=31))
    session_key = Concat(
        Cast("client_id", CharField()),
        Value(":"),
        Coalesce(Cast("session_number", CharField()), Cast(TruncDate("authored_at"), CharField())),
        output_field=CharField(),
    )
    responses = Response.objects.filter(
        clinic_id=clinic_id, rater=Response.Rater.CLIENT, authored_at__date__gte=first, authored_at__date__lt=last
    ).annotate(day=TruncDate("authored_at"), session_key=session_key)
    sessions: dict[date, set[str]] = defaultdict(set)
    answered: dict[tuple[str, date], set[str]] = defaultdict(set)
    # One row per (day, session, instrument): far fewer than responses, and streamed.
    rows = (
        responses.values_list("day", "session_key", "questionnaire_version__questionnaire_id")
        .annotate(count=Count("id"))
        .order_by()
    )
    for day, key, questionnaire_id, _count in rows.iterator(chunk_size=2000):
        start = period_of(day, period)
        sessions[start].add(key)
        answered[(questionnaire_id, start)].add(key)
    return {
        questionnaire_id: {
            start: (len(answered.get((questionnaire_id, start), ())), len(sessions.get(start, ()))) for start in starts
        }
        for questionnaire_id in questionnaire_ids
    }

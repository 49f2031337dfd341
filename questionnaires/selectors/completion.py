"""Completion of the measurement plan: completed ÷ expected, per clinic or clinician and per instrument.

Expected: every measure the plan in force (episode override, else the clinic's default, else the
built-in one) expects at an attended session that started in the period, counted as the due list
counts it (`selectors.due.expected_measures`). Completed: those of them with a response linked to
that session for that instrument and rater that is not retracted. A session's clinician is the
credited one (`selectors.care.sessions_with_credit`); sessions with nobody to credit are
`clinician: null`. Six queries whatever the size: episodes, their sessions, plans, goals, responses,
usernames.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model

from questionnaires.models import CareSession, Clinic, EpisodeOfCare, Goal, MeasurementPlan, Response
from questionnaires.models.plans import DEFAULT_RULES
from questionnaires.registry import get_registry
from questionnaires.selectors.care import sessions_with_credit
from questionnaires.selectors.due import episode_slots, expected_measures

GROUPS = ("clinic", "clinician")


def clinic_today(clinic_id: int) -> date:
    """Today in the clinic's time zone."""
    zone = Clinic.objects.filter(pk=clinic_id).values_list("time_zone", flat=True).first() or "UTC"
    return datetime.now(ZoneInfo(zone)).date()


def _rate(expected: int, completed: int) -> float | None:
    return round(completed / expected, 4) if expected else None


def completion_rates(
    *, clinic_id: int, group_by: str, date_from: date, date_to: date, questionnaire_id: str | None = None,
    clinician_id: int | None = None,
) -> dict:
    """{"results": [{"clinician"?, "questionnaire", "rater", "expected", "completed", "rate"}], "total": {...}}.

    Dates are days in the clinic's time zone, both included. `clinician_id` keeps only the sessions
    credited to that clinician (what a clinician may see). `rate` is null where nothing was expected.
    """
    zone = ZoneInfo(Clinic.objects.filter(pk=clinic_id).values_list("time_zone", flat=True).first() or "UTC")
    start = datetime.combine(date_from, time.min, zone)
    end = datetime.combine(date_to + timedelta(days=1), time.min, zone)
    in_period = CareSession.objects.filter(
        clinic_id=clinic_id, attendance=CareSession.Attendance.ATTENDED, scheduled_start__gte=start,
        scheduled_start__lt=end,
    )
    episodes = {
        episode.pk: episode for episode in
        EpisodeOfCare.objects.filter(pk__in=in_period.values("episode_id")).only("pk", "client_id", "start_date")
    }
    sessions: dict[int, list[CareSession]] = defaultdict(list)
    for session in sessions_with_credit(
        CareSession.objects.filter(episode_id__in=list(episodes)).order_by("episode_id", "scheduled_start", "id")
    ):
        sessions[session.episode_id].append(session)
    plans = dict(MeasurementPlan.objects.filter(clinic_id=clinic_id).values_list("episode_id", "rules"))
    default = plans[None] if None in plans else [
        rule for rule in DEFAULT_RULES if get_registry().get(rule["questionnaire"]) is not None
    ]
    with_goals = set(
        Goal.objects.filter(client_id__in={episode.client_id for episode in episodes.values()},
                            status=Goal.Status.ACTIVE).values_list("client_id", flat=True)
    )
    done = set(
        Response.objects.filter(session__episode_id__in=list(episodes)).exclude(status=Response.Status.RETRACTED)
        .values_list("session_id", "questionnaire_version__questionnaire_id", "rater")
    )
    cells: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for episode_id, episode in episodes.items():
        rules = plans[episode_id] if episode_id in plans else default  # an empty override expects nothing
        if questionnaire_id:
            rules = [rule for rule in rules if rule["questionnaire"] == questionnaire_id]
        slots = episode_slots(episode, sessions[episode_id])
        for slot, rule in expected_measures(slots, rules, has_goals=episode.client_id in with_goals):
            session = slot.session
            if not start <= session.scheduled_start < end:
                continue
            if clinician_id is not None and session.credit != clinician_id:
                continue
            rater = rule.get("rater", "client")
            key = (session.credit if group_by == "clinician" else None, rule["questionnaire"], rater)
            cells[key][0] += 1
            cells[key][1] += int((session.pk, rule["questionnaire"], rater) in done)
    names = dict(
        get_user_model().objects.filter(pk__in={key[0] for key in cells if key[0]}).values_list("pk", "username")
    )
    results = []
    for (credit, questionnaire, rater), (expected, completed) in sorted(
        cells.items(), key=lambda item: (names.get(item[0][0], ""), item[0][1], item[0][2])
    ):
        row = {"questionnaire": questionnaire, "rater": rater, "expected": expected, "completed": completed,
               "rate": _rate(expected, completed)}
        if group_by == "clinician":
            row = {"clinician": names.get(credit), **row}
        results.append(row)
    expected = sum(value[0] for value in cells.values())
    completed = sum(value[1] for value in cells.values())
    return {"results": results, "total": {"expected": expected, "completed": completed,
                                          "rate": _rate(expected, completed)}}

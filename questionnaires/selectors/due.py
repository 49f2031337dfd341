"""What is due: the measures a client's plan expects at the current or next session, which are done, open,
upcoming or missed, and completion as completed ÷ expected over the episode's attended sessions.

Reads only: the client's active episode with its sessions (one query), the responses linked to
them (one), the plans in force (one) and, when a rule needs goals, whether any are active (one).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from questionnaires.models import (
    CareSession,
    ClinicCareSettings,
    EpisodeOfCare,
    Goal,
    MeasurementPlan,
    Response,
    TherapyClient,
)
from questionnaires.models.care import LINKABLE_ATTENDANCE
from questionnaires.models.plans import DEFAULT_RULES
from questionnaires.registry import get_registry
from questionnaires.selectors.care import SESSION_EARLY_START, session_window


def rules_in_force(*, clinic_id: int, episode_id: int | None) -> tuple[Sequence[dict], str]:
    """The rules that apply and where they come from: "episode", "clinic" or "default"."""
    which = Q(episode__isnull=True) | (Q(episode_id=episode_id) if episode_id is not None else Q(pk__in=[]))
    plans = dict(MeasurementPlan.objects.filter(which, clinic_id=clinic_id).values_list("episode_id", "rules"))
    if episode_id is not None and episode_id in plans:
        return plans[episode_id], "episode"
    if None in plans:
        return plans[None], "clinic"
    return [rule for rule in DEFAULT_RULES if get_registry().get(rule["questionnaire"]) is not None], "default"


@dataclass(frozen=True)
class _Slot:
    """One session's place in the course: its number among attended sessions and its day in the episode."""

    session: CareSession
    number: int
    day: int
    previous_day: int | None


def rule_due_at(rule: dict, slot: _Slot, *, has_goals: bool) -> bool:
    """Whether `rule` expects a measure at this session (hand-checkable: see the plan rules' docstring)."""
    if rule.get("requires_goals") and not has_goals:
        return False
    when = rule["when"]
    if "every_session" in when:
        return True
    if "sessions" in when:
        return slot.number in when["sessions"]
    if "every_n_sessions" in when:
        start = when.get("from", 1)
        return slot.number >= start and (slot.number - start) % when["every_n_sessions"] == 0
    days = when["every_n_days"]
    return slot.previous_day is None or slot.day // days > slot.previous_day // days


def measure_window(rule: dict, session: CareSession) -> tuple[datetime, datetime]:
    """When a measure for this session may be given: before the session up to its end (`session_start`),
    or from its start to `open_hours` after its end (`session_end`)."""
    start = session.scheduled_start
    end = start + timedelta(minutes=session.duration_minutes)
    hours = timedelta(hours=rule.get("open_hours", 24))
    if rule.get("position") == "session_end":
        return start, end + hours
    return start - hours, end


def episode_slots(episode: EpisodeOfCare, sessions: list[CareSession]) -> list[_Slot]:
    """Attended and booked sessions in order; a booked one gets the number it will have if attended."""
    slots: list[_Slot] = []
    attended = 0
    previous_day = None
    for session in sessions:
        if session.attendance not in LINKABLE_ATTENDANCE:
            continue
        day = (session.scheduled_start.date() - episode.start_date).days
        number = session.number or attended + 1
        slots.append(_Slot(session=session, number=number, day=day, previous_day=previous_day))
        if session.attendance == CareSession.Attendance.ATTENDED:
            attended += 1
            previous_day = day
    return slots


def expected_measures(
    slots: Sequence[_Slot], rules: Sequence[dict], *, has_goals: bool
) -> Iterator[tuple[_Slot, dict]]:
    """Every (attended session, rule) the plan expects a measure for: the denominator of completion."""
    for slot in slots:
        if slot.session.attendance != CareSession.Attendance.ATTENDED:
            continue
        for rule in rules:
            if rule_due_at(rule, slot, has_goals=has_goals):
                yield slot, rule


def client_due(*, client: TherapyClient, raters: Sequence[str] = ("client", "clinician"), now=None) -> dict:
    """The due list of the client's active (latest) episode; see the module docstring for the shape's meaning."""
    now = now or timezone.now()
    episode = (
        EpisodeOfCare.objects.filter(client=client, status=EpisodeOfCare.Status.ACTIVE)
        .order_by("-start_date", "-id").first()
    )
    body: dict = {"client": client.external_id, "episode": None, "plan": None, "session": None, "due": [],
                  "missed": [], "completion": {"expected": 0, "completed": 0, "rate": None}}
    if episode is None:
        return body
    rules, source = rules_in_force(clinic_id=episode.clinic_id, episode_id=episode.pk)
    rules = [rule for rule in rules if rule.get("rater", "client") in raters]
    sessions = list(episode.sessions.order_by("scheduled_start", "id"))
    done = set(
        Response.objects.filter(session__episode=episode).exclude(status=Response.Status.RETRACTED).values_list(
            "session_id", "questionnaire_version__questionnaire_id", "rater"
        )
    )
    has_goals = any(rule.get("requires_goals") for rule in rules) and Goal.objects.filter(
        client=client, status=Goal.Status.ACTIVE
    ).exists()
    body.update(episode=episode.pk, plan=source)
    slots = episode_slots(episode, sessions)
    expected = completed = 0
    for slot, rule in expected_measures(slots, rules, has_goals=has_goals):
        expected += 1
        if (slot.session.pk, rule["questionnaire"], rule.get("rater", "client")) in done:
            completed += 1
        elif measure_window(rule, slot.session)[1] < now:
            body["missed"].append({"session_id": slot.session.pk, "session": slot.number,
                                   "questionnaire": rule["questionnaire"], "rater": rule.get("rater", "client")})
    body["completion"] = {"expected": expected, "completed": completed,
                          "rate": round(completed / expected, 4) if expected else None}
    current = _current_or_next(slots, now)
    if current is None:
        return body
    body["session"] = {"id": current.session.pk, "number": current.number,
                       "scheduled_start": current.session.scheduled_start, "attendance": current.session.attendance}
    for rule in rules:
        if not rule_due_at(rule, current, has_goals=has_goals):
            continue
        opens, closes = measure_window(rule, current.session)
        rater = rule.get("rater", "client")
        status = (
            "done" if (current.session.pk, rule["questionnaire"], rater) in done
            else "upcoming" if now < opens else "open" if now <= closes else "missed"
        )
        body["due"].append({"questionnaire": rule["questionnaire"], "rater": rater,
                            "position": rule.get("position", "session_start"), "opens": opens, "closes": closes,
                            "status": status})
    return body


def _current_or_next(slots: list[_Slot], now: datetime) -> _Slot | None:
    """The session in progress (as responses are linked to it), else the next booked one."""
    earliest, latest = session_window(now)
    current = [slot for slot in slots if earliest <= slot.session.scheduled_start <= latest]
    if current:
        return current[-1]
    upcoming = [slot for slot in slots if slot.session.scheduled_start > now + SESSION_EARLY_START
                and slot.session.attendance == CareSession.Attendance.BOOKED]
    return upcoming[0] if upcoming else None


def client_form_offer(*, client: TherapyClient, offered: Sequence[str], now=None) -> dict:
    """What the client's form page offers: what is due now first, then (if the clinic allows) the rest.

    `offered`: the questionnaire ids the page may show (licensed, in the registry), in display order.
    Returns {"course": whether an active episode's plan applies, "session": number or None,
    "due": ids open now in plan order (the first is where the page starts), "done": ids done for this
    session, "upcoming": ids due later for this session, "others": further ids the page lists}.
    Without an active episode no plan applies and every offered questionnaire is listed, as before.
    """
    offered = list(offered)
    body = client_due(client=client, raters=("client",), now=now)
    if body["episode"] is None:
        return {"course": False, "session": None, "due": [], "done": [], "upcoming": [], "others": offered}
    by_status: dict[str, list[str]] = {"open": [], "done": [], "upcoming": []}
    for row in body["due"]:
        if row["questionnaire"] in offered and row["status"] in by_status:
            by_status[row["status"]].append(row["questionnaire"])
    allow_others = bool(ClinicCareSettings.objects.filter(clinic_id=client.clinic_id).values_list(
        "form_offers_other_instruments", flat=True).first())
    listed = {*by_status["open"], *by_status["done"], *by_status["upcoming"]}
    others = [one for one in offered if one not in listed] if allow_others else []
    return {"course": True, "session": body["session"]["number"] if body["session"] else None,
            "due": by_status["open"], "done": by_status["done"], "upcoming": by_status["upcoming"],
            "others": others}

"""Outcome and adherence of one episode of care, from its sessions and client-rated scores.

Rules (each instrument's values are declared and cited in its plugin):
- Which scores count: client-rated, scored responses linked to a session of the episode, each
  in its current version (`counted_scores`: a retracted response is out, an amended one counts
  with its latest answers). Rated on the instrument's current definition, since a version bump
  that changes only cut-offs leaves the totals' meaning unchanged.
- First and last score: the earliest and latest by session start (then authored time). A course
  counts only with scores from at least two sessions (NHS Talking Therapies' paired scores).
- Reliable improvement / deterioration: the change in the better / worse direction is at least the
  instrument's published reliable-change value (PHQ-9 6 and GAD-7 4, NHS Talking Therapies manual;
  CORE-10 6, Barkham et al. 2013; ORS 5, Miller & Duncan).
- Caseness at first: the first score on the clinical side of the instrument's cut-off (PHQ-9 >= 10,
  GAD-7 >= 8, CORE-10 >= 11, ORS < 25). Recovery: case at first, not case at last. Reliable
  recovery: recovery and reliable improvement (NHS Talking Therapies manual; Jacobson & Truax 1991).
- Adherence: attendance rate = attended ÷ (attended + did not attend + cancelled by the client);
  sessions the service cancelled, still booked or entered in error are left out, as they say
  nothing of the client's engagement. Planned ending: `completed`; unplanned: `dropped_out` or
  `declined`; `referred_on` and `other` are neither. Dropout: the `dropped_out` ending (a
  `disengaged` episode counts once a clinician confirms it by ending it as `dropped_out`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Count

from questionnaires.contract import Questionnaire
from questionnaires.models import CareSession, EpisodeOfCare, Response
from questionnaires.registry import get_registry
from questionnaires.scoring import compare, to_decimal
from questionnaires.selectors.metrics import counted_scores

OUTCOME_CONSTRUCTS = ("outcome", "symptom", "goals")
MIN_SCORED_SESSIONS = 2
PLANNED_ENDINGS = frozenset({EpisodeOfCare.EndReason.COMPLETED})
UNPLANNED_ENDINGS = frozenset({EpisodeOfCare.EndReason.DROPPED_OUT, EpisodeOfCare.EndReason.DECLINED})
RATE_ATTENDANCE = (
    CareSession.Attendance.ATTENDED, CareSession.Attendance.DID_NOT_ATTEND, CareSession.Attendance.CANCELLED_BY_CLIENT
)
"""The sessions the attendance rate is taken over: those the client kept or missed."""


@dataclass(frozen=True)
class OutcomeRule:
    """What an instrument declares for outcomes: direction, reliable-change value, clinical cut-off."""

    questionnaire_id: str
    title: str
    direction: str
    reliable_change: Decimal | None
    cutoff: Decimal | None
    comparison: str
    reference: str

    @classmethod
    def of(cls, definition: Questionnaire) -> OutcomeRule:
        return cls(
            questionnaire_id=definition.id,
            title=definition.title,
            direction=definition.direction,
            reliable_change=None if definition.reliable_change is None else to_decimal(definition.reliable_change),
            cutoff=None if definition.clinical_cutoff is None else to_decimal(definition.clinical_cutoff),
            comparison=definition.clinical_cutoff_comparison,
            reference=definition.reference,
        )


def outcome_rules() -> dict[str, OutcomeRule]:
    """The current client-rated outcome, symptom and goal instruments, by id."""
    return {
        definition.id: OutcomeRule.of(definition)
        for definition in get_registry().latest()
        if definition.respondent == "client" and definition.construct in OUTCOME_CONSTRUCTS
    }


@dataclass(frozen=True)
class Point:
    """One scored session on one instrument."""

    session_id: int
    session_number: int | None
    session_start: datetime
    authored_at: datetime
    total: Decimal


def instrument_outcome(rule: OutcomeRule, points: list[Point]) -> dict:
    """One instrument's outcome over an episode, from its points in any order.

    Shape: {"questionnaire", "scored_sessions", "counted", "first", "last", "change",
    "reliable_improvement", "reliable_deterioration", "case_at_first", "case_at_last", "recovered",
    "reliably_recovered", "reliable_change", "clinical_cutoff"}. Totals are floats; a flag is null
    where the instrument declares no rule for it or fewer than two sessions were scored.
    """
    ordered = sorted(points, key=lambda point: (point.session_start, point.authored_at))
    sessions = len({point.session_id for point in ordered})
    shaped: dict = {
        "questionnaire": rule.questionnaire_id,
        "scored_sessions": sessions,
        "counted": sessions >= MIN_SCORED_SESSIONS,
        "first": None, "first_session": None, "last": None, "last_session": None, "change": None,
        "reliable_improvement": None, "reliable_deterioration": None,
        "case_at_first": None, "case_at_last": None, "recovered": None, "reliably_recovered": None,
        "reliable_change": None if rule.reliable_change is None else float(rule.reliable_change),
        "clinical_cutoff": None if rule.cutoff is None else {"value": float(rule.cutoff), "case_when": rule.comparison},
    }
    if ordered:
        shaped.update(first=float(ordered[0].total), first_session=ordered[0].session_number)
    if not shaped["counted"]:
        return shaped
    first, last = ordered[0].total, ordered[-1].total
    improvement = (last - first) if rule.direction == "higher_is_better" else (first - last)
    shaped.update(last=float(last), last_session=ordered[-1].session_number, change=float(last - first))
    if rule.reliable_change is not None:
        shaped["reliable_improvement"] = improvement >= rule.reliable_change
        shaped["reliable_deterioration"] = -improvement >= rule.reliable_change
    if rule.cutoff is not None:
        case_first = compare(first, rule.comparison, rule.cutoff)
        case_last = compare(last, rule.comparison, rule.cutoff)
        shaped.update(case_at_first=case_first, case_at_last=case_last, recovered=case_first and not case_last)
        if rule.reliable_change is not None:
            shaped["reliably_recovered"] = shaped["recovered"] and shaped["reliable_improvement"]
    return shaped


def adherence(attendance_counts: dict[str, int], *, status: str, end_reason: str) -> dict:
    """Attendance and ending of one episode; `attendance_rate` is null when no session was kept or missed."""
    attended = attendance_counts.get(CareSession.Attendance.ATTENDED, 0)
    missed = attendance_counts.get(CareSession.Attendance.DID_NOT_ATTEND, 0)
    cancelled_by_client = attendance_counts.get(CareSession.Attendance.CANCELLED_BY_CLIENT, 0)
    denominator = attended + missed + cancelled_by_client
    finished = status == EpisodeOfCare.Status.FINISHED
    ending = None
    if finished:
        ending = "other"
        if end_reason in PLANNED_ENDINGS:
            ending = "planned"
        elif end_reason in UNPLANNED_ENDINGS:
            ending = "unplanned"
    return {
        "sessions_attended": attended,
        "sessions_did_not_attend": missed,
        "sessions_cancelled_by_client": cancelled_by_client,
        "sessions_cancelled_by_service": attendance_counts.get(CareSession.Attendance.CANCELLED_BY_SERVICE, 0),
        "attendance_rate": round(attended / denominator, 4) if denominator else None,
        "ending": ending,
        "end_reason": end_reason or None,
        "dropped_out": finished and end_reason == EpisodeOfCare.EndReason.DROPPED_OUT,
    }


@dataclass
class EpisodeFacts:
    """What the outcome of one episode is computed from."""

    episode_id: int
    clinic_id: int
    client_id: int
    primary_clinician_id: int | None
    status: str
    end_reason: str
    end_date: date | None
    attendance: dict[str, int]
    points: dict[str, list[Point]]


def episode_facts(
    episode_ids: Iterable[int], *, rules: dict[str, OutcomeRule] | None = None
) -> dict[int, EpisodeFacts]:
    """The facts of these episodes in three queries (episodes, attendance counts, scores)."""
    ids = list(episode_ids)
    rules = outcome_rules() if rules is None else rules
    facts: dict[int, EpisodeFacts] = {}
    for episode_id, clinic_id, client_id, clinician_id, status, end_reason, end_date in EpisodeOfCare.objects.filter(
        pk__in=ids
    ).values_list("pk", "clinic_id", "client_id", "primary_clinician_id", "status", "end_reason", "end_date"):
        facts[episode_id] = EpisodeFacts(
            episode_id, clinic_id, client_id, clinician_id, status, end_reason, end_date, {}, defaultdict(list)
        )
    if not facts:
        return facts
    for episode_id, attendance, count in (
        CareSession.objects.filter(episode_id__in=list(facts)).values_list("episode_id", "attendance")
        .annotate(count=Count("pk")).order_by()
    ):
        facts[episode_id].attendance[attendance] = count
    scores = counted_scores().filter(
        response__session__episode_id__in=list(facts),
        response__rater=Response.Rater.CLIENT,
        response__questionnaire_version__questionnaire_id__in=list(rules),
    ).values_list(
        "response__session__episode_id", "response__questionnaire_version__questionnaire_id", "response__session_id",
        "response__session__number", "response__session__scheduled_start", "response__authored_at", "total",
    )
    for episode_id, questionnaire_id, session_id, number, start, authored, total in scores:
        facts[episode_id].points[questionnaire_id].append(Point(session_id, number, start, authored, Decimal(total)))
    return facts


def episode_outcome(facts: EpisodeFacts, rules: dict[str, OutcomeRule]) -> dict:
    """Adherence and one outcome per instrument scored in the episode (see `instrument_outcome`)."""
    return {
        "episode": facts.episode_id,
        "status": facts.status,
        "end_date": facts.end_date.isoformat() if facts.end_date else None,
        "adherence": adherence(facts.attendance, status=facts.status, end_reason=facts.end_reason),
        "outcomes": [
            instrument_outcome(rules[questionnaire_id], points)
            for questionnaire_id, points in sorted(facts.points.items())
            if questionnaire_id in rules
        ],
    }


COUNTED_FIELDS = (
    "case_at_first", "recovered", "reliably_recovered", "reliable_improvement", "reliable_deterioration",
)
ADHERENCE_FIELDS = (
    "sessions_attended", "sessions_did_not_attend", "sessions_cancelled_by_client", "sessions_cancelled_by_service",
)


def rollup_contribution(outcome: dict) -> dict[str, dict[str, int]]:
    """What a finished episode adds to its rollup cells: {questionnaire_id or "" (adherence): {field: count}}.

    An active episode adds nothing; an instrument adds only where it counts (two or more scored sessions).
    """
    if outcome["status"] != EpisodeOfCare.Status.FINISHED:
        return {}
    kept = outcome["adherence"]
    cells: dict[str, dict[str, int]] = {
        "": {
            "episodes": 1,
            "dropped_out": int(kept["dropped_out"]),
            "planned_endings": int(kept["ending"] == "planned"),
            "unplanned_endings": int(kept["ending"] == "unplanned"),
            **{name: kept[name] for name in ADHERENCE_FIELDS},
        }
    }
    for instrument in outcome["outcomes"]:
        if instrument["counted"]:
            cells[instrument["questionnaire"]] = {
                "episodes": 1, **{name: int(bool(instrument[name])) for name in COUNTED_FIELDS}
            }
    return {key: {name: value for name, value in figures.items() if value} for key, figures in cells.items()}


def episode_outcome_get(*, episode: EpisodeOfCare) -> dict:
    """The outcome of one episode as the API serves it."""
    rules = outcome_rules()
    facts = episode_facts([episode.pk], rules=rules)[episode.pk]
    return episode_outcome(facts, rules)

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

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection
from django.db.models import Count

from questionnaires.contract import Questionnaire
from questionnaires.models import CareSession, EpisodeOfCare, QuestionnaireVersion, Response, Score
from questionnaires.registry import get_registry
from questionnaires.scoring import compare, to_decimal

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
class Summary:
    """One instrument's scores over one episode: first and last total (with their session numbers), sessions scored."""

    first: Decimal
    last: Decimal
    first_session: int | None
    last_session: int | None
    sessions: int


def instrument_outcome(rule: OutcomeRule, summary: Summary | None) -> dict:
    """One instrument's outcome over an episode.

    Shape: {"questionnaire", "scored_sessions", "counted", "first", "first_session", "last",
    "last_session", "change", "reliable_improvement", "reliable_deterioration", "case_at_first",
    "case_at_last", "recovered", "reliably_recovered", "reliable_change", "clinical_cutoff"}. Totals
    are floats; a flag is null where the instrument declares no rule for it or fewer than two
    sessions were scored.
    """
    sessions = summary.sessions if summary else 0
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
    if summary is None:
        return shaped
    shaped.update(first=float(summary.first), first_session=summary.first_session)
    if not shaped["counted"]:
        return shaped
    first, last = summary.first, summary.last
    improvement = (last - first) if rule.direction == "higher_is_better" else (first - last)
    shaped.update(last=float(last), last_session=summary.last_session, change=float(last - first))
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


SUMMARY_SQL = """
SELECT episode_id, questionnaire_id, MAX(session_rank),
       MAX(CASE WHEN rn_first = 1 THEN total END), MAX(CASE WHEN rn_first = 1 THEN number END),
       MAX(CASE WHEN rn_last = 1 THEN total END), MAX(CASE WHEN rn_last = 1 THEN number END)
FROM (
    SELECT s.episode_id AS episode_id, qv.questionnaire_id AS questionnaire_id, sc.total AS total,
           s.number AS number,
           ROW_NUMBER() OVER (PARTITION BY s.episode_id, qv.questionnaire_id
                              ORDER BY s.scheduled_start, r.authored_at, r.id) AS rn_first,
           ROW_NUMBER() OVER (PARTITION BY s.episode_id, qv.questionnaire_id
                              ORDER BY s.scheduled_start DESC, r.authored_at DESC, r.id DESC) AS rn_last,
           DENSE_RANK() OVER (PARTITION BY s.episode_id, qv.questionnaire_id ORDER BY r.session_id) AS session_rank
    FROM {score} sc
    JOIN {response} r ON r.id = sc.response_id
    JOIN {version} qv ON qv.id = r.questionnaire_version_id
    JOIN {session} s ON s.id = r.session_id
    WHERE r.status = %s AND r.rater = %s AND sc.plugin_version = qv.version AND {where}
) ranked
GROUP BY episode_id, questionnaire_id
"""


def score_summaries(
    *, questionnaire_ids: list[str], episode_ids: list[int] | None = None, clinic_ids: list[int] | None = None
) -> Iterator[tuple[int, str, Summary]]:
    """First and last counted client score and scored sessions per (episode, instrument), in one query.

    The rows are those of `counted_scores()` (scored, current version) that are client-rated and
    linked to a session; first and last by session start, then authored time. Window functions
    work alike on PostgreSQL and SQLite, so the full recompute and a single episode share this read.
    """
    if not questionnaire_ids or episode_ids == []:
        return
    conditions, params = [], [Response.Status.SCORED.value, Response.Rater.CLIENT.value]
    conditions.append(f"qv.questionnaire_id IN ({', '.join(['%s'] * len(questionnaire_ids))})")
    params.extend(questionnaire_ids)
    if episode_ids is not None:
        conditions.append(f"s.episode_id IN ({', '.join(['%s'] * len(episode_ids))})")
        params.extend(episode_ids)
    if clinic_ids is not None:
        conditions.append(f"r.clinic_id IN ({', '.join(['%s'] * len(clinic_ids))})")
        params.extend(clinic_ids)
    sql = SUMMARY_SQL.format(
        score=Score._meta.db_table, response=Response._meta.db_table, version=QuestionnaireVersion._meta.db_table,
        session=CareSession._meta.db_table, where=" AND ".join(conditions),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()  # one round of fetching: a row-by-row iteration cost seconds on a full recompute
    for episode_id, questionnaire_id, sessions, first, first_number, last, last_number in rows:
        yield episode_id, questionnaire_id, Summary(
            _decimal(first), _decimal(last), first_number, last_number, int(sessions)
        )


def _decimal(value) -> Decimal:
    # SQLite hands a NUMERIC column back as int or float: through str, 26.3 stays 26.3.
    return value if isinstance(value, Decimal) else Decimal(str(value))


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
    summaries: dict[str, Summary]


def episode_facts(
    episode_ids: Iterable[int] | None, *, rules: dict[str, OutcomeRule] | None = None,
    clinic_ids: Iterable[int] | None = None,
) -> dict[int, EpisodeFacts]:
    """The facts of these episodes (None: every episode, of `clinic_ids` if given) in three queries."""
    ids = None if episode_ids is None else list(episode_ids)
    clinics = None if clinic_ids is None else list(clinic_ids)
    rules = outcome_rules() if rules is None else rules
    facts: dict[int, EpisodeFacts] = {}
    episodes = EpisodeOfCare.objects.all()
    sessions = CareSession.objects.all()
    if ids is not None:
        episodes, sessions = episodes.filter(pk__in=ids), sessions.filter(episode_id__in=ids)
    if clinics is not None:
        episodes, sessions = episodes.filter(clinic_id__in=clinics), sessions.filter(clinic_id__in=clinics)
    for episode_id, clinic_id, client_id, clinician_id, status, end_reason, end_date in episodes.values_list(
        "pk", "clinic_id", "client_id", "primary_clinician_id", "status", "end_reason", "end_date"
    ).order_by():
        facts[episode_id] = EpisodeFacts(
            episode_id, clinic_id, client_id, clinician_id, status, end_reason, end_date, {}, {}
        )
    if not facts:
        return facts
    for episode_id, attendance, count in (
        sessions.values_list("episode_id", "attendance").annotate(count=Count("pk")).order_by()
    ):
        if episode_id in facts:
            facts[episode_id].attendance[attendance] = count
    for episode_id, questionnaire_id, summary in score_summaries(
        episode_ids=None if ids is None else list(facts), clinic_ids=clinics, questionnaire_ids=list(rules)
    ):
        if episode_id in facts:
            facts[episode_id].summaries[questionnaire_id] = summary
    return facts


def episode_outcome(facts: EpisodeFacts, rules: dict[str, OutcomeRule]) -> dict:
    """Adherence and one outcome per instrument scored in the episode (see `instrument_outcome`)."""
    return {
        "episode": facts.episode_id,
        "status": facts.status,
        "end_date": facts.end_date.isoformat() if facts.end_date else None,
        "adherence": adherence(facts.attendance, status=facts.status, end_reason=facts.end_reason),
        "outcomes": [
            instrument_outcome(rules[questionnaire_id], summary)
            for questionnaire_id, summary in sorted(facts.summaries.items())
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

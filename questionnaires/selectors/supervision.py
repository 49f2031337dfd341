"""Supervision feedback: one clinician's alliance and outcome figures beside the clinic's, each with n and a 95% CI.

Sessions are attributed to the clinician recorded on the response. Every figure is computed
from the scored responses themselves (not the rollups), so it can be checked by hand; a figure
resting on fewer than METRICS_MIN_CELL sessions or clients is suppressed (values null).
Intervals: Wilson for shares, Student's t for means (see `questionnaires.stats`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings

from questionnaires.change_rules import fixed_reliable_change, jacobson_truax
from questionnaires.contract import Questionnaire
from questionnaires.metric_cells import is_below_cutoff, month_start
from questionnaires.models import Alert, OutcomeRollup, Response
from questionnaires.registry import get_registry
from questionnaires.scoring import to_decimal
from questionnaires.selectors.alert_history import alert_settings, jacobson_truax_norms
from questionnaires.selectors.metrics import counted_scores
from questionnaires.stats import Interval, mean_interval, wilson_interval

EPISODE_FIGURES = (
    "episodes", "dropped_out", "planned_endings", "sessions_attended", "sessions_did_not_attend",
    "sessions_cancelled_by_client", "case_at_first", "recovered", "reliably_recovered", "reliable_improvement",
    "reliable_deterioration",
)


@dataclass(frozen=True)
class Session:
    response_id: object
    client_id: int
    clinician_id: int | None
    rater: str
    session_key: object
    authored_day: date
    total: Decimal


def _sessions(*, clinic_id: int, questionnaire_id: str, date_from: date | None, date_to: date | None) -> list[Session]:
    scores = counted_scores().filter(
        response__clinic_id=clinic_id, response__questionnaire_version__questionnaire_id=questionnaire_id
    )
    if date_from is not None:
        scores = scores.filter(response__authored_at__gte=datetime.combine(date_from, time.min, tzinfo=UTC))
    if date_to is not None:
        scores = scores.filter(
            response__authored_at__lt=datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=UTC)
        )
    rows = scores.values_list(
        "response_id", "response__client_id", "response__clinician_id", "response__rater",
        "response__session_number", "response__authored_at", "total",
    ).order_by("response__authored_at", "response_id")
    sessions = []
    for response_id, client_id, clinician_id, rater, number, authored_at, total in rows:
        day = authored_at.astimezone(UTC).date()
        key = number if number is not None else day
        sessions.append(Session(response_id, client_id, clinician_id, rater, key, day, Decimal(total)))
    return sessions


def _min_cell(min_cell: int | None) -> int:
    return settings.METRICS_MIN_CELL if min_cell is None else min_cell


def _interval(interval: Interval, digits: int) -> list[float | None]:
    return [None if interval.low is None else round(interval.low, digits),
            None if interval.high is None else round(interval.high, digits)]


def share_block(successes: int, n: int, *, min_cell: int) -> dict:
    """A proportion with its Wilson interval, or a suppressed block when n is below the minimum cell."""
    if n < min_cell:
        return {"n": None, "count": None, "share": None, "ci95": None, "suppressed": True}
    return {
        "n": n,
        "count": successes,
        "share": round(successes / n, 4),
        "ci95": _interval(wilson_interval(successes, n), 4),
        "suppressed": False,
    }


def mean_block(values: list[float], *, min_cell: int) -> dict:
    """A mean with SD and its t interval, or a suppressed block when n is below the minimum cell."""
    if len(values) < min_cell:
        return {"n": None, "mean": None, "sd": None, "ci95": None, "suppressed": True}
    mean, sd, interval = mean_interval(values)
    return {
        "n": len(values),
        "mean": None if mean is None else round(mean, 4),
        "sd": None if sd is None else round(sd, 4),
        "ci95": _interval(interval, 4),
        "suppressed": False,
    }


def _alliance(definition: Questionnaire, sessions: list[Session], kinds: dict, min_cell: int) -> dict:
    """Mean, monthly trend, share below cut-off and rupture/repair counts of client-rated sessions."""
    client_rated = [session for session in sessions if session.rater == Response.Rater.CLIENT]
    cutoff = (
        None if definition.clinical_cutoff is None
        else (to_decimal(definition.clinical_cutoff), definition.clinical_cutoff_comparison)
    )
    below = sum(1 for session in client_rated if is_below_cutoff(session.total, cutoff))
    ruptures = [kinds[session.response_id]["rupture"] for session in client_rated
                if "rupture" in kinds.get(session.response_id, {})]
    repairs = sum(1 for session in client_rated if "repair" in kinds.get(session.response_id, {}))
    repaired = sum(1 for details in ruptures if details.get("state") == "repaired")
    n = len(client_rated)
    return {
        "mean": mean_block([float(session.total) for session in client_rated], min_cell=min_cell),
        "below_cutoff": (
            share_block(below, n, min_cell=min_cell) if cutoff is not None
            else {"n": None, "count": None, "share": None, "ci95": None, "suppressed": False, "no_cutoff": True}
        ),
        "ruptures": share_block(len(ruptures), n, min_cell=min_cell),
        "repairs": {**share_block(repaired, len(ruptures), min_cell=min_cell),
                    "repair_alerts": repairs if n >= min_cell else None},
    }


def _trend(
    clinician_sessions: list[Session],
    clinic_sessions: list[Session],
    min_cell: int,
    *,
    viewer_clinician_id: int | None = None,
) -> list[dict]:
    months: dict[date, dict[str, list[Session]]] = defaultdict(lambda: {"clinician": [], "clinic": []})
    for side, sessions in (("clinician", clinician_sessions), ("clinic", clinic_sessions)):
        for session in sessions:
            if session.rater == Response.Rater.CLIENT:
                months[month_start(session.authored_day)][side].append(session)
    trend = []
    for start, values in sorted(months.items()):
        clinic_min_cell = min_cell
        if viewer_clinician_id is not None and remainder_isolates(
            values["clinic"], viewer_clinician_id=viewer_clinician_id, min_cell=min_cell
        ):
            clinic_min_cell = HIDDEN
        trend.append(
            {
                "month": start.isoformat(),
                "clinician": mean_block([float(s.total) for s in values["clinician"]], min_cell=min_cell),
                "clinic": mean_block([float(s.total) for s in values["clinic"]], min_cell=clinic_min_cell),
            }
        )
    return trend


HIDDEN = 2**62
"""A minimum cell no figure reaches: every block computed with it is suppressed."""


def remainder_isolates(sessions: list[Session], *, viewer_clinician_id: int, min_cell: int) -> bool:
    """Whether clinic figures minus the viewing clinician's own would expose someone else's.

    The remainder (everything not attributed to the viewer) must hold at least `min_cell` sessions
    from at least two contributors (other clinicians; unattributed sessions count as one), or a
    clinician could subtract their own figures from the clinic's and read a colleague's.
    """
    others = [session for session in sessions if session.clinician_id != viewer_clinician_id]
    if not others:
        return False  # the clinic's figures are the viewer's own
    contributors = {session.clinician_id for session in others}
    return len(others) < min_cell or len(contributors) < 2


def _rater_gap(sessions: list[Session], min_cell: int) -> dict:
    """Client minus clinician total over sessions both rated; the pair counts for the client-side clinician."""
    sides: dict[tuple, dict[str, Session]] = defaultdict(dict)
    for session in sessions:
        sides[(session.client_id, session.session_key)].setdefault(session.rater, session)
    gaps = [
        float(pair["client"].total - pair["clinician"].total)
        for pair in sides.values()
        if "client" in pair and "clinician" in pair
    ]
    return mean_block(gaps, min_cell=min_cell)


def _outcomes(definition: Questionnaire | None, sessions: list[Session], clinic_id: int, min_cell: int) -> dict:
    """Per client with a baseline and a later score: reliable improvement / deterioration, latest vs first.

    A client counts for the clinician on their latest outcome score. The rule is the one the alerts
    use: the clinic's Jacobson–Truax norms when set, else the instrument's fixed reliable-change value.
    """
    empty = {"questionnaire": None, "reliable_improvement": share_block(0, 0, min_cell=min_cell),
             "reliable_deterioration": share_block(0, 0, min_cell=min_cell)}
    if definition is None:
        return empty
    norms = jacobson_truax_norms(definition.id, alert_settings(clinic_ids=[clinic_id])[clinic_id])
    if norms is None and definition.reliable_change is None:
        return {**empty, "questionnaire": definition.id, "no_reliable_change_rule": True}
    by_client: dict[int, list[Session]] = defaultdict(list)
    for session in sessions:
        if session.rater == Response.Rater.CLIENT:
            by_client[session.client_id].append(session)
    improved = deteriorated = assessed = 0
    for series in by_client.values():
        if len(series) < 2:
            continue
        baseline, latest = series[0].total, series[-1].total
        if norms is not None:
            change = jacobson_truax(baseline, latest, norms=norms, direction=definition.direction)
        else:
            change = fixed_reliable_change(
                baseline, latest, reliable_change=to_decimal(definition.reliable_change),
                direction=definition.direction, clinical_cutoff=None, clinical_comparison="<",
            )
        assessed += 1
        improved += int(change.reliable_improvement)
        deteriorated += int(change.reliable_deterioration)
    return {
        "questionnaire": definition.id,
        "reliable_improvement": share_block(improved, assessed, min_cell=min_cell),
        "reliable_deterioration": share_block(deteriorated, assessed, min_cell=min_cell),
    }


def _latest_is(sessions: list[Session], clinician_id: int) -> list[Session]:
    """The outcome series of clients whose latest client-rated score was recorded with this clinician."""
    latest: dict[int, Session] = {}
    for session in sessions:
        if session.rater == Response.Rater.CLIENT:
            latest[session.client_id] = session
    mine = {client_id for client_id, session in latest.items() if session.clinician_id == clinician_id}
    return [session for session in sessions if session.client_id in mine]


def _alert_kinds(response_ids: list) -> dict:
    kinds: dict = defaultdict(dict)
    rows = Alert.objects.filter(
        response_id__in=response_ids, kind__in=("rupture", "repair"), withdrawn_at__isnull=True
    )
    for response_id, kind, details in rows.values_list("response_id", "kind", "details"):
        kinds[response_id][kind] = details or {}
    return kinds


def clinician_report(
    *,
    clinic_id: int,
    clinician,
    alliance_questionnaire: str,
    outcome_questionnaire: str | None,
    date_from: date | None = None,
    date_to: date | None = None,
    min_cell: int | None = None,
    viewer_is_clinician: bool = False,
) -> dict:
    """The clinician's figures and the clinic's, side by side; suppressed where n is below the minimum cell.

    `viewer_is_clinician`: the clinician reads their own report, so the clinic's figures are also
    suppressed wherever subtracting theirs would isolate others (see `remainder_isolates`).
    """
    smallest = _min_cell(min_cell)
    registry = get_registry()
    alliance = registry.get(alliance_questionnaire)
    outcome = registry.get(outcome_questionnaire) if outcome_questionnaire else None
    clinic_sessions = _sessions(
        clinic_id=clinic_id, questionnaire_id=alliance_questionnaire, date_from=date_from, date_to=date_to
    ) if alliance else []
    mine = [session for session in clinic_sessions if session.clinician_id == clinician.pk]
    kinds = _alert_kinds([session.response_id for session in clinic_sessions])
    outcome_sessions = _sessions(
        clinic_id=clinic_id, questionnaire_id=outcome.id, date_from=date_from, date_to=date_to
    ) if outcome else []
    report: dict = {
        "clinician": clinician.username,
        "alliance_questionnaire": alliance_questionnaire,
        "outcome_questionnaire": outcome.id if outcome else None,
        "from": date_from.isoformat() if date_from else None,
        "to": date_to.isoformat() if date_to else None,
        "min_cell": smallest,
        "confidence": "95%: Wilson score interval for shares, Student's t interval for means",
    }
    if alliance is None:
        report["clinician_figures"] = report["clinic_figures"] = None
        report["trend"] = []
        return report
    report["clinician_figures"] = {
        **_alliance(alliance, mine, kinds, smallest),
        "rater_gap": _rater_gap(mine, smallest),
        "outcomes": _outcomes(outcome, _latest_is(outcome_sessions, clinician.pk), clinic_id, smallest),
    }
    viewer = clinician.pk if viewer_is_clinician else None
    clinic_smallest = smallest
    if viewer is not None and (
        remainder_isolates(clinic_sessions, viewer_clinician_id=viewer, min_cell=smallest)
        or remainder_isolates(outcome_sessions, viewer_clinician_id=viewer, min_cell=smallest)
    ):
        clinic_smallest = HIDDEN
    report["clinic_figures"] = {
        **_alliance(alliance, clinic_sessions, kinds, clinic_smallest),
        "rater_gap": _rater_gap(clinic_sessions, clinic_smallest),
        "outcomes": _outcomes(outcome, outcome_sessions, clinic_id, clinic_smallest),
    }
    report["trend"] = _trend(mine, clinic_sessions, smallest, viewer_clinician_id=viewer)
    report["episodes"] = episode_blocks(
        clinic_id=clinic_id, clinician_id=clinician.pk, outcome_questionnaire=outcome.id if outcome else None,
        date_from=date_from, date_to=date_to, min_cell=smallest, viewer_clinician_id=viewer,
    )
    return report


def _episode_sums(rows, questionnaire_id: str) -> Counter:
    total: Counter = Counter()
    for row in rows:
        if row["questionnaire_id"] == questionnaire_id:
            total.update({name: row[name] for name in EPISODE_FIGURES})
    return total


def _episode_block(figures: Counter, outcome_questionnaire: str | None, outcome: Counter, min_cell: int) -> dict:
    kept_or_missed = (figures["sessions_attended"] + figures["sessions_did_not_attend"]
                      + figures["sessions_cancelled_by_client"])
    block = {
        "episodes": figures["episodes"] if figures["episodes"] >= min_cell else None,
        "dropout": share_block(figures["dropped_out"], figures["episodes"], min_cell=min_cell),
        "planned_ending": share_block(figures["planned_endings"], figures["episodes"], min_cell=min_cell),
        "attendance": share_block(figures["sessions_attended"], kept_or_missed,
                                  min_cell=min_cell if figures["episodes"] >= min_cell else HIDDEN),
        "outcome": None,
    }
    if outcome_questionnaire:
        block["outcome"] = {
            "questionnaire": outcome_questionnaire,
            "recovery": share_block(outcome["recovered"], outcome["case_at_first"], min_cell=min_cell),
            "reliable_recovery": share_block(outcome["reliably_recovered"], outcome["case_at_first"],
                                             min_cell=min_cell),
            "reliable_improvement": share_block(outcome["reliable_improvement"], outcome["episodes"],
                                                min_cell=min_cell),
            "reliable_deterioration": share_block(outcome["reliable_deterioration"], outcome["episodes"],
                                                  min_cell=min_cell),
        }
    return block


def episode_blocks(
    *, clinic_id: int, clinician_id: int, outcome_questionnaire: str | None, date_from: date | None,
    date_to: date | None, min_cell: int, viewer_clinician_id: int | None,
) -> dict:
    """Adherence and episode outcomes of the clinician's ended episodes (as primary clinician) beside the clinic's.

    Read from the outcome rollups (months of the episodes' end within from..to); each share with its
    Wilson interval, suppressed below `min_cell` episodes (see `selectors.outcome_rollups`). For a
    clinician reading their own report the clinic's figures are hidden where clinic minus theirs would
    leave fewer than `min_cell` episodes or a single colleague.
    """
    rows = OutcomeRollup.objects.filter(clinic_id=clinic_id, questionnaire_id__in=["", outcome_questionnaire or ""])
    if date_from is not None:
        rows = rows.filter(period_start__gte=month_start(date_from))
    if date_to is not None:
        rows = rows.filter(period_start__lte=date_to)
    fetched = list(rows.values("scope", "clinician_key", "questionnaire_id", *EPISODE_FIGURES))
    clinic = [row for row in fetched if row["scope"] == OutcomeRollup.Scope.CLINIC]
    own = [
        row for row in fetched
        if row["scope"] == OutcomeRollup.Scope.CLINICIAN and row["clinician_key"] == clinician_id
    ]
    clinic_min = min_cell
    if viewer_clinician_id is not None:
        clinic_total = _episode_sums(clinic, "")["episodes"]
        own_total = _episode_sums(own, "")["episodes"]
        colleagues = {row["clinician_key"] for row in fetched if row["scope"] == OutcomeRollup.Scope.CLINICIAN
                      and row["clinician_key"] != clinician_id and row["questionnaire_id"] == "" and row["episodes"]}
        unattributed = clinic_total - own_total - sum(
            _episode_sums([row for row in fetched if row["scope"] == OutcomeRollup.Scope.CLINICIAN
                           and row["clinician_key"] == key], "")["episodes"] for key in colleagues)
        contributors = len(colleagues) + int(unattributed > 0)
        remainder = clinic_total - own_total
        if remainder and (remainder < min_cell or contributors < 2):
            clinic_min = HIDDEN
    outcome_id = outcome_questionnaire or ""
    return {
        "definition": "Ended episodes by month of their end; see the README, 'Outcomes and adherence'.",
        "clinician": _episode_block(_episode_sums(own, ""), outcome_questionnaire,
                                    _episode_sums(own, outcome_id), min_cell),
        "clinic": _episode_block(_episode_sums(clinic, ""), outcome_questionnaire,
                                 _episode_sums(clinic, outcome_id), clinic_min),
    }

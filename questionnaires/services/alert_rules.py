"""Raising alerts when scores land: the plugin's own flags, and the rules that read the client's history.

History rules: rupture and repair (alliance instruments), reliable change against the client's
first score with recovery and clinical-range crossing (outcome and symptom instruments), and
the gap between a session's client and clinician alliance ratings. A batch reads everything
it needs in a fixed number of queries, whatever its size; each alert is stored once per
(response, kind), so a redelivered batch adds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID

from questionnaires.change_rules import (
    Change,
    Norms,
    RuptureParameters,
    fixed_reliable_change,
    jacobson_truax,
    oriented,
    repairs,
    rupture_at,
)
from questionnaires.contract import Questionnaire
from questionnaires.models import Alert, ClinicAlertSettings, alert_session_key
from questionnaires.models import Score as ScoreRow
from questionnaires.registry import get_registry
from questionnaires.scoring import compare, to_decimal
from questionnaires.selectors.alert_history import (
    HistoryPoint,
    alert_settings,
    client_histories,
    clinic_sds,
    jacobson_truax_norms,
    rupture_alerts,
)
from questionnaires.selectors.alerts import NOTE_KINDS
from questionnaires.services.goal_alerts import goal_alerts_draft
from questionnaires.services.not_on_track import not_on_track_alerts_draft
from questionnaires.services.scored_responses import ScoredResponse
from questionnaires.sql_arrays import uuids_in

HISTORY_CONSTRUCTS = ("alliance", "outcome", "symptom")
DEFAULT_RATER_GAP_FRACTION = Decimal("0.25")
"""Without a clinic threshold, a client–clinician gap of a quarter of the instrument's range raises `rater_gap`."""

PRIORITY = {
    "risk": Alert.Priority.HIGH,
    "rupture": Alert.Priority.NORMAL,
    "repair": Alert.Priority.LOW,
    "reliable_improvement": Alert.Priority.LOW,
    "reliable_deterioration": Alert.Priority.NORMAL,
    "recovered": Alert.Priority.LOW,
    "clinical_range_entry": Alert.Priority.NORMAL,
    "clinical_range_exit": Alert.Priority.LOW,
    "rater_gap": Alert.Priority.NORMAL,
}


@dataclass(frozen=True)
class RaisedAlerts:
    """The alerts of a scored batch, and the history-based flags each response's score gains."""

    alerts: list[Alert]
    history_flags: dict[UUID, tuple[str, ...]] = field(default_factory=dict)


STATE_FLAGS = ("rupture", "repair", "reliable_improvement", "reliable_deterioration", "recovered")
"""History-based results that also belong on the score's `flags`, as instruments.md lists them."""


def alerts_raise(*, scored: Sequence[ScoredResponse]) -> RaisedAlerts:
    """Store the alerts of a freshly scored batch, add the history flags to its scores,
    and return every alert of its responses."""
    if not scored:
        return RaisedAlerts(alerts=[])
    drafts: list[Alert] = []
    for item in scored:
        drafts.extend(_flag_alerts(item))
    drafts.extend(goal_alerts_draft(scored=scored))
    drafts.extend(not_on_track_alerts_draft(scored=scored))
    history_flags: dict[UUID, tuple[str, ...]] = {}
    with_history = [item for item in scored if item.definition.construct in HISTORY_CONSTRUCTS]
    if with_history:
        history_drafts, history_flags = _history_alerts(with_history)
        drafts.extend(history_drafts)
        _store_history_flags(with_history, history_flags)
    if not drafts:
        # A response is scored (and alerted on) once: what is being scored now has no alerts from before.
        return RaisedAlerts(alerts=[], history_flags=history_flags)
    Alert.objects.bulk_create(drafts, ignore_conflicts=True)
    response_ids = [item.response.id for item in scored]
    # Without the client: the webhook outbox looks up the batch's client ids once, when it has subscribers.
    alerts = list(
        Alert.objects.filter(response_id__in=uuids_in(response_ids), withdrawn_at__isnull=True).order_by("id")
    )
    return RaisedAlerts(alerts=alerts, history_flags=history_flags)


def _store_history_flags(items: Sequence[ScoredResponse], history_flags: dict[UUID, tuple[str, ...]]) -> None:
    """One UPDATE per distinct (plugin version, flags) combination, not one per response."""
    groups: dict[tuple[str, tuple[str, ...]], list[UUID]] = {}
    for item in items:
        extra = history_flags.get(item.response.id)
        if extra:
            merged = tuple(dict.fromkeys((*item.score.flags, *extra)))
            groups.setdefault((item.definition.version, merged), []).append(item.response.id)
    for (plugin_version, flags), response_ids in groups.items():
        ScoreRow.objects.filter(response_id__in=uuids_in(response_ids), plugin_version=plugin_version).update(
            flags=list(flags)
        )


def _draft(item: ScoredResponse, kind: str, message: str, details: dict, priority: str | None = None) -> Alert:
    response = item.response
    note = kind in NOTE_KINDS
    return Alert(
        clinic_id=response.clinic_id,
        client_id=response.client_id,
        response_id=response.id,
        questionnaire_id=item.definition.id,
        kind=kind,
        category=Alert.Category.NOTE if note else Alert.Category.ALERT,
        priority=Alert.Priority.LOW if note else PRIORITY.get(kind, priority or Alert.Priority.NORMAL),
        message=message,
        details=details,
        session_key=alert_session_key(response),
    )


def shown(value: Decimal | str, definition: Questionnaire) -> str:
    """A number as the instrument reports it: its declared decimals, else as fine as its answers go.

    Totals come back from the database with four decimal places ("12.0000") and derived levels
    carry more ("37.5316"); a clinician reads "12" and "37.5". Without declared decimals the
    precision is that of the finest item step or option value (SRS marks: 0.1; PHQ-9: whole).
    """
    number = to_decimal(value)
    decimals = definition.scoring.decimals
    if decimals is None:
        decimals = max((_places(step) for step in _steps(definition)), default=0)
    rounded = number.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return f"{rounded.normalize():f}" if rounded else "0"


def _steps(definition: Questionnaire):
    for item in definition.items:
        if item.step is not None:
            yield to_decimal(item.step)
        for option in item.options:
            yield to_decimal(option.value)


def _places(number: Decimal) -> int:
    exponent = number.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _flag_alerts(item: ScoredResponse) -> list[Alert]:
    """One alert per flag the plugin raised on a rating its rule listens to (`AlertRule.raters`);
    `risk` is always raised, and always high priority, whatever the plugin says."""
    rules = {rule.flag: rule for rule in item.definition.alert_rules}
    alerts = []
    for flag in item.score.flags:
        rule = rules.get(flag)
        if flag != "risk" and rule is not None and item.response.rater not in rule.raters:
            continue  # e.g. the clinician's own low SRS: it feeds the rater gap, not "talk about the alliance"
        details: dict = {"total": str(item.score.total)}
        if rule is not None and rule.on == "any_item":
            details["items"] = _items_hit(item, rule.items, rule.comparison, rule.threshold)
        message = (rule.description if rule and rule.description else "") or f"{item.definition.title}: {flag}"
        alerts.append(_draft(item, flag, message, details, priority=rule.priority if rule else None))
    return alerts


def _items_hit(item: ScoredResponse, link_ids: tuple[str, ...], comparison: str, threshold: Decimal) -> dict:
    answers = item.response.answers or {}
    candidates = link_ids or tuple(i.link_id for i in item.definition.items if i.scored)
    hit = {}
    for link_id in candidates:
        value = answers.get(link_id)
        if value is not None and compare(value, comparison, threshold):  # type: ignore[arg-type]
            hit[link_id] = value
    return hit


def _history_alerts(items: Sequence[ScoredResponse]) -> tuple[list[Alert], dict[UUID, tuple[str, ...]]]:
    client_ids = {item.response.client_id for item in items}
    clinic_ids = {item.response.clinic_id for item in items}
    registry = get_registry()
    alliance_ids = {item.definition.id for item in items if item.definition.construct == "alliance"}
    partners = {questionnaire_id: registry.rating_partner(questionnaire_id) for questionnaire_id in alliance_ids}
    questionnaire_ids = {item.definition.id for item in items} | {partner for partner in partners.values() if partner}
    histories = client_histories(client_ids=client_ids, questionnaire_ids=questionnaire_ids)
    settings = alert_settings(clinic_ids=clinic_ids)
    sds = clinic_sds(clinic_ids=clinic_ids, questionnaire_ids=alliance_ids) if alliance_ids else {}
    stored_ruptures = rupture_alerts(client_ids=client_ids, questionnaire_ids=alliance_ids) if alliance_ids else {}
    batch_ids = {item.response.id for item in items}
    context = _Context(histories, settings, sds, stored_ruptures, batch_ids, partners)
    for item in sorted(items, key=lambda item: (item.response.authored_at, str(item.response.id))):
        context.evaluate(item)
    if context.changed_ruptures:
        Alert.objects.bulk_update(list(context.changed_ruptures.values()), ["details"])
    return context.drafts, {response_id: tuple(flags) for response_id, flags in context.state_flags.items()}


class _Context:
    """The batch's loaded history and the alerts drafted so far (a rupture may be repaired in the same batch)."""

    def __init__(self, histories, settings, sds, stored_ruptures, batch_ids, partners) -> None:
        self.histories: dict[tuple[int, str, str], list[HistoryPoint]] = histories
        self.settings: dict[int, ClinicAlertSettings] = settings
        self.sds = sds
        self.ruptures: dict[UUID, Alert] = dict(stored_ruptures)
        self.batch_ids = batch_ids
        self.drafts: list[Alert] = []
        self.changed_ruptures: dict[UUID, Alert] = {}
        self.state_flags: dict[UUID, list[str]] = {}
        self.partners: dict[str, str | None] = partners
        """Each alliance instrument's declared other-side questionnaire (`rated_with`), if any."""

    def _mark(self, item: ScoredResponse, flag: str) -> None:
        flags = self.state_flags.setdefault(item.response.id, [])
        if flag not in flags:
            flags.append(flag)

    def evaluate(self, item: ScoredResponse) -> None:
        response, definition = item.response, item.definition
        series = self.histories.get((response.client_id, definition.id, response.rater), [])
        position = next((i for i, point in enumerate(series) if point.response_id == response.id), None)
        if position is None:
            return
        totals = [point.total for point in series]
        settings = self.settings[response.clinic_id]
        if definition.construct == "alliance":
            if response.rater == "client":  # rupture and repair are the client's experience of the alliance
                self._rupture(item, series, totals, position, settings)
                self._repair(item, series, totals, position, settings)
            self._rater_gap(item, series[position], settings)
        else:
            self._change(item, series, totals, position, settings)

    # --- alliance ---------------------------------------------------------------------------

    def _parameters(self, settings: ClinicAlertSettings) -> RuptureParameters:
        return RuptureParameters(
            k=to_decimal(settings.rupture_k),
            min_earlier_sessions=settings.rupture_min_earlier_sessions,
            repair_window=settings.repair_window_sessions,
            repair_fraction=to_decimal(settings.repair_fraction),
        )

    def _population_sd(self, item: ScoredResponse, settings: ClinicAlertSettings) -> Decimal | None:
        """The clinic's own SD once it has enough scores, else the configured fallback, else None."""
        response = item.response
        n, sd = self.sds.get((response.clinic_id, item.definition.id, response.rater), (0, None))
        if sd and n >= settings.clinic_sd_min_n:
            return sd
        fallback = (settings.population_sd or {}).get(item.definition.id)
        return to_decimal(fallback) if fallback is not None else None

    def _rupture(self, item, series, totals, position, settings) -> None:
        details = rupture_at(
            totals,
            position,
            parameters=self._parameters(settings),
            population_sd=self._population_sd(item, settings),
            direction=item.definition.direction,
        )
        if details is None:
            return
        details["state"] = "open"
        details["previous_response"] = str(series[position - 1].response_id)
        alert = _draft(
            item,
            "rupture",
            f"{item.definition.title}: dropped from {shown(details['previous'], item.definition)} to "
            f"{shown(details['current'], item.definition)} (at least {shown(details['k'], item.definition)} SD); "
            "a possible alliance rupture.",
            details,
        )
        self.drafts.append(alert)
        self._mark(item, "rupture")
        self.ruptures[item.response.id] = alert

    def _repair(self, item, series, totals, position, settings) -> None:
        """Close ruptures of the last `repair_window` sessions: repaired now, or unrepaired when the window ends."""
        window = settings.repair_window_sessions
        direction = item.definition.direction
        for start in range(max(1, position - window), position):
            rupture = self.ruptures.get(series[start].response_id)
            if rupture is None or rupture.details.get("state") != "open":
                continue
            level = to_decimal(rupture.details["repair_level"])
            if any(repairs(totals[later], level, direction) for later in range(start + 1, position)):
                continue  # repaired earlier; that session carries the repair alert
            if repairs(totals[position], level, direction):
                self.drafts.append(
                    _draft(
                        item,
                        "repair",
                        f"{item.definition.title}: back to {shown(totals[position], item.definition)} "
                        f"(repair level {shown(level, item.definition)}) "
                        f"{position - start} session(s) after a rupture.",
                        {
                            "rupture_response": str(series[start].response_id),
                            "repair_level": str(level),
                            "sessions_after": position - start,
                            "total": str(totals[position]),
                        },
                    )
                )
                self._mark(item, "repair")
                self._set_state(rupture, "repaired", item.response.id)
            elif position - start >= window:
                self._set_state(rupture, "unrepaired", item.response.id)

    def _set_state(self, rupture: Alert, state: str, by: UUID) -> None:
        rupture.details = {**rupture.details, "state": state, "state_set_by": str(by)}
        if rupture.pk is not None:  # a rupture drafted in this batch takes its new details with the insert
            self.changed_ruptures[rupture.response_id] = rupture

    def _rater_gap(self, item: ScoredResponse, point: HistoryPoint, settings: ClinicAlertSettings) -> None:
        """Compare a session's client and clinician ratings; raised once, on the later-scored of the two.

        The other side's rating is on the same instrument or, failing that, on its declared partner.
        """
        response, definition = item.response, item.definition
        other = "clinician" if response.rater == "client" else "client"
        found = next(
            (
                (questionnaire_id, p)
                for questionnaire_id in (definition.id, self.partners.get(definition.id))
                if questionnaire_id
                for p in self.histories.get((response.client_id, questionnaire_id, other), [])
                if p.session_key == point.session_key
            ),
            None,
        )
        if found is None:
            return
        counterpart_questionnaire, counterpart = found
        if counterpart.response_id in self.batch_ids and response.rater == "client":
            return  # both in this batch: the clinician's rating carries the alert
        client_total, clinician_total = (
            (point.total, counterpart.total) if response.rater == "client" else (counterpart.total, point.total)
        )
        gap = client_total - clinician_total
        threshold = rater_gap_threshold(definition, settings)
        if abs(gap) < threshold:
            return
        self.drafts.append(
            _draft(
                item,
                "rater_gap",
                f"{definition.title}: client rated {shown(client_total, definition)}, clinician "
                f"{shown(clinician_total, definition)} (gap {shown(gap, definition)}, "
                f"threshold {shown(threshold, definition)}).",
                {
                    "client_total": str(client_total),
                    "clinician_total": str(clinician_total),
                    "gap": str(gap),
                    "threshold": str(threshold),
                    "counterpart_response": str(counterpart.response_id),
                    "counterpart_questionnaire": counterpart_questionnaire,
                },
            )
        )

    # --- outcome and symptom ------------------------------------------------------------------

    def _change(self, item: ScoredResponse, series, totals: list[Decimal], position: int, settings) -> None:
        """Reliable change against the intake score: a flag on every session that shows it, an
        alert only at the session where it begins (so a client who stays improved is not re-alerted)."""
        if position == 0:
            return  # the intake score is the baseline itself
        definition = item.definition
        norms = jacobson_truax_norms(definition.id, settings)
        change = _change_since_intake(definition, totals[0], totals[position], norms)
        if change is not None:
            before = _change_since_intake(definition, totals[0], totals[position - 1], norms) if position > 1 else None
            details = {**change.details, "baseline_response": str(series[0].response_id)}
            for kind, holds in (
                ("reliable_improvement", change.reliable_improvement),
                ("reliable_deterioration", change.reliable_deterioration),
                ("recovered", change.recovered),
            ):
                if not holds:
                    continue
                self._mark(item, kind)
                if before is not None and getattr(before, kind):
                    continue  # already so at the previous session: flagged, not alerted again
                message = (
                    f"{definition.title}: reliable improvement and out of the clinical range since intake (recovered)."
                    if kind == "recovered"
                    else _change_message(definition, change)
                )
                self.drafts.append(_draft(item, kind, message, details))
        self._crossing(item, totals[position - 1], totals[position], norms)

    def _crossing(self, item: ScoredResponse, previous: Decimal, current: Decimal, norms: Norms | None) -> None:
        """Into or out of the clinical range since the session before."""
        definition = item.definition
        was, now = in_clinical_range(definition, previous, norms), in_clinical_range(definition, current, norms)
        if was is None or now is None or was == now:
            return
        kind = "clinical_range_entry" if now else "clinical_range_exit"
        where = "into" if now else "out of"
        self.drafts.append(
            _draft(
                item,
                kind,
                f"{definition.title}: moved {where} the clinical range "
                f"({shown(previous, definition)} → {shown(current, definition)}).",
                {"previous": str(previous), "current": str(current)},
            )
        )


def _change_since_intake(
    definition: Questionnaire, baseline: Decimal, current: Decimal, norms: Norms | None
) -> Change | None:
    """Jacobson-Truax where the clinic configured norms, else the instrument's fixed reliable-change value."""
    if norms is not None:
        return jacobson_truax(baseline, current, norms=norms, direction=definition.direction)
    if definition.reliable_change is None:
        return None
    return fixed_reliable_change(
        baseline,
        current,
        reliable_change=to_decimal(definition.reliable_change),
        direction=definition.direction,
        clinical_cutoff=None if definition.clinical_cutoff is None else to_decimal(definition.clinical_cutoff),
        clinical_comparison=definition.clinical_cutoff_comparison,
    )


def _change_message(definition: Questionnaire, change: Change) -> str:
    word = "improvement" if change.reliable_improvement else "deterioration"
    return (
        f"{definition.title}: reliable {word} since intake "
        f"({shown(change.details['baseline'], definition)} → {shown(change.details['current'], definition)}, "
        f"{change.details['method']})."
    )


def in_clinical_range(definition: Questionnaire, total: Decimal, norms: Norms | None) -> bool | None:
    """Whether a total is in the clinical range; None when the instrument has no cut-off."""
    if norms is not None:
        cutoff = (norms.s0 * norms.M1 + norms.s1 * norms.M0) / (norms.s0 + norms.s1)
        return not oriented(total - cutoff, definition.direction) > 0
    if definition.clinical_cutoff is None:
        return None
    return compare(total, definition.clinical_cutoff_comparison, definition.clinical_cutoff)


def rater_gap_threshold(definition: Questionnaire, settings: ClinicAlertSettings) -> Decimal:
    configured = (settings.rater_gap_threshold or {}).get(definition.id)
    if configured is not None:
        return to_decimal(configured)
    span = to_decimal(definition.scoring.total_max) - to_decimal(definition.scoring.total_min)
    return span * DEFAULT_RATER_GAP_FRACTION

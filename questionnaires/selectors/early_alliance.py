"""The early alliance of finished episodes against their dropout and reliable recovery, per clinic and clinician.

An association in routine data, never a cause: clients who rate the early alliance low may differ in
many ways from those who rate it high. Rules:
- Early alliance: the mean of the first three client-rated scores on the alliance instrument (fewer
  when the episode had fewer; an episode with none is left out), from session-linked, counted
  responses, in session order. Banded at the instrument's published cut-off: `low` on the concern
  side (SRS: below 36, Duncan, Miller et al. 2003), `adequate` otherwise. An alliance instrument
  without a published cut-off (WAI-SR, WAI-S, HAq-II) has no bands, so no table.
- Dropout: the episode ended `dropped_out`, over all ended episodes of the band.
- Reliable recovery: on the outcome instrument, case at the first score, not at the last, and a
  reliable improvement (see `selectors.episode_outcomes`), over the band's episodes that were cases
  at the first score with two or more scored sessions.
- Each rate has its numerator, n and a 95% Wilson interval (Wilson 1927). A cell (group × band)
  resting on fewer than METRICS_MIN_CELL episodes is suppressed; then, so neither band can be derived
  from a group's other figures, both bands of a group go when one does, and across clinicians a band's
  lone hidden cell takes the next-smallest with it (`selectors.metrics.suppress`), until nothing changes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model

from questionnaires.models import EpisodeOfCare, Response
from questionnaires.registry import get_registry
from questionnaires.scoring import compare, to_decimal
from questionnaires.selectors.episode_outcomes import episode_facts, instrument_outcome, outcome_rules
from questionnaires.selectors.metrics import counted_scores, suppress, suppress_remainders
from questionnaires.selectors.outcome_rollups import rate

BANDS = ("low", "adequate")
EARLY_SCORES = 3


class NoCutoff(ValueError):
    """The alliance instrument publishes no cut-off, so its early alliance cannot be banded."""


@dataclass
class BandFigures:
    episodes: int = 0
    dropped_out: int = 0
    cases: int = 0
    reliably_recovered: int = 0

    @property
    def n(self) -> int:
        return self.episodes


@dataclass
class BandCell:
    period_start: str  # the band: `suppress` groups cells by this attribute
    clinician_id: int | None
    figures: BandFigures = field(default_factory=BandFigures)
    suppressed: bool = False


def _early_means(episode_ids: list[int], alliance_id: str) -> dict[int, Decimal]:
    rows = (
        counted_scores()
        .filter(response__session__episode_id__in=episode_ids, response__rater=Response.Rater.CLIENT,
                response__questionnaire_version__questionnaire_id=alliance_id)
        .order_by("response__session__episode_id", "response__session__scheduled_start", "response__authored_at")
        .values_list("response__session__episode_id", "total")
    )
    early: dict[int, list[Decimal]] = defaultdict(list)
    for episode_id, total in rows:
        if len(early[episode_id]) < EARLY_SCORES:
            early[episode_id].append(Decimal(total))
    return {episode_id: sum(values, Decimal(0)) / len(values) for episode_id, values in early.items()}


def early_alliance_table(
    *,
    clinic_id: int,
    alliance_id: str,
    outcome_id: str,
    group_by: str,
    date_from: date | None = None,
    date_to: date | None = None,
    clinician_ids: list[int] | None = None,
    viewer_clinician_id: int | None = None,
    min_cell: int | None = None,
) -> dict:
    """{"alliance", "outcome", "cutoff", "groups": [{"clinician"?, "bands": {"low"|"adequate": {...}}}]}.

    Raises `NoCutoff` for an alliance instrument without a published cut-off, `LookupError` for an
    unknown instrument.
    """
    definition = get_registry().get(alliance_id)
    if definition is None or definition.construct != "alliance":
        raise LookupError(alliance_id)
    if definition.clinical_cutoff is None:
        raise NoCutoff(alliance_id)
    rules = outcome_rules()
    if outcome_id not in rules:
        raise LookupError(outcome_id)
    cutoff, comparison = to_decimal(definition.clinical_cutoff), definition.clinical_cutoff_comparison
    episodes = EpisodeOfCare.objects.filter(clinic_id=clinic_id, status=EpisodeOfCare.Status.FINISHED)
    if date_from is not None:
        episodes = episodes.filter(end_date__gte=date_from)
    if date_to is not None:
        episodes = episodes.filter(end_date__lte=date_to)
    ids = list(episodes.values_list("pk", flat=True))
    means = _early_means(ids, alliance_id)
    facts = episode_facts(list(means), rules={outcome_id: rules[outcome_id]})
    cells: dict[tuple[int | None, str], BandCell] = {}
    counts: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for episode_id, mean in means.items():
        fact = facts[episode_id]
        band = "low" if compare(mean, comparison, cutoff) else "adequate"
        outcome = instrument_outcome(rules[outcome_id], fact.summaries.get(outcome_id))
        counts[band][fact.primary_clinician_id or 0] += 1
        groups = [None] if group_by == "clinic" else ([fact.primary_clinician_id] if fact.primary_clinician_id else [])
        if group_by == "clinician":
            groups.append(None)  # the clinic cells: the totals complementary suppression protects against
        for group in groups:
            cell = cells.setdefault((group, band), BandCell(band, group))
            cell.figures.episodes += 1
            cell.figures.dropped_out += int(fact.end_reason == EpisodeOfCare.EndReason.DROPPED_OUT)
            if outcome["counted"] and outcome["case_at_first"]:
                cell.figures.cases += 1
                cell.figures.reliably_recovered += int(bool(outcome["reliably_recovered"]))
    min_cell = settings.METRICS_MIN_CELL if min_cell is None else min_cell
    _suppress(cells, group_by, min_cell)
    if viewer_clinician_id is not None and group_by == "clinic":
        # Clinic minus the viewer's own episodes must not isolate a colleague (as in `GET /metrics/`).
        clinic_cells = [cell for (group, _), cell in cells.items() if group is None]
        suppress_remainders(clinic_cells, {band: dict(by) for band, by in counts.items()},  # type: ignore[arg-type]
                            viewer_clinician_id=viewer_clinician_id, min_cell=min_cell)
        if any(cell.suppressed for cell in clinic_cells):
            for cell in clinic_cells:
                cell.suppressed = True
    usernames = dict(get_user_model().objects.filter(pk__in={key for key, _ in cells if key}).values_list(
        "pk", "username"))
    allowed = None if clinician_ids is None else set(clinician_ids)
    shaped: dict[int | None, dict] = {}
    for (group, band), cell in sorted(cells.items(), key=lambda item: (item[0][0] or 0, item[0][1])):
        if group_by == "clinician" and (group is None or (allowed is not None and group not in allowed)):
            continue
        entry = shaped.setdefault(group, {**({"clinician": usernames.get(group)} if group else {}), "bands": {}})
        figures = cell.figures
        entry["bands"][band] = {"suppressed": True} if cell.suppressed else {
            "suppressed": False,
            "episodes": figures.episodes,
            "dropout": rate(figures.dropped_out, figures.episodes),
            "reliable_recovery": rate(figures.reliably_recovered, figures.cases),
        }
    return {
        "alliance": alliance_id,
        "outcome": outcome_id,
        "cutoff": {"value": float(cutoff), "low_when": comparison},
        "early_scores": EARLY_SCORES,
        "wording": "An association in routine data, not a cause: clients differ in more than their early alliance.",
        "groups": list(shaped.values()),
    }


def _suppress(cells: dict[tuple[int | None, str], BandCell], group_by: str, min_cell: int) -> None:
    for cell in cells.values():
        cell.suppressed = cell.figures.n < min_cell
    changed = True
    while changed:
        changed = False
        by_group: dict[int | None, list[BandCell]] = defaultdict(list)
        for (group, _), cell in cells.items():
            by_group[group].append(cell)
        for group_cells in by_group.values():
            if any(cell.suppressed for cell in group_cells) and not all(cell.suppressed for cell in group_cells):
                for cell in group_cells:
                    changed |= not cell.suppressed
                    cell.suppressed = True
        if group_by == "clinician":
            clinician_cells = [cell for (group, _), cell in cells.items() if group is not None]
            before = sum(cell.suppressed for cell in clinician_cells)
            totals = {band: cells[(None, band)].figures for band in BANDS if (None, band) in cells}
            hidden_now = {id(cell) for cell in clinician_cells if cell.suppressed}
            suppress(clinician_cells, totals=totals, min_cell=min_cell)  # type: ignore[arg-type]
            for cell in clinician_cells:  # `suppress` recomputes primary suppression: keep what was hidden
                cell.suppressed = cell.suppressed or id(cell) in hidden_now
            changed |= sum(cell.suppressed for cell in clinician_cells) != before

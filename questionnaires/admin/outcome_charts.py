"""The dashboard's outcome charts: recovery and dropout per month, and the early alliance against both.

Drawn with `questionnaires.charts` from the same reads as `GET /outcomes/` and
`GET /outcomes/early-alliance/`, so suppressed cells are gaps here too; each point's label gives
its numerator, n and 95% Wilson interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.utils.safestring import SafeString

from questionnaires.charts import Point, Series, line_chart
from questionnaires.models import Clinic
from questionnaires.registry import get_registry
from questionnaires.selectors.early_alliance import early_alliance_table
from questionnaires.selectors.episode_outcomes import outcome_rules
from questionnaires.selectors.outcome_rollups import outcome_tables


@dataclass
class OutcomeChart:
    chart_id: str
    title: str
    svg: SafeString
    points: int
    note: str = ""


def _point(x: int, figure: dict, label: str, data: dict[str, str]) -> Point:
    low, high = figure["ci95"]
    text = (f"{label}: {figure['numerator']} of {figure['n']} ({100 * figure['rate']:.0f}%, "
            f"95% CI {100 * low:.0f}–{100 * high:.0f}%)")
    return Point(x=x, y=round(100 * figure["rate"], 1), label=text, data={**data, "n": str(figure["n"])})


def recovery_dropout_chart(*, clinic: Clinic, starts: list[date]) -> OutcomeChart:
    """Dropout and, per outcome instrument, recovery rate of the episodes ended each month."""
    rows = outcome_tables(clinic_id=clinic.pk, group_by="clinic", period="month", date_from=starts[0],
                          date_to=starts[-1])
    position = {start.isoformat(): index for index, start in enumerate(starts)}
    labels = [start.strftime("%b %y") for start in starts]
    dropout, recovery = [], {}
    for row in rows:
        x = position.get(row["period_start"])
        if x is None:
            continue
        adherence = row.get("adherence")
        if adherence and not adherence["suppressed"] and adherence["dropout"]["n"]:
            dropout.append(_point(x, adherence["dropout"], f"Dropout, {labels[x]}", {"period": row["period_start"]}))
        for questionnaire_id, figures in row["outcomes"].items():
            if not figures["suppressed"] and figures["recovery"]["n"]:
                recovery.setdefault(questionnaire_id, []).append(_point(
                    x, figures["recovery"], f"Recovery on {questionnaire_id}, {labels[x]}",
                    {"period": row["period_start"]},
                ))
    series = [Series(name="Dropout", key="dropout", points=tuple(dropout))] if dropout else []
    series += [Series(name=f"Recovery ({questionnaire_id})", key=f"recovery-{questionnaire_id}", points=tuple(points))
               for questionnaire_id, points in sorted(recovery.items())]
    svg = line_chart(
        chart_id="recovery-dropout",
        title="Recovery and dropout per month of the episodes' end",
        description=(
            f"Share of episodes ended in {clinic.name} each month that ended in dropout, and per outcome instrument "
            "the share of episodes that were cases at the first score and not at the last (recovery). Months with "
            "too few episodes are left out."
        ),
        x_labels=labels, series=series, y_min=0, y_max=100, y_label="% of episodes",
    )
    drawn = sum(len(one.points) for one in series)
    return OutcomeChart("recovery-dropout", "Recovery and dropout", svg, drawn)


def early_alliance_charts(*, clinic: Clinic) -> list[OutcomeChart]:
    """Per alliance instrument with a cut-off: dropout and reliable recovery by early-alliance band."""
    registry = get_registry()
    outcomes = sorted(outcome_rules())
    charts = []
    for definition in registry.latest():
        banded = definition.construct == "alliance" and definition.clinical_cutoff is not None
        if not banded or definition.respondent != "client":
            continue
        outcome_id = "ors" if "ors" in outcomes else (outcomes[0] if outcomes else None)
        if outcome_id is None:
            continue
        table = early_alliance_table(clinic_id=clinic.pk, alliance_id=definition.id, outcome_id=outcome_id,
                                     group_by="clinic")
        bands = table["groups"][0]["bands"] if table["groups"] else {}
        labels = ["Low early alliance", "Adequate early alliance"]
        dropout, recovered = [], []
        for x, band in enumerate(("low", "adequate")):
            figures = bands.get(band)
            if not figures or figures["suppressed"]:
                continue
            if figures["dropout"]["n"]:
                dropout.append(_point(x, figures["dropout"], f"Dropout, {labels[x]}", {"band": band}))
            if figures["reliable_recovery"]["n"]:
                recovered.append(_point(x, figures["reliable_recovery"], f"Reliable recovery ({outcome_id}), "
                                        f"{labels[x]}", {"band": band}))
        series = []
        if dropout:
            series.append(Series(name="Dropout", key="dropout", points=tuple(dropout)))
        if recovered:
            series.append(Series(name=f"Reliable recovery ({outcome_id})", key="reliable-recovery",
                                 points=tuple(recovered)))
        cutoff = table["cutoff"]
        svg = line_chart(
            chart_id=f"early-alliance-{definition.id}",
            title=f"Early alliance ({definition.id}) and how episodes ended",
            description=(
                f"Ended episodes of {clinic.name} grouped by the mean of their first three client {definition.id} "
                f"ratings (low: {cutoff['low_when']} {cutoff['value']:g}): share that dropped out and share "
                "reliably recovered. An association, not a cause."
            ),
            x_labels=labels, series=series, y_min=0, y_max=100, y_label="% of episodes",
        )
        charts.append(OutcomeChart(
            f"early-alliance-{definition.id}", f"Early alliance ({definition.id}) against dropout and recovery", svg,
            sum(len(one.points) for one in series),
            note="An association in routine data, not a cause. Bands with too few episodes are left out.",
        ))
    return charts

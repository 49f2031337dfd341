"""A therapy client's trajectory per instrument as charts, with their recent responses and alerts, for the admin."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.utils.safestring import SafeString

from questionnaires.change_curves import as_total, expected_improvement, lower_limit
from questionnaires.charts import ExpectedBand, Point, Series, focus_range, line_chart
from questionnaires.models import Alert, Response, TherapyClient
from questionnaires.registry import get_registry
from questionnaires.selectors.alerts import open_alerts, session_alerts
from questionnaires.selectors.expected_change import ChartOverlay, client_chart_overlays
from questionnaires.selectors.scores import latest_scores_for
from questionnaires.selectors.trajectories import client_trajectory

RECENT_LIMIT = 10
RATER_NAMES = {"client": "Client rating", "clinician": "Clinician rating"}


@dataclass
class TrajectoryChart:
    questionnaire_id: str
    title: str
    svg: SafeString
    points: int
    sessions: int


def _session_key(point: dict) -> tuple:
    """Ratings of one session share an x position: by session number, else by the day they were authored."""
    if point["session"] is not None:
        return ("session", point["session"])
    return ("day", point["authored"].date())


def _session_labels(keys: list[tuple]) -> list[str]:
    """Session numbers on the x-axis, never dates: a session without a number takes its place in the sequence."""
    return [str(value) if kind == "session" else str(index + 1) for index, (kind, value) in enumerate(keys)]


def client_trajectory_charts(*, client: TherapyClient) -> list[TrajectoryChart]:
    """One chart per questionnaire the client answered: totals by session, client and clinician series apart."""
    by_questionnaire: dict[str, list[dict]] = defaultdict(list)
    for point in client_trajectory(client=client):
        by_questionnaire[point["questionnaire"]].append(point)
    registry = get_registry()
    overlays = client_chart_overlays(client_id=client.pk, clinic_id=client.clinic_id) if by_questionnaire else {}
    charts = []
    for questionnaire_id in sorted(by_questionnaire):
        points = by_questionnaire[questionnaire_id]
        definition = registry.get(questionnaire_id, points[-1]["version"]) or registry.get(questionnaire_id)
        first_seen: dict[tuple, object] = {}
        for point in points:
            first_seen.setdefault(_session_key(point), point["authored"])
        keys = sorted(first_seen, key=lambda key: (first_seen[key], key[1] if key[0] == "session" else 0))
        position = {key: index for index, key in enumerate(keys)}
        labels = _session_labels(keys)
        title = definition.title if definition is not None else questionnaire_id
        series = []
        for rater in ("client", "clinician"):
            rated = [point for point in points if point["rater"] == rater]
            if not rated:
                continue
            chart_points = {}
            for point in rated:
                x = position[_session_key(point)]
                label = (
                    f"Session {labels[x]}, {point['authored']:%Y-%m-%d}, {RATER_NAMES[rater].lower()}: "
                    f"{point['total']:g}"
                    + (f" ({point['band']})" if point["band"] else "")
                    + (f"; alerts: {', '.join(point['alerts'])}" if point.get("alerts") else "")
                    + (f"; notes: {', '.join(point['notes'])}" if point.get("notes") else "")
                )
                # A repeated rating in one session: the later one is drawn (the table lists both).
                chart_points[x] = Point(
                    x=x,
                    y=float(point["total"]),
                    label=label,
                    data={
                        "response": str(point["response"]),
                        "session": "" if point["session"] is None else str(point["session"]),
                        "rater": rater,
                    },
                    alerts=tuple(point.get("alerts") or ()),
                    notes=tuple(point.get("notes") or ()),
                )
            series.append(Series(name=RATER_NAMES[rater], key=rater, points=tuple(chart_points.values())))
        low = float(definition.scoring.total_min) if definition is not None else 0.0
        high = float(definition.scoring.total_max) if definition is not None else max(p["total"] for p in points)
        cutoff = None
        if definition is not None and definition.clinical_cutoff is not None:
            cutoff = float(definition.clinical_cutoff)
        drawn = sum(len(one.points) for one in series)
        direction = "" if definition is None else definition.direction.replace("_", " ")
        overlay = overlays.get(questionnaire_id)
        expected = _expected_band(overlay, position, low, high) if overlay is not None else None
        shown = [point.y for one in series for point in one.points]
        shown += [value for _, *values in (expected.points if expected else ()) for value in values]
        y_min, y_max = focus_range(low, high, shown, cutoff)
        scale = f"scale {low:g}–{high:g}" + (f", axis {y_min:g}–{y_max:g}" if (y_min, y_max) != (low, high) else "")
        svg = line_chart(
            chart_id=f"trajectory-{questionnaire_id}",
            title=f"{title}: {client.external_id} by session",
            description=(
                f"Total score per session number ({direction}; {scale}); {drawn} ratings over {len(keys)} sessions"
                + (f"; dashed line at the clinical cut-off {cutoff:g}" if cutoff is not None else "")
                + "; amber triangles mark alerts, red diamonds risk, green checks notes (good news)"
                + (f"; {expected.name}, shaded down to the {expected.limit_name}" if expected else "")
                + "."
            ),
            x_labels=labels,
            series=series,
            y_min=y_min,
            y_max=y_max,
            y_label="Total",
            cutoff=cutoff,
            x_title="Session",
            scale_note=scale,
            expected=expected,
        )
        charts.append(
            TrajectoryChart(questionnaire_id=questionnaire_id, title=title, svg=svg, points=drawn, sessions=len(keys))
        )
    return charts


def _expected_band(overlay: ChartOverlay, position: dict[tuple, int], low: float, high: float) -> ExpectedBand | None:
    """The expected totals of the client's latest episode after its intake, at the x of each of its later sessions
    (up to the last session the curve covers), and the alarm limit; clipped to the instrument's range."""
    curve, series = overlay.curve, overlay.series
    points = []
    for point in series.later:
        x = position.get(("session", point.session_number))
        if x is None or point.session_number > curve.max_session:
            continue
        gain = expected_improvement(curve.intercept, curve.slope, point.session_number)
        expected = as_total(series.intake.total, gain, curve.direction)
        limit = as_total(
            series.intake.total,
            lower_limit(curve.intercept, curve.slope, curve.tolerance, point.session_number),
            curve.direction,
        )
        points.append((x, min(max(expected, low), high), min(max(limit, low), high)))
    if not points:
        return None
    source = "published norm" if curve.source == curve.Source.PUBLISHED else "clinic"
    return ExpectedBand(
        points=tuple(sorted(points)),
        name=f"expected ({source}, {curve.n_episodes} episodes, {curve.fitted_at:%Y-%m-%d})",
        limit_name="not-on-track limit",
        data={
            "band": curve.band,
            "n-episodes": str(curve.n_episodes),
            "fitted": curve.fitted_at.date().isoformat(),
            "source": curve.source,
        },
    )


def client_recent_responses(*, client: TherapyClient, limit: int = RECENT_LIMIT) -> list[dict]:
    responses = list(
        Response.objects.filter(client=client, clinic_id=client.clinic_id)
        .select_related("questionnaire_version", "clinician")
        .order_by("-authored_at")[:limit]
    )
    scores = latest_scores_for([response.id for response in responses])
    return [{"response": response, "score": scores.get(response.id)} for response in responses]


def client_recent_alerts(*, client: TherapyClient, limit: int = RECENT_LIMIT) -> dict:
    """The client's unresolved session alerts (one per session, with its reasons; risk on top) and recent notes.

    Withdrawn rows (of amended or retracted responses) are never shown.
    """
    live = Alert.objects.filter(client=client, clinic_id=client.clinic_id, withdrawn_at__isnull=True)
    live = live.select_related("client", "response")
    alerts = session_alerts(open_alerts(live))[:limit]
    notes = session_alerts(live.filter(category=Alert.Category.NOTE).order_by("-raised_at")[: limit * 3])[:limit]
    return {"alerts": alerts, "notes": notes}

"""What the alert rules read for a batch, each in one query: client histories, open ruptures, settings, clinic SDs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date
from decimal import Decimal
from typing import NamedTuple
from uuid import UUID

from django.db import connection
from django.db.models import F, Sum

from questionnaires.change_rules import Norms, sd_from_sums
from questionnaires.contract import ScoringError
from questionnaires.models import Alert, ClinicAlertSettings, MetricRollup, QuestionnaireVersion, Response, Score
from questionnaires.scoring import to_decimal
from questionnaires.sql_arrays import int_array, ints_in, quoted_table

SeriesKey = tuple[int, str, str]
"""(client id, questionnaire id, rater)."""


class HistoryPoint(NamedTuple):
    """A tuple rather than a dataclass: a batch builds thousands of them."""

    response_id: UUID
    session_number: int | None
    authored_on: date
    """The (UTC) day the response was authored."""
    total: Decimal

    @property
    def session_key(self) -> object:
        """The session a rating belongs to: its number, else the day it was authored."""
        return self.session_number if self.session_number is not None else self.authored_on


def client_histories(
    *, client_ids: Iterable[int], questionnaire_ids: Iterable[str]
) -> dict[SeriesKey, list[HistoryPoint]]:
    """Every scored total of these clients on these instruments, per rater, oldest first (by authored time, then id).

    A batch of 500 responses reads the whole history of up to 500 clients: on PostgreSQL one
    hand-written query, ordered there, with the day computed there (the session time zone is
    UTC, as the ORM's datetimes are), so no row pays for a datetime or a model-shaped tuple.
    """
    client_ids, questionnaire_ids = list(client_ids), list(questionnaire_ids)
    series: dict[SeriesKey, list[HistoryPoint]] = defaultdict(list)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_HISTORY_SQL, [int_array(client_ids), Response.Status.SCORED.value, questionnaire_ids])
            for client_id, questionnaire_id, rater, response_id, session, day, total in cursor.fetchall():
                series[(client_id, questionnaire_id, rater)].append(HistoryPoint(response_id, session, day, total))
        return dict(series)
    rows = (
        Score.objects.filter(
            response__client_id__in=client_ids,
            response__questionnaire_version__questionnaire_id__in=questionnaire_ids,
            response__status=Response.Status.SCORED,
            plugin_version=F("response__questionnaire_version__version"),
        )
        .values_list(
            "response_id",
            "response__client_id",
            "response__questionnaire_version__questionnaire_id",
            "response__rater",
            "response__session_number",
            "response__authored_at",
            "total",
        )
    )
    ordered = sorted(rows, key=lambda row: (row[5], str(row[0])))
    for response_id, client_id, questionnaire_id, rater, session, authored_at, total in ordered:
        day = authored_at.astimezone(UTC).date()
        series[(client_id, questionnaire_id, rater)].append(HistoryPoint(response_id, session, day, Decimal(total)))
    return dict(series)


# Driven from the batch's clients through the (client, version, authored_at) index: OFFSET 0 keeps the
# planner from flattening the per-client lookup into a scan of every scored response of the instrument,
# which it prefers whenever its statistics lag behind a freshly loaded table.
_HISTORY_SQL = f"""
    SELECT r.client_id, v.questionnaire_id, r.rater, r.id, r.session_number,
           (r.authored_at AT TIME ZONE 'UTC')::date, s.total
    FROM {quoted_table(QuestionnaireVersion)} v
    CROSS JOIN unnest(%s::bigint[]) AS c(id)
    JOIN LATERAL (
        SELECT r.id, r.client_id, r.rater, r.session_number, r.authored_at
        FROM {quoted_table(Response)} r
        WHERE r.client_id = c.id AND r.questionnaire_version_id = v.id AND r.status = %s
        OFFSET 0
    ) r ON true
    JOIN {quoted_table(Score)} s ON s.response_id = r.id AND s.plugin_version = v.version
    WHERE v.questionnaire_id = ANY(%s::varchar[])
    ORDER BY r.authored_at, r.id
"""


def rupture_alerts(*, client_ids: Iterable[int], questionnaire_ids: Iterable[str]) -> dict[UUID, Alert]:
    """The rupture alerts of these clients, by the response that raised them."""
    alerts = Alert.objects.filter(
        withdrawn_at__isnull=True,
        client_id__in=ints_in(client_ids), questionnaire_id__in=list(questionnaire_ids), kind="rupture"
    )
    return {alert.response_id: alert for alert in alerts if alert.response_id is not None}


def alert_settings(*, clinic_ids: Iterable[int]) -> dict[int, ClinicAlertSettings]:
    """Each clinic's settings; clinics without a row get an unsaved one holding the defaults."""
    ids = set(clinic_ids)
    found = {row.clinic_id: row for row in ClinicAlertSettings.objects.filter(clinic_id__in=ids)}
    return {clinic_id: found.get(clinic_id) or ClinicAlertSettings(clinic_id=clinic_id) for clinic_id in ids}


def jacobson_truax_norms(questionnaire_id: str, settings: ClinicAlertSettings) -> Norms | None:
    """The clinic's configured norms for an instrument; they take precedence over a fixed reliable-change value."""
    raw = (settings.jacobson_truax_norms or {}).get(questionnaire_id)
    if not raw:
        return None
    try:
        return Norms(**{name: to_decimal(raw[name]) for name in ("s1", "r", "M0", "s0", "M1")})
    except (KeyError, TypeError, ValueError, ArithmeticError, ScoringError):
        return None  # incomplete or non-numeric norms in the admin form: no Jacobson–Truax for this instrument


def clinic_sds(
    *, clinic_ids: Iterable[int], questionnaire_ids: Iterable[str]
) -> dict[tuple[int, str, str], tuple[int, Decimal | None]]:
    """(n, SD) of each clinic's totals per instrument and rater, from the monthly clinic rollups."""
    rows = (
        MetricRollup.objects.filter(
            clinic_id__in=list(clinic_ids),
            questionnaire_id__in=list(questionnaire_ids),
            scope=MetricRollup.Scope.CLINIC,
            period=MetricRollup.Period.MONTH,
        )
        .values("clinic_id", "questionnaire_id", "rater")
        .annotate(count=Sum("n"), total=Sum("total_sum"), squares=Sum("total_sum_squares"))
    )
    return {
        (row["clinic_id"], row["questionnaire_id"], row["rater"]): (
            row["count"],
            sd_from_sums(row["count"], Decimal(row["total"]), Decimal(row["squares"])),
        )
        for row in rows
    }

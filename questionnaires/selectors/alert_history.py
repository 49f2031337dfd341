"""What the alert rules read for a batch, each in one query: client histories, open ruptures, settings, clinic SDs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from django.db.models import F, Sum

from questionnaires.change_rules import sd_from_sums
from questionnaires.models import Alert, ClinicAlertSettings, MetricRollup, Response, Score

SeriesKey = tuple[int, str, str]
"""(client id, questionnaire id, rater)."""


@dataclass(frozen=True)
class HistoryPoint:
    response_id: UUID
    clinic_id: int
    session_number: int | None
    authored_at: datetime
    total: Decimal

    @property
    def session_key(self) -> object:
        """The session a rating belongs to: its number, else the day it was authored."""
        return self.session_number if self.session_number is not None else self.authored_at.date()


def client_histories(
    *, client_ids: Iterable[int], questionnaire_ids: Iterable[str]
) -> dict[SeriesKey, list[HistoryPoint]]:
    """Every scored total of these clients on these instruments, per rater, oldest first."""
    rows = (
        Score.objects.filter(
            response__client_id__in=list(client_ids),
            response__questionnaire_version__questionnaire_id__in=list(questionnaire_ids),
            response__status=Response.Status.SCORED,
            plugin_version=F("response__questionnaire_version__version"),
        )
        .values_list(
            "response_id",
            "response__clinic_id",
            "response__client_id",
            "response__questionnaire_version__questionnaire_id",
            "response__rater",
            "response__session_number",
            "response__authored_at",
            "total",
        )
    )
    series: dict[SeriesKey, list[HistoryPoint]] = defaultdict(list)
    for response_id, clinic_id, client_id, questionnaire_id, rater, session, authored_at, total in rows:
        series[(client_id, questionnaire_id, rater)].append(
            HistoryPoint(response_id, clinic_id, session, authored_at, Decimal(total))
        )
    for points in series.values():
        points.sort(key=lambda point: (point.authored_at, str(point.response_id)))
    return dict(series)


def rupture_alerts(*, client_ids: Iterable[int], questionnaire_ids: Iterable[str]) -> dict[UUID, Alert]:
    """The rupture alerts of these clients, by the response that raised them."""
    alerts = Alert.objects.filter(
        client_id__in=list(client_ids), questionnaire_id__in=list(questionnaire_ids), kind="rupture"
    )
    return {alert.response_id: alert for alert in alerts if alert.response_id is not None}


def alert_settings(*, clinic_ids: Iterable[int]) -> dict[int, ClinicAlertSettings]:
    """Each clinic's settings; clinics without a row get an unsaved one holding the defaults."""
    ids = set(clinic_ids)
    found = {row.clinic_id: row for row in ClinicAlertSettings.objects.filter(clinic_id__in=ids)}
    return {clinic_id: found.get(clinic_id) or ClinicAlertSettings(clinic_id=clinic_id) for clinic_id in ids}


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

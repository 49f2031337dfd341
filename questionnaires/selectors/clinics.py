"""Reading a clinic's own settings."""

from __future__ import annotations

import zoneinfo

from questionnaires.models import Clinic


def clinic_time_zone(*, clinic_id: int) -> zoneinfo.ZoneInfo:
    """The clinic's IANA time zone; UTC when unset or no longer known to this system's tz database."""
    name = Clinic.objects.filter(pk=clinic_id).values_list("time_zone", flat=True).first() or "UTC"
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")

"""Registering a clinic's foreign Questionnaire (a sender's own form), kept beside the plugins, never replacing one."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from questionnaires.models import ForeignQuestionnaire
from questionnaires.services.errors import Conflict


def foreign_questionnaire_register(
    *,
    clinic_id: int,
    url: str,
    version: str,
    questionnaire_id: str,
    resource: dict[str, Any],
    mapping: dict[str, Any],
    registered_by: str,
) -> tuple[ForeignQuestionnaire, bool]:
    """The stored form and whether it is new; the same `url|version` again with the same content is a replay.

    Raises Conflict when `url|version` is already registered with other content: responses already
    scored with the old weights keep their meaning, so a changed form needs a new version.
    """
    existing = ForeignQuestionnaire.objects.filter(clinic_id=clinic_id, url=url, version=version).first()
    if existing is not None:
        if existing.resource == resource:
            return existing, False
        raise Conflict(f"{url}|{version} is already registered with other content; register it under a new version")
    try:
        with transaction.atomic():
            stored = ForeignQuestionnaire.objects.create(
                clinic_id=clinic_id,
                url=url,
                version=version,
                questionnaire_id=questionnaire_id,
                resource=resource,
                mapping=mapping,
                registered_by=registered_by,
            )
    except IntegrityError:
        # A concurrent registration of the same canonical won; answer as a replay or a conflict.
        return foreign_questionnaire_register(
            clinic_id=clinic_id,
            url=url,
            version=version,
            questionnaire_id=questionnaire_id,
            resource=resource,
            mapping=mapping,
            registered_by=registered_by,
        )
    return stored, True

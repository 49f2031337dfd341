"""Reading a clinic's registered foreign Questionnaires; another clinic's are never found."""

from __future__ import annotations

from django.db.models import QuerySet

from questionnaires.models import ForeignQuestionnaire


def foreign_questionnaires_of(*, clinic_id: int) -> QuerySet[ForeignQuestionnaire]:
    return ForeignQuestionnaire.objects.filter(clinic_id=clinic_id).order_by("url", "version", "pk")


def foreign_questionnaire_find(*, clinic_id: int, url: str, version: str | None) -> ForeignQuestionnaire | None:
    """The form registered under `url|version`; without a version, the one registered last for `url`."""
    forms = ForeignQuestionnaire.objects.filter(clinic_id=clinic_id, url=url)
    if version:
        return forms.filter(version=version).first()
    return forms.order_by("-created_at", "-pk").first()


def foreign_questionnaire_get(*, clinic_id: int, foreign_id: int) -> ForeignQuestionnaire | None:
    return ForeignQuestionnaire.objects.filter(clinic_id=clinic_id, pk=foreign_id).first()

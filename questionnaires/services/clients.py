"""Creating therapy clients inside the caller's clinic."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from questionnaires.models import TherapyClient
from questionnaires.principals import Principal
from questionnaires.services.errors import Conflict, InvalidInput
from questionnaires.validation import Problem

EXTERNAL_ID_MAX_LENGTH = 128


def external_id_problem(value: object, field: str = "external_id") -> Problem | None:
    """Why a value cannot be an external_id: it appears in URLs, so no slashes or control characters."""
    if not isinstance(value, str):
        return Problem(field, "must be a string", "invalid_type")
    if not value or len(value) > EXTERNAL_ID_MAX_LENGTH:
        return Problem(field, f"must be 1 to {EXTERNAL_ID_MAX_LENGTH} characters", "invalid_length")
    if "/" in value or not value.isprintable() or value != value.strip():
        return Problem(
            field, "must not contain '/', control characters or leading/trailing spaces", "invalid_characters"
        )
    return None


def client_create(*, principal: Principal, external_id: str, clinician_usernames: Sequence[str] = ()) -> TherapyClient:
    """A new client; a clinician who creates one is put on its caseload, or they could not see it."""
    problems = [problem for problem in [external_id_problem(external_id)] if problem]
    usernames = list(dict.fromkeys(clinician_usernames))
    staff = {
        user.username: user
        for user in get_user_model().objects.filter(
            username__in=usernames, membership__clinic_id=principal.clinic_id, is_active=True
        )
    }
    for index, username in enumerate(clinician_usernames):
        if username not in staff:
            problems.append(Problem(f"clinicians.{index}", "no such clinician in this clinic", "unknown"))
    if problems:
        raise InvalidInput("The client cannot be created; see errors.", problems)
    clinicians = list(staff.values())
    if principal.kind == "clinician" and principal.user_id not in {user.pk for user in clinicians}:
        clinicians.append(principal.user)
    try:
        with transaction.atomic():
            client = TherapyClient.objects.create(clinic_id=principal.clinic_id, external_id=external_id)
            if clinicians:
                client.clinicians.add(*clinicians)
    except IntegrityError:
        raise Conflict(
            "A client with this external_id already exists in the clinic.",
            [Problem("external_id", "already exists", "duplicate")],
        ) from None
    return client

"""Defining a clinic's background categories and recording a client's value, only with their consent.

A value is sensitive: it is stored only when `consent` is true, withdrawing consent deletes it,
and nothing here returns it (the equity breakdown is its only reader).
"""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.utils import timezone

from questionnaires.models import BackgroundCategory, ClientBackground, TherapyClient
from questionnaires.principals import Principal
from questionnaires.services.errors import Conflict, InvalidInput
from questionnaires.validation import Problem

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
MAX_VALUES = 50
VALUE_MAX_LENGTH = 100


def background_category_create(*, clinic_id: int, name: object, title: object, values: object) -> BackgroundCategory:
    problems = []
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        problems.append(
            Problem("name", "a lower-case slug of at most 64 characters, e.g. preferred-language", "invalid")
        )
    if not isinstance(title, str) or len(title) > 200 or "\x00" in title:
        problems.append(Problem("title", "text of at most 200 characters", "invalid"))
    if (
        not isinstance(values, list) or not 1 <= len(values) <= MAX_VALUES
        or not all(isinstance(v, str) and v.strip() and len(v) <= VALUE_MAX_LENGTH and "\x00" not in v for v in values)
        or len(set(values)) != len(values)
    ):
        problems.append(
            Problem("values", f"1 to {MAX_VALUES} distinct non-empty strings of at most {VALUE_MAX_LENGTH} characters",
                    "invalid")
        )
    if problems:
        raise InvalidInput("The category is not valid; see errors.", problems)
    try:
        with transaction.atomic():
            return BackgroundCategory.objects.create(clinic_id=clinic_id, name=name, title=title, values=values)
    except IntegrityError:
        raise Conflict("The clinic already has a category of that name.",
                       [Problem("name", "already exists", "conflict")]) from None


def client_background_set(
    *, principal: Principal, client: TherapyClient, category: BackgroundCategory, value: object, consent: object
) -> bool:
    """Store the value with consent, or delete any stored value without it; True when a value is now stored."""
    if not isinstance(consent, bool):
        raise InvalidInput("Consent must be stated.", [Problem("consent", "true or false", "invalid_type")])
    if not consent:
        ClientBackground.objects.filter(client=client, category=category).delete()
        return False
    if not isinstance(value, str) or value not in category.values:
        raise InvalidInput(
            "The value is not on the category's list.", [Problem("value", "one of the category's values", "invalid")]
        )
    ClientBackground.objects.update_or_create(
        client=client,
        category=category,
        defaults={
            "value": value, "consent": True, "consented_at": timezone.now(), "recorded_by": principal.label[:100],
        },
    )
    return True

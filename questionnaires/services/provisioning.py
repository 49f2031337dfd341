"""Provisioning writes used by the operator commands: clinics, clinicians and clinic API keys."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction

from questionnaires.models import Clinic, ClinicAPIKey, StaffMembership
from questionnaires.services.audit import audit_record


class ProvisioningError(Exception):
    """A request an operator can fix: the message says what to change."""


def _field_limit(model, name: str) -> int:
    return model._meta.get_field(name).max_length


def clinic_get(*, slug: str) -> Clinic:
    try:
        return Clinic.objects.get(slug=slug)
    except Clinic.DoesNotExist:
        known = ", ".join(Clinic.objects.order_by("slug").values_list("slug", flat=True)[:20]) or "none yet"
        raise ProvisioningError(f"no clinic with slug {slug!r} (known: {known})") from None


def clinic_create(*, slug: str, name: str) -> Clinic:
    try:
        validate_slug(slug)
    except ValidationError:
        raise ProvisioningError(f"{slug!r} is not a valid slug: use letters, digits, hyphens and underscores") from None
    if len(slug) > _field_limit(Clinic, "slug"):
        raise ProvisioningError(f"slug is longer than {_field_limit(Clinic, 'slug')} characters")
    name = name.strip()
    if not name:
        raise ProvisioningError("the clinic needs a name")
    if len(name) > _field_limit(Clinic, "name"):
        raise ProvisioningError(f"name is longer than {_field_limit(Clinic, 'name')} characters")
    if Clinic.objects.filter(slug=slug).exists():
        raise ProvisioningError(f"a clinic with slug {slug!r} already exists")
    return Clinic.objects.create(slug=slug, name=name)


def clinic_api_key_create(*, clinic: Clinic, name: str, actor: str) -> tuple[ClinicAPIKey, str]:
    """Returns the stored key and the only copy of its plain value; the database keeps just a hash.

    `actor` names who issued it in the audit log (e.g. `command:<os user>`).
    """
    name = name.strip()
    if not name:
        raise ProvisioningError("the key needs a name")
    if len(name) > _field_limit(ClinicAPIKey, "name"):
        raise ProvisioningError(f"key name is longer than {_field_limit(ClinicAPIKey, 'name')} characters")
    with transaction.atomic():
        api_key, key = ClinicAPIKey.objects.create_key(name=name, clinic=clinic)
        audit_record(actor=actor, action="create", object_type="api_key", object_ids=[api_key.prefix],
                     clinic_id=clinic.pk, detail=f"key {name!r}")
    return api_key, key


def clinician_create(
    *, clinic: Clinic, username: str, password: str, actor: str, supervisor: bool = False
) -> StaffMembership:
    """A staff user with an API login but no Django admin access, bound to one clinic; audited as `actor`."""
    user_model = get_user_model()
    if not username:
        raise ProvisioningError("the username is empty")
    user = user_model(username=username)
    try:
        user_model._meta.get_field("username").run_validators(username)
    except ValidationError as error:
        raise ProvisioningError(f"invalid username {username!r}: {' '.join(error.messages)}") from None
    if user_model.objects.filter(username=username).exists():
        raise ProvisioningError(f"a user named {username!r} already exists")
    try:
        validate_password(password, user=user)
    except ValidationError as error:
        raise ProvisioningError(f"password rejected: {' '.join(error.messages)}") from None
    user.set_password(password)
    role = StaffMembership.Role.SUPERVISOR if supervisor else StaffMembership.Role.CLINICIAN
    with transaction.atomic():
        user.save()
        membership = StaffMembership.objects.create(user=user, clinic=clinic, role=role)
        audit_record(actor=actor, action="create", object_type="user", object_ids=[str(user.pk)],
                     clinic_id=clinic.pk, detail=f"{role} {username!r}")
    return membership


def command_actor() -> str:
    """How the audit log names an operator at the command line: the operating-system account, when known."""
    import getpass

    try:
        return f"command:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER (some containers)
        return "command"

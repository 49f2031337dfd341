"""The demo clinic for first-time users: people first (clinic, staff, clients, an admin), data on top of them."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction

from questionnaires.models import Clinic, StaffMembership, TherapyClient

DEMO_CLINIC_SLUG = "demo"
DEMO_CLINIC_NAME = "Demo Clinic"
DEMO_CLINICIANS = ("demo-clinician-1", "demo-clinician-2", "demo-clinician-3")
DEMO_SUPERVISOR = "demo-supervisor"
DEMO_STAFF_PASSWORD = "demo-password"
DEMO_ADMIN_USERNAME = "admin"
DEMO_ADMIN_PASSWORD = "admin"
DEMO_CLIENT_COUNT = 12


@dataclass
class DemoPeople:
    """What the demo consists of, and which parts this run created (empty on a re-run)."""

    clinic: Clinic
    clinicians: list = field(default_factory=list)
    supervisor: object = None
    admin: object = None
    clients: list[TherapyClient] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _user_get_or_create(*, username: str, password: str, superuser: bool, people: DemoPeople):
    """Creates the user with the demo password; an existing user is left exactly as it is."""
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    if user is not None:
        return user
    if superuser:
        user = user_model.objects.create_superuser(username=username, email="", password=password)
    else:
        user = user_model.objects.create_user(username=username, password=password)
    people.created.append(f"user {username}")
    return user


def _membership_ensure(*, user, clinic: Clinic, role: str, people: DemoPeople) -> None:
    membership = StaffMembership.objects.filter(user=user).select_related("clinic").first()
    if membership is None:
        StaffMembership.objects.create(user=user, clinic=clinic, role=role)
        people.created.append(f"{role} membership of {user.username}")
    elif membership.clinic_id != clinic.pk or membership.role != role:
        people.warnings.append(
            f"{user.username} already belongs to {membership.clinic.slug} as {membership.role}; left unchanged"
        )


@transaction.atomic
def demo_people_seed() -> DemoPeople:
    """The demo clinic with three clinicians, a supervisor, twelve clients and the `admin` superuser.

    Idempotent: anything that exists is kept as it is (passwords included), so a second run changes nothing.
    """
    clinic, clinic_created = Clinic.objects.get_or_create(slug=DEMO_CLINIC_SLUG, defaults={"name": DEMO_CLINIC_NAME})
    people = DemoPeople(clinic=clinic)
    if clinic_created:
        people.created.append(f"clinic {clinic.slug}")

    for username in DEMO_CLINICIANS:
        user = _user_get_or_create(username=username, password=DEMO_STAFF_PASSWORD, superuser=False, people=people)
        _membership_ensure(user=user, clinic=clinic, role=StaffMembership.Role.CLINICIAN, people=people)
        people.clinicians.append(user)
    people.supervisor = _user_get_or_create(
        username=DEMO_SUPERVISOR, password=DEMO_STAFF_PASSWORD, superuser=False, people=people
    )
    _membership_ensure(user=people.supervisor, clinic=clinic, role=StaffMembership.Role.SUPERVISOR, people=people)
    people.admin = _user_get_or_create(
        username=DEMO_ADMIN_USERNAME, password=DEMO_ADMIN_PASSWORD, superuser=True, people=people
    )
    if not people.admin.is_superuser:
        people.warnings.append(f"user {DEMO_ADMIN_USERNAME!r} exists but is not a superuser; left unchanged")

    for number in range(1, DEMO_CLIENT_COUNT + 1):
        client, client_created = TherapyClient.objects.get_or_create(clinic=clinic, external_id=f"DEMO-{number:03d}")
        if client_created:
            # Round-robin caseloads, assigned only on creation so later reassignments survive a re-run.
            client.clinicians.add(people.clinicians[(number - 1) % len(people.clinicians)])
            people.created.append(f"client {client.external_id}")
        people.clients.append(client)
    return people

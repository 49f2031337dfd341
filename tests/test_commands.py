"""The provisioning commands: create_clinic, create_api_key, create_clinician and seed_demo."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from questionnaires.models import Clinic, ClinicAPIKey, StaffMembership, TherapyClient


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Key and password hashing is deliberately slow; these tests are about the commands, not the hash."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def run(*args) -> str:
    stdout = StringIO()
    call_command(*args, stdout=stdout, stderr=StringIO())
    return stdout.getvalue()


def test_create_clinic_creates_it_with_slug_and_name(db):
    run("create_clinic", "east", "--name", "East Clinic")

    assert Clinic.objects.get(slug="east").name == "East Clinic"


def test_create_clinic_refuses_an_existing_slug_and_keeps_the_old_name(db):
    run("create_clinic", "east", "--name", "East Clinic")

    with pytest.raises(CommandError, match="already exists"):
        run("create_clinic", "east", "--name", "Another East")

    assert Clinic.objects.get(slug="east").name == "East Clinic"


def test_create_clinic_rejects_a_slug_that_is_not_a_slug(db):
    with pytest.raises(CommandError, match="not a valid slug"):
        run("create_clinic", "east side", "--name", "East")

    assert not Clinic.objects.exists()


def test_create_api_key_prints_a_working_key_as_the_last_line_and_stores_only_its_hash(north):
    output = run("create_api_key", "north", "ehr-integration")

    key = output.rstrip("\n").splitlines()[-1]
    stored = ClinicAPIKey.objects.get(name="ehr-integration")
    assert ClinicAPIKey.objects.is_valid(key)
    assert ClinicAPIKey.objects.get_from_key(key).clinic == north.clinic
    secret = key.partition(".")[2]
    assert secret not in stored.hashed_key
    assert secret not in stored.pk


def test_create_api_key_for_an_unknown_clinic_is_an_error(db):
    with pytest.raises(CommandError, match="no clinic with slug 'nowhere'"):
        run("create_api_key", "nowhere", "ehr")

    assert not ClinicAPIKey.objects.exists()


def test_create_api_key_rejects_a_name_longer_than_the_column(north):
    with pytest.raises(CommandError, match="longer than 50"):
        run("create_api_key", "north", "x" * 51)


@pytest.mark.parametrize(
    ("flags", "role"), [((), StaffMembership.Role.CLINICIAN), (("--supervisor",), StaffMembership.Role.SUPERVISOR)]
)
def test_create_clinician_creates_a_user_who_can_log_in_with_the_role(north, flags, role):
    run("create_clinician", "north", "nora", "--password", "a long password", *flags)

    user = get_user_model().objects.get(username="nora")
    assert user.check_password("a long password")
    assert not user.is_staff
    assert (user.membership.clinic, user.membership.role) == (north.clinic, role)


def test_create_clinician_refuses_an_existing_username(north):
    with pytest.raises(CommandError, match="already exists"):
        run("create_clinician", "north", "north-clinician", "--password", "a long password")


def test_create_clinician_for_an_unknown_clinic_is_an_error_and_creates_no_user(db):
    with pytest.raises(CommandError, match="no clinic"):
        run("create_clinician", "nowhere", "nora", "--password", "a long password")

    assert not get_user_model().objects.filter(username="nora").exists()


def test_create_clinician_rejects_a_too_short_password(north):
    with pytest.raises(CommandError, match="too short"):
        run("create_clinician", "north", "nora", "--password", "short")

    assert not get_user_model().objects.filter(username="nora").exists()


def test_create_clinician_requires_a_password(north):
    with pytest.raises(CommandError, match="--password"):
        run("create_clinician", "north", "nora")


def snapshot() -> dict:
    users = get_user_model().objects.order_by("username")
    return {
        "clinics": list(Clinic.objects.values_list("slug", "name")),
        "users": list(users.values_list("username", "password", "is_superuser")),
        "memberships": list(StaffMembership.objects.order_by("user__username").values_list("user__username", "role")),
        "clients": list(
            TherapyClient.objects.order_by("external_id").values_list("external_id", "clinicians__username")
        ),
    }


def test_seed_demo_creates_the_demo_clinic_its_people_and_the_admin_login(db):
    output = run("seed_demo")

    clinic = Clinic.objects.get(slug="demo")
    assert clinic.name == "Demo Clinic"
    roles = list(StaffMembership.objects.filter(clinic=clinic).values_list("role", flat=True))
    assert sorted(roles) == ["clinician"] * 3 + ["supervisor"]
    clients = TherapyClient.objects.filter(clinic=clinic)
    assert clients.count() == 12
    assert all(client.clinicians.count() == 1 for client in clients)
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password("admin")
    assert "admin / admin" in output
    assert get_user_model().objects.get(username="demo-supervisor").check_password("demo-password")


def test_seed_demo_run_twice_changes_nothing(db):
    run("seed_demo")
    before = snapshot()

    output = run("seed_demo")

    assert snapshot() == before
    assert "nothing changed" in output


def test_seed_demo_keeps_a_changed_password_on_a_second_run(db):
    run("seed_demo")
    admin = get_user_model().objects.get(username="admin")
    admin.set_password("a better password")
    admin.save()

    run("seed_demo")

    admin.refresh_from_db()
    assert admin.check_password("a better password")


def test_seed_demo_refuses_a_production_configuration_unless_told_otherwise(db, settings):
    settings.SECURE = True

    with pytest.raises(CommandError, match="production"):
        run("seed_demo")
    assert not Clinic.objects.filter(slug="demo").exists()

    run("seed_demo", "--even-in-production")
    assert Clinic.objects.filter(slug="demo").exists()


def test_create_api_key_is_audited_as_the_operator_without_the_key(north, monkeypatch):
    from questionnaires.models import AuditEvent

    monkeypatch.setattr("getpass.getuser", lambda: "ops")
    key = run("create_api_key", "north", "billing").strip().splitlines()[-1]

    event = AuditEvent.objects.get(action="create", object_type="api_key")
    api_key = ClinicAPIKey.objects.get(name="billing")
    assert (event.actor, event.clinic_id, event.object_ids) == ("command:ops", north.clinic.id, [api_key.prefix])
    assert key.partition(".")[2] not in event.detail
    assert event.source_address is None


def test_create_clinician_is_audited_as_the_operator(north, monkeypatch):
    from questionnaires.models import AuditEvent

    monkeypatch.setattr("getpass.getuser", lambda: "ops")
    run("create_clinician", "north", "nora", "--password", "a long password", "--supervisor")

    event = AuditEvent.objects.get(action="create", object_type="user")
    user = get_user_model().objects.get(username="nora")
    assert (event.actor, event.clinic_id, event.object_ids) == ("command:ops", north.clinic.id, [str(user.pk)])
    assert "supervisor" in event.detail

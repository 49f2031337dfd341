"""Clinic staff in the admin: a supervisor runs their clinic, a clinician works their caseload; a client stays in its
clinic; reads of webhook deliveries and client tokens are audited. (The isolation walk is in tests/hardening.)"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from questionnaires.models import AuditEvent, ClientToken, Clinic, Response, TherapyClient, WebhookDelivery
from questionnaires.principals import Principal
from questionnaires.selectors.responses import responses_visible_to
from questionnaires.selectors.trajectories import client_trajectory
from tests.test_admin import EXAMPLES, admin_url, make_alert, make_response

pytestmark = pytest.mark.django_db

NO_EPISODES = {"episodes-TOTAL_FORMS": "0", "episodes-INITIAL_FORMS": "0"}
"""The management form of the client page's (read-only) episodes inline."""


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def superuser_client(client, db):
    client.force_login(get_user_model().objects.create_superuser(username="root", email="", password="pw"))
    return client


def logged_in(client, user):
    user.is_staff = True
    user.save()
    client.force_login(user)
    return client


def test_a_supervisor_gets_the_clinics_admin_with_supervision_and_equity_linked(client, north):
    make_alert(north)
    index = logged_in(client, north.supervisor).get(reverse("admin:index")).content.decode()

    for page in ("admin-dashboard", "admin-supervision", "admin-equity"):
        assert reverse(page) in index
    for model in (Response, TherapyClient, ClientToken):
        assert admin_url(model, "changelist") in index
    assert client.get(admin_url(TherapyClient, "changelist")).status_code == 200
    assert client.get(reverse("admin-supervision")).status_code == 200
    assert client.get(reverse("admin-equity")).status_code == 200


def test_a_supervisor_adds_a_client_to_their_own_clinic_only(client, north, south):
    page = logged_in(client, north.supervisor).post(
        admin_url(TherapyClient, "add"),
        {"clinic": south.clinic.pk, "external_id": "smuggled", "clinicians": [], **NO_EPISODES},
    )
    assert page.status_code == 200 and not TherapyClient.objects.filter(external_id="smuggled").exists()

    page = client.post(
        admin_url(TherapyClient, "add"),
        {"clinic": north.clinic.pk, "external_id": "north-client-9", "clinicians": [north.clinician.pk], **NO_EPISODES},
    )
    assert page.status_code == 302
    assert TherapyClient.objects.get(external_id="north-client-9").clinic == north.clinic


def test_a_clinician_sees_their_caseload_and_not_the_rest_of_the_clinic(client, north):
    other = TherapyClient.objects.create(clinic=north.clinic, external_id="north-client-2")
    mine, theirs = make_response(north), make_response(north, client=other)
    walker = logged_in(client, north.clinician)

    index = walker.get(reverse("admin:index")).content.decode()
    listing = walker.get(admin_url(Response, "changelist")).content.decode()

    assert reverse("admin-supervision") in index and reverse("admin-equity") not in index
    assert str(mine.pk) in listing and str(theirs.pk) not in listing
    assert walker.get(admin_url(Response, "change", theirs.pk)).status_code == 404
    assert walker.get(reverse("admin-equity")).status_code == 403
    assert walker.get(reverse("admin-dashboard")).status_code == 403


def test_a_clinic_role_cannot_be_widened_by_model_permissions_a_user_was_given(client, north):
    """The role is the grant: a clinician given the clinic-wide permissions still sees only the caseload."""
    from django.contrib.auth.models import Permission

    other = TherapyClient.objects.create(clinic=north.clinic, external_id="north-client-2")
    theirs = make_response(north, client=other)
    north.clinician.user_permissions.add(*Permission.objects.filter(content_type__app_label="questionnaires"))
    walker = logged_in(client, north.clinician)

    assert walker.get(admin_url(Response, "change", theirs.pk)).status_code == 404
    assert walker.get(admin_url(TherapyClient, "add")).status_code == 403


def test_a_supervisor_cannot_see_or_open_the_operator_tables(client, north):
    walker = logged_in(client, north.supervisor)
    group = EXAMPLES["auth.Group"](north)

    assert walker.get(reverse("admin:auth_group_changelist")).status_code == 403
    assert walker.get(reverse("admin:auth_group_change", args=[group.pk])).status_code == 404
    assert walker.get(reverse("admin:django_celery_beat_periodictask_changelist")).status_code == 403


def test_a_supervisor_sees_the_clinics_staff_read_only_and_cannot_make_anyone_a_superuser(client, north):
    walker = logged_in(client, north.supervisor)
    user_model = get_user_model()

    assert walker.get(admin_url(user_model, "change", north.clinician.pk)).status_code == 200
    answer = walker.post(
        admin_url(user_model, "change", north.supervisor.pk),
        {"username": "north-supervisor", "is_superuser": "on", "is_staff": "on", "is_active": "on"},
    )
    assert answer.status_code == 403
    north.supervisor.refresh_from_db()
    assert not north.supervisor.is_superuser


# Point 9: a client's clinic is fixed.


def test_a_clients_clinic_is_read_only_in_the_admin(superuser_client, north, south):
    page = superuser_client.post(
        admin_url(TherapyClient, "change", north.client.pk),
        {"clinic": south.clinic.pk, "external_id": "north-client-1", "clinicians": [north.clinician.pk],
         **NO_EPISODES},
    )
    assert page.status_code == 302
    north.client.refresh_from_db()
    assert north.client.clinic == north.clinic


def test_the_model_refuses_to_move_a_client_to_another_clinic(north, south):
    north.client.clinic = south.clinic
    with pytest.raises(ValueError, match="clinic cannot be changed"):
        north.client.save()
    assert TherapyClient.objects.get(pk=north.client.pk).clinic == north.clinic


def test_a_client_keeps_its_clinic_on_an_ordinary_save(north):
    north.client.external_id = "north-client-renamed"
    north.client.save()
    assert TherapyClient.objects.get(pk=north.client.pk).clinic == north.clinic


def test_a_response_left_behind_by_an_old_move_is_shown_to_neither_clinic(north, south):
    """Rows written before the clinic became fixed may point at one clinic while their client is in another."""
    response = make_response(north)
    make_alert(north, response=response)
    TherapyClient.objects.filter(pk=north.client.pk).update(clinic=south.clinic)  # bypasses the model, as old data did
    moved = TherapyClient.objects.get(pk=north.client.pk)

    for persona in (north, south):
        principal = Principal(kind="api_key", clinic_id=persona.clinic.pk, credential=None, credential_prefix="x")
        assert not responses_visible_to(principal).filter(pk=response.pk).exists()
    assert client_trajectory(client=moved) == []


def test_a_response_left_behind_is_not_in_either_clinics_admin(client, north, south):
    response = make_response(north)
    TherapyClient.objects.filter(pk=north.client.pk).update(clinic=south.clinic)
    for supervisor in (north.supervisor, south.supervisor):
        walker = logged_in(client, supervisor)
        assert walker.get(admin_url(Response, "change", response.pk)).status_code == 404


# Point 11: admin reads of webhook deliveries and client-token lists are audited.


def test_reading_webhook_deliveries_in_the_admin_is_audited(superuser_client, north):
    delivery: WebhookDelivery = EXAMPLES["questionnaires.WebhookDelivery"](north)

    superuser_client.get(admin_url(WebhookDelivery, "changelist"))
    superuser_client.get(admin_url(WebhookDelivery, "change", delivery.pk))

    listed = AuditEvent.objects.get(action="list", object_type="webhook_delivery")
    read = AuditEvent.objects.get(action="read", object_type="webhook_delivery")
    assert listed.object_ids == read.object_ids == [str(delivery.pk)]
    assert listed.clinic_id == read.clinic_id == north.clinic.pk
    assert read.actor == "admin:root"


def test_reading_the_client_token_list_in_the_admin_is_audited(superuser_client, north):
    token: ClientToken = EXAMPLES["questionnaires.ClientToken"](north)

    superuser_client.get(admin_url(ClientToken, "changelist"))
    superuser_client.get(admin_url(ClientToken, "change", token.pk))

    listed = AuditEvent.objects.get(action="list", object_type="client_token")
    read = AuditEvent.objects.get(action="read", object_type="client_token")
    assert listed.object_ids == read.object_ids == [token.prefix]
    assert listed.clinic_id == read.clinic_id == north.clinic.pk


def test_a_supervisors_webhook_delivery_reads_are_audited_under_their_name(client, north):
    EXAMPLES["questionnaires.WebhookDelivery"](north)
    logged_in(client, north.supervisor).get(admin_url(WebhookDelivery, "changelist"))
    event = AuditEvent.objects.get(action="list", object_type="webhook_delivery")
    assert (event.actor, event.clinic_id) == ("admin:north-supervisor", north.clinic.pk)


def test_clinics_offered_by_the_audit_filter_are_the_users_own(client, north, south):
    page = logged_in(client, north.supervisor).get(admin_url(AuditEvent, "changelist")).content.decode()
    assert Clinic.objects.get(pk=north.clinic.pk).name in page and south.clinic.name not in page


def test_a_client_tokens_client_cannot_be_changed_after_it_is_issued(superuser_client, north):
    """Pointing a live token at another client would hand its holder that client's record."""
    token: ClientToken = EXAMPLES["questionnaires.ClientToken"](north)
    other = TherapyClient.objects.create(clinic=north.clinic, external_id="north-client-2")

    page = superuser_client.post(
        admin_url(ClientToken, "change", token.pk),
        {"name": "app", "client": other.pk, "issued_by": "", "expiry_date_0": "", "expiry_date_1": ""},
    )

    assert page.status_code == 302
    token.refresh_from_db()
    assert token.client == north.client and token.name == "app"

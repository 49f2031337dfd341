"""The Django admin: every registered model's pages answer, read-only records stay read-only, actions work and audit."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from rest_framework_api_key.models import APIKey

from questionnaires.models import (
    Alert,
    AuditEvent,
    BackgroundCategory,
    CareSession,
    ClientToken,
    ClinicAPIKey,
    ClinicCareSettings,
    EpisodeOfCare,
    ExportJob,
    Goal,
    QuestionnaireVersion,
    Response,
    Score,
    StaffMembership,
    StaffToken,
    TherapyClient,
    WebhookDelivery,
    WebhookSubscription,
)
from tests.factories import MembershipFactory, TherapyClientFactory


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Key and password hashing is deliberately slow; these tests are about the admin, not the hash."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser(username="root", email="", password="root-password")


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def make_response(persona, **overrides) -> Response:
    version, _ = QuestionnaireVersion.objects.get_or_create(
        questionnaire_id="srs",
        version="1.0.0",
        defaults={"title": "Session Rating Scale", "content_hash": "0" * 64, "definition": {}},
    )
    fields = {
        "clinic": persona.clinic,
        "client": persona.client,
        "clinician": persona.clinician,
        "questionnaire_version": version,
        "session_number": 3,
        "authored_at": timezone.now(),
        "answers": {"1": 8.5, "2": 9.0},
        "status": Response.Status.SCORED,
    }
    return Response.objects.create(**{**fields, **overrides})


def make_alert(persona, **overrides) -> Alert:
    fields = {
        "clinic": persona.clinic,
        "client": persona.client,
        "response": make_response(persona),
        "questionnaire_id": "srs",
        "kind": "low_alliance",
        "priority": Alert.Priority.HIGH,
        "message": "Alliance below the cutoff",
    }
    return Alert.objects.create(**{**fields, **overrides})


# One example object per registered model, so the table-driven test below can open its change page.
# A newly registered model fails that test until it gets an entry here.
def make_episode(persona) -> EpisodeOfCare:
    return EpisodeOfCare.objects.create(
        clinic=persona.clinic, client=persona.client, start_date=timezone.localdate(),
        primary_clinician=persona.clinician,
    )


def make_webhook(persona) -> WebhookSubscription:
    return WebhookSubscription.objects.create(
        clinic=persona.clinic, url="https://example.org/hook", events=["response.scored"], secret="s"
    )


EXAMPLES = {
    "auth.Group": lambda persona: Group.objects.create(name="auditors"),
    "auth.User": lambda persona: persona.clinician,
    "django_celery_beat.IntervalSchedule": lambda persona: IntervalSchedule.objects.create(every=10, period="seconds"),
    "django_celery_beat.CrontabSchedule": lambda persona: CrontabSchedule.objects.create(minute="5"),
    "django_celery_beat.SolarSchedule": lambda persona: SolarSchedule.objects.create(
        event="sunrise", latitude=51.5, longitude=-0.1
    ),
    "django_celery_beat.ClockedSchedule": lambda persona: ClockedSchedule.objects.create(clocked_time=timezone.now()),
    "django_celery_beat.PeriodicTask": lambda persona: PeriodicTask.objects.create(
        name="nightly", task="questionnaires.sweep_pending",
        interval=IntervalSchedule.objects.create(every=1, period="days"),
    ),
    "questionnaires.Clinic": lambda persona: persona.clinic,
    "questionnaires.StaffMembership": lambda persona: persona.clinician.membership,
    "questionnaires.TherapyClient": lambda persona: persona.client,
    "questionnaires.QuestionnaireVersion": lambda persona: make_response(persona).questionnaire_version,
    "questionnaires.Response": make_response,
    "questionnaires.Score": lambda persona: Score.objects.create(
        response=make_response(persona), plugin_version="1.0.0", total="17.5", band="ok", flags=["low_alliance"]
    ),
    "questionnaires.Alert": make_alert,
    "questionnaires.AuditEvent": lambda persona: AuditEvent.objects.create(
        actor="user:north-clinician", action="read", object_type="client", object_ids=["1"]
    ),
    "questionnaires.ClinicAPIKey": lambda persona: ClinicAPIKey.objects.get(clinic=persona.clinic),
    "questionnaires.StaffToken": lambda persona: StaffToken.objects.create_key(name="phone", user=persona.clinician)[0],
    "questionnaires.ClientToken": lambda persona: ClientToken.objects.create_key(
        name="app", client=persona.client, issued_by=persona.clinician
    )[0],
    "questionnaires.ExportJob": lambda persona: ExportJob.objects.create(clinic=persona.clinic),
    "questionnaires.Goal": lambda persona: Goal.objects.create(clinic=persona.clinic, client=persona.client, text="g"),
    "questionnaires.BackgroundCategory": lambda persona: BackgroundCategory.objects.create(
        clinic=persona.clinic, name="language", values=["a", "b"]
    ),
    "questionnaires.WebhookSubscription": make_webhook,
    "questionnaires.EpisodeOfCare": make_episode,
    "questionnaires.CareSession": lambda persona: CareSession.objects.create(
        clinic=persona.clinic, episode=make_episode(persona), scheduled_start=timezone.now(), attendance="attended"
    ),
    "questionnaires.ClinicCareSettings": lambda persona: ClinicCareSettings.objects.create(clinic=persona.clinic),
    "questionnaires.WebhookDelivery": lambda persona: WebhookDelivery.objects.create(
        subscription=make_webhook(persona), event_id="evt-1", event="response.scored", payload={}
    ),
}

REGISTERED = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize(("model", "model_admin"), REGISTERED, ids=[model._meta.label for model, _ in REGISTERED])
def test_every_registered_model_has_a_changelist_and_a_change_page_that_answer(admin_client, north, model, model_admin):
    maker = EXAMPLES.get(model._meta.label)
    assert maker is not None, f"add an example {model._meta.label} to EXAMPLES in {__name__}"
    obj = maker(north)

    changelist = admin_client.get(admin_url(model, "changelist"))
    change_page = admin_client.get(admin_url(model, "change", quote(obj.pk)))

    assert changelist.status_code == 200
    assert change_page.status_code == 200
    assert change_page.context["original"].pk == obj.pk


@pytest.mark.parametrize(("model", "model_admin"), REGISTERED, ids=[model._meta.label for model, _ in REGISTERED])
def test_every_add_page_answers_if_and_only_if_adding_is_allowed(admin_client, superuser, model, model_admin, rf):
    request = rf.get("/")
    request.user = superuser

    response = admin_client.get(admin_url(model, "add"))

    assert response.status_code == (200 if model_admin.has_add_permission(request) else 403)


@pytest.mark.parametrize("model", [Response, Score, QuestionnaireVersion, AuditEvent, Alert])
def test_records_written_by_the_service_cannot_be_added_edited_or_deleted_in_admin(superuser, rf, model):
    request = rf.get("/")
    request.user = superuser
    model_admin = admin.site._registry[model]

    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert "delete_selected" not in model_admin.get_actions(request)


def test_a_response_cannot_be_deleted_through_the_delete_url(admin_client, north):
    response = make_response(north)

    answer = admin_client.post(admin_url(Response, "delete", response.pk), {"post": "yes"})

    assert answer.status_code == 403
    assert Response.objects.filter(pk=response.pk).exists()


def test_the_librarys_own_api_key_model_is_not_in_admin():
    assert not admin.site.is_registered(APIKey)


def test_the_user_page_carries_the_clinic_membership_inline(admin_client, north):
    page = admin_client.get(admin_url(get_user_model(), "change", north.clinician.pk))

    inline_models = [formset.opts.model for formset in page.context["inline_admin_formsets"]]
    assert StaffMembership in inline_models


def test_viewing_a_clients_change_page_writes_an_audit_event(admin_client, north):
    page = admin_client.get(admin_url(TherapyClient, "change", north.client.pk))

    assert page.status_code == 200
    event = AuditEvent.objects.get(action="read")
    assert event.actor == "admin:root"
    assert event.object_type == "client"
    assert event.object_ids == [str(north.client.pk)]
    assert event.clinic_id == north.clinic.pk


@pytest.mark.parametrize(
    ("model", "object_type"), [(Response, "response"), (Score, "score"), (Alert, "alert")]
)
def test_viewing_client_data_records_who_read_which_object(admin_client, north, model, object_type):
    obj = EXAMPLES[model._meta.label](north)

    admin_client.get(admin_url(model, "change", obj.pk))

    event = AuditEvent.objects.get(action="read", object_type=object_type)
    assert (event.actor, event.object_ids, event.clinic_id) == ("admin:root", [str(obj.pk)], north.clinic.pk)


def test_a_response_list_page_is_audited_once_per_clinic_shown(admin_client, north, south):
    north_response, south_response = make_response(north), make_response(south)

    admin_client.get(admin_url(Response, "changelist"))

    events = {event.clinic_id: event for event in AuditEvent.objects.filter(action="list", object_type="response")}
    assert events[north.clinic.pk].object_ids == [str(north_response.pk)]
    assert events[south.clinic.pk].object_ids == [str(south_response.pk)]
    assert {event.actor for event in events.values()} == {"admin:root"}


def test_a_clinic_list_page_is_not_client_data_and_writes_no_audit_event(admin_client, north):
    admin_client.get(admin_url(type(north.clinic), "changelist"))

    assert not AuditEvent.objects.exists()


def test_the_acknowledge_action_stamps_open_alerts_and_audits_them(admin_client, north):
    open_alert = make_alert(north)
    earlier = timezone.now() - timedelta(days=1)
    done_alert = make_alert(north, kind="rupture", acknowledged_at=earlier, acknowledged_by="user:north-supervisor")

    admin_client.post(
        admin_url(Alert, "changelist"),
        {"action": "acknowledge_selected", "_selected_action": [open_alert.pk, done_alert.pk]},
    )

    open_alert.refresh_from_db()
    done_alert.refresh_from_db()
    assert open_alert.acknowledged_at is not None
    assert open_alert.acknowledged_by == "admin:root"
    assert (done_alert.acknowledged_at, done_alert.acknowledged_by) == (earlier, "user:north-supervisor")
    event = AuditEvent.objects.get(action="acknowledge")
    assert (event.object_type, event.object_ids, event.clinic_id) == ("alert", [str(open_alert.pk)], north.clinic.pk)


def test_the_revoke_action_revokes_keys_so_they_no_longer_authenticate(admin_client, north):
    api_key = ClinicAPIKey.objects.get(clinic=north.clinic)
    assert ClinicAPIKey.objects.is_valid(north.api_key)

    admin_client.post(
        admin_url(ClinicAPIKey, "changelist"), {"action": "revoke_selected", "_selected_action": [api_key.pk]}
    )

    api_key.refresh_from_db()
    assert api_key.revoked
    assert not ClinicAPIKey.objects.is_valid(north.api_key)
    event = AuditEvent.objects.get(action="revoke")
    assert event.object_type == "clinic_api_key"
    assert (event.object_ids, event.clinic_id) == ([api_key.prefix], north.clinic.pk)


def test_the_revoke_action_works_for_client_tokens_too(admin_client, north):
    token, plain = ClientToken.objects.create_key(name="app", client=north.client)

    admin_client.post(
        admin_url(ClientToken, "changelist"), {"action": "revoke_selected", "_selected_action": [token.pk]}
    )

    assert not ClientToken.objects.is_valid(plain)


def test_a_key_created_in_admin_is_shown_once_and_stored_hashed(admin_client, north):
    answer = admin_client.post(
        admin_url(ClinicAPIKey, "add"), {"name": "from-admin", "clinic": north.clinic.pk}, follow=True
    )

    shown = " ".join(str(message) for message in answer.context["messages"])
    key = re.search(r"is: (\S+)\. ", shown).group(1)
    stored = ClinicAPIKey.objects.get(name="from-admin")
    assert ClinicAPIKey.objects.is_valid(key)
    assert key.partition(".")[2] not in stored.hashed_key + stored.pk
    assert AuditEvent.objects.filter(action="create", object_type="clinic_api_key", clinic_id=north.clinic.pk).exists()


def test_a_client_token_created_in_admin_records_who_issued_it(admin_client, superuser, north):
    admin_client.post(admin_url(ClientToken, "add"), {"name": "tablet", "client": north.client.pk})

    assert ClientToken.objects.get(name="tablet").issued_by == superuser


def test_deleting_a_client_in_admin_is_audited(admin_client, north):
    client_id = north.client.pk

    admin_client.post(admin_url(TherapyClient, "delete", client_id), {"post": "yes"})

    assert not TherapyClient.objects.filter(pk=client_id).exists()
    event = AuditEvent.objects.get(action="delete")
    assert (event.object_type, event.object_ids, event.clinic_id) == ("client", [str(client_id)], north.clinic.pk)


def test_a_client_cannot_be_put_on_the_caseload_of_another_clinics_clinician(admin_client, north, south):
    answer = admin_client.post(
        admin_url(TherapyClient, "add"),
        {"clinic": north.clinic.pk, "external_id": "north-client-2", "clinicians": [south.clinician.pk]},
    )

    assert answer.status_code == 200
    assert "clinicians" in answer.context["adminform"].form.errors
    assert not TherapyClient.objects.filter(external_id="north-client-2").exists()


def test_responses_can_be_found_by_id_or_client_external_id(admin_client, north, south):
    north_response, south_response = make_response(north), make_response(south)
    changelist = admin_url(Response, "changelist")

    by_id = admin_client.get(changelist, {"q": str(south_response.pk)})
    by_client = admin_client.get(changelist, {"q": "north-client"})
    by_nonsense = admin_client.get(changelist, {"q": "'; drop table --"})

    assert [row.pk for row in by_id.context["cl"].result_list] == [south_response.pk]
    assert [row.pk for row in by_client.context["cl"].result_list] == [north_response.pk]
    assert list(by_nonsense.context["cl"].result_list) == []


def test_responses_filter_by_questionnaire_status_and_clinic(admin_client, north, south):
    wanted = make_response(north, status=Response.Status.FAILED)
    make_response(north)
    make_response(south, status=Response.Status.FAILED)

    page = admin_client.get(
        admin_url(Response, "changelist"),
        {"questionnaire": "srs", "status": "failed", "clinic__id__exact": north.clinic.pk},
    )

    assert [row.pk for row in page.context["cl"].result_list] == [wanted.pk]


@pytest.mark.parametrize(
    ("model", "query"),
    [(Response, {"status": "bogus"}), (AuditEvent, {"clinic_id": "north"}), (Alert, {"acknowledged": "maybe"})],
)
def test_nonsense_filter_values_are_not_server_errors(admin_client, north, model, query):
    answer = admin_client.get(admin_url(model, "changelist"), query)

    assert answer.status_code in {200, 302}


def test_the_audit_log_can_be_searched_and_filtered_by_clinic(admin_client, north, south):
    AuditEvent.objects.create(actor="api_key:north1", action="read", clinic_id=north.clinic.pk)
    AuditEvent.objects.create(actor="api_key:south1", action="read", clinic_id=south.clinic.pk)
    changelist = admin_url(AuditEvent, "changelist")

    searched = admin_client.get(changelist, {"q": "south1"})
    filtered = admin_client.get(changelist, {"clinic_id": north.clinic.pk})

    assert [event.actor for event in searched.context["cl"].result_list] == ["api_key:south1"]
    assert [event.actor for event in filtered.context["cl"].result_list] == ["api_key:north1"]


def test_the_admin_index_links_to_the_plugins_page(admin_client):
    index = admin_client.get(reverse("admin:index"))

    assert index.status_code == 200
    assert 'href="/admin/plugins/"' in index.content.decode()
    assert "Questionnaire plugins" in index.content.decode()


# Makers that can be called repeatedly, for the changelists that show related objects per row.
MORE = {
    TherapyClient: lambda persona: TherapyClientFactory(clinic=persona.clinic).clinicians.add(persona.clinician),
    Response: make_response,
    Score: EXAMPLES["questionnaires.Score"],
    Alert: make_alert,
    StaffMembership: lambda persona: MembershipFactory(clinic=persona.clinic),
    get_user_model(): lambda persona: MembershipFactory(clinic=persona.clinic),
    ClinicAPIKey: lambda persona: ClinicAPIKey.objects.create_key(name="more", clinic=persona.clinic),
    StaffToken: EXAMPLES["questionnaires.StaffToken"],
    ClientToken: EXAMPLES["questionnaires.ClientToken"],
}


@pytest.mark.parametrize("model", MORE, ids=[model._meta.label for model in MORE])
def test_a_changelist_costs_the_same_queries_for_one_row_as_for_many(admin_client, north, model):
    def queries_for_changelist() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(admin_url(model, "changelist")).status_code == 200
        return len(captured)

    MORE[model](north)
    with_few = queries_for_changelist()
    for _ in range(4):
        MORE[model](north)

    assert queries_for_changelist() == with_few

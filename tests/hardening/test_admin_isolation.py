"""The admin's isolation matrix: every registered admin and every custom admin page, walked as north's supervisor and
as north's clinician, shows no row of south's (and, to the clinician, none outside their caseload).

The walk iterates `admin.site._registry`, so a model admin registered later is walked too; one that does not use the
clinic scope fails it at the first step, and a model with no entry in FOREIGN below fails until it says which of its
rows the walkers must not see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Group
from django.urls import URLPattern, reverse
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from questionnaires.admin.scoping import ScopedAdmin, clinic_scope_check, unscoped_admins
from questionnaires.models import (
    Alert,
    AuditEvent,
    BackgroundCategory,
    CareSession,
    ClientToken,
    ClinicCareSettings,
    EpisodeOfCare,
    ExportJob,
    Goal,
    Score,
    StaffToken,
    TherapyClient,
    WebhookDelivery,
    WebhookSubscription,
)
from tests.test_admin import make_alert, make_response

pytestmark = pytest.mark.django_db

# Text that only south's rows (and for the clinician, north's client outside their caseload) put on a page.
SOUTH_MARKS = (
    "South Clinic", "south-client-1", "south-client-2", "south-clinician", "south-supervisor", "south-secret-comment",
    "south.example", "south-evt", "south-goal", "south-language", "south-app", "south-phone", "south-alert-message",
    "south-export",
)
OUTSIDE_CASELOAD_MARKS = ("north-client-2", "north-outside-comment", "north-outside-goal", "north-outside-app")

# Models whose rows every clinic shares: nothing of them is foreign to anyone.
SHARED = {"questionnaires.QuestionnaireVersion"}


@dataclass
class World:
    """South's rows (foreign to every north walker) and north's rows outside the clinician's caseload, by model."""

    foreign: dict[str, list] = field(default_factory=dict)
    outside_caseload: dict[str, list] = field(default_factory=dict)
    south_client: TherapyClient | None = None
    south_alert: Alert | None = None
    south_export: ExportJob | None = None


def _client_rows(persona, client, *, comment: str, goal: str, app: str, marks: dict[str, list]) -> None:
    response = make_response(persona, client=client, comment=comment)
    alert = make_alert(persona, client=client, response=response, message=f"{goal}-alert-message")
    score = Score.objects.create(response=response, plugin_version="1.0.0", total="17.5", band="ok", flags=[])
    token = ClientToken.objects.create_key(name=app, client=client, issued_by=persona.clinician)[0]
    marks.setdefault("questionnaires.TherapyClient", []).append(client)
    marks.setdefault("questionnaires.Response", []).append(response)
    marks.setdefault("questionnaires.Alert", []).append(alert)
    marks.setdefault("questionnaires.Score", []).append(score)
    goal_row = Goal.objects.create(clinic=persona.clinic, client=client, text=goal)
    marks.setdefault("questionnaires.Goal", []).append(goal_row)
    marks.setdefault("questionnaires.ClientToken", []).append(token)
    episode = EpisodeOfCare.objects.create(
        clinic=persona.clinic, client=client, start_date=date(2026, 3, 2), external_id=f"{client.external_id}-episode"
    )
    session = CareSession.objects.create(
        clinic=persona.clinic, episode=episode, scheduled_start=datetime(2026, 3, 2, 9, tzinfo=UTC),
        external_id=f"{client.external_id}-session",
    )
    marks.setdefault("questionnaires.EpisodeOfCare", []).append(episode)
    marks.setdefault("questionnaires.CareSession", []).append(session)


@pytest.fixture
def world(north, south, settings) -> World:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    built = World()
    foreign = built.foreign
    _client_rows(south, south.client, comment="south-secret-comment", goal="south-goal", app="south-app", marks=foreign)
    second = TherapyClient.objects.create(clinic=south.clinic, external_id="south-client-2")
    _client_rows(south, second, comment="south-secret-comment", goal="south-goal", app="south-app", marks=foreign)
    webhook = WebhookSubscription.objects.create(
        clinic=south.clinic, url="https://south.example/hook", events=["response.scored"], secret="s"
    )
    built.south_export = ExportJob.objects.create(clinic=south.clinic, questionnaire_id="south-export")
    foreign.update({
        "questionnaires.Clinic": [south.clinic],
        "questionnaires.StaffMembership": [south.clinician.membership, south.supervisor.membership],
        "auth.User": [south.clinician, south.supervisor],
        "questionnaires.ClinicAPIKey": list(south.clinic.api_keys.all()),
        "questionnaires.StaffToken": [StaffToken.objects.create_key(name="south-phone", user=south.clinician)[0]],
        "questionnaires.ExportJob": [built.south_export],
        "questionnaires.ClinicCareSettings": [ClinicCareSettings.objects.create(clinic=south.clinic)],
        "questionnaires.BackgroundCategory": [
            BackgroundCategory.objects.create(clinic=south.clinic, name="south-language", values=["a", "b"])
        ],
        "questionnaires.WebhookSubscription": [webhook],
        "questionnaires.WebhookDelivery": [
            WebhookDelivery.objects.create(
                subscription=webhook, event_id="south-evt", event="response.scored", payload={}
            )
        ],
        "questionnaires.AuditEvent": [
            AuditEvent.objects.create(
                clinic_id=south.clinic.pk, actor="user:south-clinician", action="read", object_type="client",
                object_ids=["1"], detail="south-client-1",
            )
        ],
        # Operator tables: every row is out of reach of clinic staff.
        "auth.Group": [Group.objects.create(name="south-operators")],
        "django_celery_beat.IntervalSchedule": [IntervalSchedule.objects.create(every=10, period="seconds")],
        "django_celery_beat.PeriodicTask": [
            PeriodicTask.objects.create(
                name="south-nightly", task="questionnaires.sweep_pending",
                interval=IntervalSchedule.objects.create(every=1, period="days"),
            )
        ],
    })
    for label in ("django_celery_beat.CrontabSchedule", "django_celery_beat.SolarSchedule",
                  "django_celery_beat.ClockedSchedule"):
        model = next(registered for registered in admin.site._registry if registered._meta.label == label)
        foreign[label] = list(model.objects.all())
    built.south_client = south.client
    built.south_alert = foreign["questionnaires.Alert"][0]

    # North's own rows, and a north client the clinician does not treat.
    _client_rows(north, north.client, comment="north-own-comment", goal="north-goal", app="north-app", marks={})
    outside = TherapyClient.objects.create(clinic=north.clinic, external_id="north-client-2")
    _client_rows(
        north, outside, comment="north-outside-comment", goal="north-outside-goal", app="north-outside-app",
        marks=built.outside_caseload,
    )
    WebhookSubscription.objects.create(
        clinic=north.clinic, url="https://north.example/hook", events=["response.scored"], secret="n"
    )
    BackgroundCategory.objects.create(clinic=north.clinic, name="north-language", values=["a", "b"])
    ExportJob.objects.create(clinic=north.clinic)
    for user in (north.supervisor, north.clinician):
        user.is_staff = True
        user.save()
    return built


def _walker(client, north, role: str):
    user = north.supervisor if role == "supervisor" else north.clinician
    client.force_login(user)
    return client


def _marks_for(role: str) -> tuple[str, ...]:
    return SOUTH_MARKS + (OUTSIDE_CASELOAD_MARKS if role == "clinician" else ())


def _foreign_for(world: World, role: str, label: str) -> list:
    rows = list(world.foreign.get(label, []))
    return rows + (world.outside_caseload.get(label, []) if role == "clinician" else [])


class Walk:
    """Collects every page that showed a forbidden mark or answered other than expected, for one readable failure."""

    def __init__(self, client, marks: tuple[str, ...]) -> None:
        self.client = client
        self.marks = marks
        self.faults: list[str] = []

    def page(self, url: str, *, allowed: set[int], method: str = "get", data=None):
        answer = getattr(self.client, method)(url, data or {})
        if answer.status_code not in allowed:
            self.faults.append(f"{method.upper()} {url}: {answer.status_code}, expected one of {sorted(allowed)}")
        if answer.status_code == 200 and not getattr(answer, "streaming", False):
            body = answer.content.decode()
            shown = [mark for mark in self.marks if mark in body]
            if shown:
                self.faults.append(f"{method.upper()} {url} shows {shown}")
        return answer


def _admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("role", ["supervisor", "clinician"])
def test_every_registered_admin_shows_a_clinic_member_nothing_of_another_clinic(client, north, south, world, role):
    walk = Walk(_walker(client, north, role), _marks_for(role))
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label
        assert isinstance(model_admin, ScopedAdmin), f"{label}'s admin does not apply the clinic scope"
        assert label in world.foreign or label in SHARED, f"say in FOREIGN which {label} rows north must not see"
        walk.page(_admin_url(model, "changelist"), allowed={200, 403})
        walk.page(_admin_url(model, "changelist") + "?q=south", allowed={200, 403})
        walk.page(_admin_url(model, "changelist") + "?q=client-2", allowed={200, 403})
        walk.page(_admin_url(model, "add"), allowed={200, 403})
        for row in _foreign_for(world, role, label):
            for view in ("change", "history", "delete"):
                walk.page(_admin_url(model, view, quote(row.pk)), allowed={404})
        for field_name in model_admin.autocomplete_fields:
            for term in ("", "south", "north-client"):
                url = reverse("admin:autocomplete") + (
                    f"?app_label={model._meta.app_label}&model_name={model._meta.model_name}"
                    f"&field_name={field_name}&term={term}"
                )
                walk.page(url, allowed={200, 403})
    assert not walk.faults, "\n".join(walk.faults)


@pytest.mark.parametrize("role", ["supervisor", "clinician"])
def test_every_own_change_page_offers_no_choice_of_another_clinic(client, north, south, world, role):
    """Foreign-key and many-to-many choices (clinic, clinicians, client, user) list only what the walker may see."""
    walk = Walk(_walker(client, north, role), _marks_for(role))
    own = {
        TherapyClient: north.client, ClientToken: ClientToken.objects.filter(client=north.client).first(),
        BackgroundCategory: BackgroundCategory.objects.get(name="north-language"),
        WebhookSubscription: WebhookSubscription.objects.get(clinic=north.clinic),
    }
    for model, row in own.items():
        walk.page(_admin_url(model, "change", quote(row.pk)), allowed={200, 404})
    walk.page(reverse("admin:index"), allowed={200})
    assert not walk.faults, "\n".join(walk.faults)


# The project's own admin pages the walk below visits; a new one fails the next test until it is walked too.
WALKED_PAGES = {
    "admin-dashboard", "admin-metrics-recompute", "admin-client-form-link", "admin-export-download",
    "admin-supervision", "admin-equity", "admin-client-goals", "admin-plugins",
}


def test_the_walk_covers_every_custom_admin_page():
    from alliance_api.urls import urlpatterns

    custom = {
        pattern.name for pattern in urlpatterns
        if isinstance(pattern, URLPattern) and str(pattern.pattern).startswith("admin/")
    }
    assert custom == WALKED_PAGES


@pytest.mark.parametrize("role", ["supervisor", "clinician"])
def test_every_custom_admin_page_is_scoped_and_another_clinics_object_is_a_404(client, north, south, world, role):
    walk = Walk(_walker(client, north, role), _marks_for(role))
    south_client = str(world.south_client.pk)
    for url in (reverse("admin-dashboard"), reverse("admin-supervision"), reverse("admin-equity"), "/admin/plugins/"):
        walk.page(url, allowed={200, 403})
    for url in (
        reverse("admin-dashboard") + "?clinic=south",
        reverse("admin-supervision") + "?clinic=south",
        reverse("admin-supervision") + "?clinician=south-clinician",
        reverse("admin-equity") + "?clinic=south",
    ):
        walk.page(url, allowed={403, 404})
    tokens_before = ClientToken.objects.count()
    walk.page(reverse("admin-client-form-link", args=[south_client]), allowed={403, 404})
    walk.page(reverse("admin-client-form-link", args=[south_client]), allowed={403, 404}, method="post")
    walk.page(reverse("admin-client-goals", args=[south_client]), allowed={403, 404})
    walk.page(reverse("admin-export-download", args=[world.south_export.pk]), allowed={403, 404})
    walk.page(reverse("admin-metrics-recompute"), allowed={403}, method="post")
    if role == "clinician":
        outside = str(TherapyClient.objects.get(external_id="north-client-2").pk)
        walk.page(reverse("admin-client-form-link", args=[outside]), allowed={404}, method="post")
        walk.page(reverse("admin-client-goals", args=[outside]), allowed={404})
        walk.page(reverse("admin-supervision") + "?clinician=north-supervisor", allowed={404})
    assert not walk.faults, "\n".join(walk.faults)
    assert ClientToken.objects.count() == tokens_before


def test_the_walk_would_see_south_as_a_superuser(admin_client, world):
    """The marks are real: without the scope the same pages show them."""
    html = admin_client.get(_admin_url(Alert, "changelist")).content.decode()
    assert "south-client-1" in html and "South Clinic" in html
    south_response = world.foreign["questionnaires.Response"][0]
    page = admin_client.get(_admin_url(type(south_response), "change", south_response.pk))
    assert "south-secret-comment" in page.content.decode()


@pytest.fixture
def admin_client(client, db, settings):
    from django.contrib.auth import get_user_model

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    client.force_login(get_user_model().objects.create_superuser(username="root", email="", password="pw"))
    return client


@pytest.mark.parametrize("role", ["supervisor", "clinician"])
def test_acknowledging_another_clinics_alert_is_a_404_and_changes_nothing(client, north, south, world, role):
    walker = _walker(client, north, role)
    own = Alert.objects.filter(client=north.client).first()
    for selection in ([world.south_alert.pk], [own.pk, world.south_alert.pk]):
        answer = walker.post(
            _admin_url(Alert, "changelist"),
            {"action": "acknowledge_selected", "_selected_action": [str(pk) for pk in selection]},
        )
        assert answer.status_code == 404
    assert not Alert.objects.filter(acknowledged_at__isnull=False).exists()


def test_the_own_alert_is_still_acknowledged_by_a_clinician_of_the_caseload(client, north, world):
    walker = _walker(client, north, "clinician")
    own = Alert.objects.filter(client=north.client).first()
    answer = walker.post(
        _admin_url(Alert, "changelist"), {"action": "acknowledge_selected", "_selected_action": [str(own.pk)]}
    )
    assert answer.status_code == 302
    own.refresh_from_db()
    assert own.acknowledged_at is not None and own.acknowledged_by == "admin:north-clinician"


@pytest.mark.parametrize("role", ["supervisor", "clinician"])
def test_issuing_a_form_link_for_another_clinics_client_is_a_404_and_issues_nothing(client, north, south, world, role):
    walker = _walker(client, north, role)
    before = ClientToken.objects.count()
    answer = walker.post(reverse("admin-client-form-link", args=[world.south_client.pk]))
    assert answer.status_code == 404
    assert ClientToken.objects.count() == before
    issued = AuditEvent.objects.filter(action="create", object_type="client_token", clinic_id=south.clinic.pk)
    assert not issued.exists()


def test_a_clinician_issues_a_form_link_for_a_client_of_their_caseload(client, north, world):
    walker = _walker(client, north, "clinician")
    answer = walker.post(reverse("admin-client-form-link", args=[north.client.pk]))
    assert answer.status_code == 200 and "/take/" in answer.content.decode()


def test_every_registered_admin_and_inline_applies_the_clinic_scope():
    assert unscoped_admins(admin.site) == []
    assert clinic_scope_check() == []


def test_an_admin_registered_without_the_scope_is_named_by_the_check():
    site = admin.AdminSite(name="probe")

    class PlainInline(admin.TabularInline):
        model = Score

    class PlainAdmin(admin.ModelAdmin):
        inlines = (PlainInline,)

    site.register(Score, PlainAdmin)
    assert unscoped_admins(site) == [
        "questionnaires.Score: PlainAdmin is not a ScopedAdmin",
        "questionnaires.Score: inline PlainInline is not a ScopedInline",
    ]


def test_staff_without_a_clinic_membership_see_no_clinic_data(client, world):
    from django.contrib.auth import get_user_model

    loner = get_user_model().objects.create_user(username="loner", password="pw", is_staff=True)
    client.force_login(loner)
    for model in (Alert, TherapyClient, Score):
        assert client.get(_admin_url(model, "changelist")).status_code == 403
    assert client.get(_admin_url(Alert, "change", world.south_alert.pk)).status_code == 404


def test_another_apps_admin_becomes_superuser_only_and_this_apps_must_declare_its_scope():
    from django.contrib.auth.admin import GroupAdmin

    from questionnaires.admin.scoping import restrict_other_apps_to_superusers
    from questionnaires.admin.tenancy import SUPERUSER_ONLY

    site = admin.AdminSite(name="probe")
    site.register(Group, GroupAdmin)
    site.register(Score, admin.ModelAdmin)

    restrict_other_apps_to_superusers(site)

    group_admin = site._registry[Group]
    assert isinstance(group_admin, GroupAdmin) and isinstance(group_admin, ScopedAdmin)
    assert group_admin.tenancy == SUPERUSER_ONLY
    assert unscoped_admins(site) == ["questionnaires.Score: ModelAdmin is not a ScopedAdmin"]

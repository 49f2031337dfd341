"""The client-facing form page: what a token reaches, how answers are validated, stored and scored, and audited."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from questionnaires.models import AuditEvent, Response
from questionnaires.services.credentials import client_token_issue
from tests.ui.helpers import scored_response

pytestmark = pytest.mark.usefixtures("licensed_text_pack")

@pytest.fixture
def token(north) -> str:
    _, key = client_token_issue(client=north.client, issued_by=north.clinician)
    return key


def _form(token: str, questionnaire: str = "srs") -> str:
    return reverse("take-form", args=[token, questionnaire])


def _post(client: Client, token: str, questionnaire: str, answers: dict[str, str]) -> object:
    page = client.get(_form(token, questionnaire))
    form_key = re.search(r'name="form_key" value="([^"]+)"', page.content.decode()).group(1)
    data = {"version": "1.0.0", "form_key": form_key, **{f"answers.{k}": v for k, v in answers.items()}}
    return client.post(_form(token, questionnaire), data)


def test_index_lists_the_questionnaires_clients_fill_in(client, token):
    page = client.get(reverse("take-index", args=[token]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Session Rating Scale" in html and "Patient Health Questionnaire-9" in html
    assert page["Referrer-Policy"] == "same-origin"
    assert "no-store" in page["Cache-Control"] or "no-cache" in page["Cache-Control"]


@pytest.mark.parametrize("mangle", ["unknown", "wrong-secret", "revoked", "expired", "malformed"])
def test_an_unusable_token_gets_the_friendly_404(client, north, token, mangle):
    prefix = token.split(".")[0]
    if mangle == "unknown":
        token = "Zz9Zz9Zz.nothing-like-it"
    elif mangle == "wrong-secret":
        token = prefix + ".not-the-secret"
    elif mangle == "revoked":
        north.client.tokens.update(revoked=True)
    elif mangle == "expired":
        north.client.tokens.update(expiry_date=timezone.now() - timedelta(minutes=1))
    else:
        token = "no-dot-here"
    for url in (reverse("take-index", args=[token]), _form(token)):
        page = client.get(url)
        assert page.status_code == 404
        assert "This link is not available" in page.content.decode()


def test_a_text_packs_wording_is_shown_where_the_licence_withholds_the_text(client, token):
    html = client.get(_form(token, "srs")).content.decode()
    assert "Relationship (licensed test wording)" in html and "Goals and topics" in html
    assert html.count('type="range"') == 4 and html.count('type="number"') == 4
    assert 'step="0.1"' in html


def test_licensed_text_and_likert_buttons_are_shown_where_allowed(client, token):
    html = client.get(_form(token, "phq-9")).content.decode()
    assert "Little interest or pleasure in doing things" in html
    assert html.count('type="radio"') == 40  # ten items, four options each
    assert "Nearly every day" in html and "(optional)" in html


def test_an_unknown_questionnaire_is_404(client, token):
    assert client.get(_form(token, "no-such-thing")).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_valid_submission_is_stored_scored_and_confirmed(client, north, token):
    page = _post(client, token, "srs", {"1": "9.5", "2": "9", "3": "8,7", "4": "10"})
    assert page.status_code == 302
    response = Response.objects.get()
    assert response.client == north.client and response.source == Response.Source.FORM
    assert response.answers == {"1": 9.5, "2": 9, "3": 8.7, "4": 10}
    assert response.status == Response.Status.SCORED
    assert str(response.scores.get().total.normalize()) == "37.2"
    done = client.get(page["Location"])
    assert "your answers were sent" in done.content.decode()
    assert AuditEvent.objects.filter(action="create", object_type="response", object_ids=[str(response.pk)]).exists()


@pytest.mark.django_db(transaction=True)
def test_a_double_submit_stores_one_response(client, token):
    page = client.get(_form(token, "srs"))
    form_key = re.search(r'name="form_key" value="([^"]+)"', page.content.decode()).group(1)
    data = {"version": "1.0.0", "form_key": form_key, **{f"answers.{n}": "9" for n in range(1, 5)}}
    first = client.post(_form(token, "srs"), data)
    second = client.post(_form(token, "srs"), data)
    assert first["Location"] == second["Location"]
    assert Response.objects.count() == 1


@pytest.mark.parametrize(
    "answers, field, message",
    [
        ({"1": "9", "2": "9", "3": "9"}, "4", "Please answer this question."),
        ({"1": "10.5", "2": "9", "3": "9", "4": "9"}, "1", "Please enter a number from 0 to 10."),
        ({"1": "9.25", "2": "9", "3": "9", "4": "9"}, "1", "decimal place"),
        ({"1": "nine", "2": "9", "3": "9", "4": "9"}, "1", "number"),
        ({"1": "NaN", "2": "9", "3": "9", "4": "9"}, "1", "number"),
    ],
)
def test_invalid_answers_are_refused_with_the_problem_next_to_the_field(client, token, answers, field, message):
    page = _post(client, token, "srs", answers)
    html = page.content.decode()
    assert page.status_code == 400
    assert not Response.objects.exists()
    error = re.search(rf'<p class="field-error" id="item-{field}-error">([^<]+)</p>', html)
    assert error and message in error.group(1), html[:3000]
    assert 'role="alert"' in html


@pytest.mark.parametrize(
    "answers, field, message",
    [
        ({"1": "9", "2": "9", "3": "9"}, "4", "Bitte beantworten Sie diese Frage."),
        ({"1": "10,5", "2": "9", "3": "9", "4": "9"}, "1", "Bitte geben Sie eine Zahl von 0 bis 10 ein."),
        ({"1": "9.25", "2": "9", "3": "9", "4": "9"}, "1", "Bitte verwenden Sie höchstens 1 Nachkommastelle."),
        ({"1": "neun", "2": "9", "3": "9", "4": "9"}, "1", "Bitte geben Sie eine Zahl ein."),
    ],
)
def test_a_german_form_page_words_the_validation_problems_in_german(client, token, answers, field, message):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "de"
    page = _post(client, token, "srs", answers)
    html = page.content.decode()
    assert page.status_code == 400 and page["Content-Language"] == "de"
    error = re.search(rf'<p class="field-error" id="item-{field}-error">([^<]+)</p>', html)
    assert error and error.group(1) == message, html[:3000]
    assert "Please" not in html and "must be" not in html


def test_the_api_keeps_its_english_messages_whatever_the_language_asked_for(north):
    answer = north.api().post(
        "/api/v1/responses/",
        {"questionnaire": "srs", "client": north.client.external_id, "authored": timezone.now().isoformat(),
         "answers": {"1": 10.5, "2": 9, "3": 9, "4": 9}},
        format="json", HTTP_ACCEPT_LANGUAGE="de",
    )
    assert answer.status_code == 400
    assert {"field": "answers.1", "message": "must be between 0 and 10", "code": "out_of_range"} in answer.json()[
        "errors"
    ]


def test_a_problem_the_page_has_no_wording_for_is_a_plain_refusal_in_the_pages_language():
    from django.utils import translation

    from questionnaires.validation import Problem
    from questionnaires.views.take import form_message

    with translation.override("de"):
        assert form_message(Problem("answers.1", "something new", "new_code")) == (
            "Diese Antwort konnte nicht angenommen werden. Bitte prüfen Sie sie."
        )
        assert form_message(Problem("answers.2", "must be one of 0, 1.5", "not_an_option", (("options", "0, 1.5"),))) \
            == "Bitte wählen Sie eine der Antworten (0, 1,5)."
        assert form_message(
            Problem("answers", "3 scored items are missing", "too_many_missing", (("missing", "3"), ("allowed", "1"))),
            general=True,
        ) == "3 Fragen sind noch nicht beantwortet; höchstens 1 dürfen offen bleiben."


def test_a_likert_answer_off_the_scale_is_refused(client, token):
    answers = {str(n): "0" for n in range(1, 10)}
    answers["3"] = "4"
    page = _post(client, token, "phq-9", answers)
    assert page.status_code == 400 and not Response.objects.exists()
    assert 'id="item-3-error"' in page.content.decode()


def test_the_form_is_csrf_protected(north, token):
    strict = Client(enforce_csrf_checks=True)
    page = strict.post(_form(token, "srs"), {f"answers.{n}": "9" for n in range(1, 5)})
    assert page.status_code == 403
    assert not Response.objects.exists()


def test_confirmation_of_another_clients_response_is_404(client, north, south, token):
    theirs = scored_response(south.client)
    assert client.get(reverse("take-done", args=[token, theirs.pk])).status_code == 404
    assert client.get(reverse("take-done", args=[token, "not-a-uuid"])).status_code == 404


def test_opening_the_form_is_audited_and_a_bad_token_is_audited_as_denied(client, north, token):
    client.get(_form(token, "srs"))
    assert AuditEvent.objects.filter(action="form_open", actor__startswith="client_token:", outcome="ok").exists()
    prefix = token.split(".")[0]
    client.get(_form(prefix + ".wrong", "srs"))
    assert AuditEvent.objects.filter(action="form_open", actor=f"client_token:{prefix}", outcome="denied").exists()


def test_phq9_and_gad7_show_their_public_domain_stem_and_recall_period(client, token):
    phq9 = client.get(_form(token, "phq-9")).content.decode()
    assert "Over the last 2 weeks, how often have you been bothered by any of the following problems?" in phq9
    assert "the last 2 weeks" in phq9
    gad7 = client.get(_form(token, "gad-7")).content.decode()
    assert "Over the last 2 weeks, how often have you been bothered by the following problems?" in gad7


def test_an_unlicensed_stem_is_not_served_but_its_recall_period_is(client, token):
    srs = client.get(_form(token, "srs")).content.decode()
    assert 'class="instructions"' not in srs
    assert "today&#x27;s session" in srs or "today's session" in srs
    german = client.get(_form(token, "srs"), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "die heutige Sitzung" in german


def test_no_slider_shows_a_preset_value_before_it_is_touched(client, token):
    html = client.get(_form(token, "srs")).content.decode()
    assert html.count('class="untouched" aria-valuetext="not answered yet"') == 4
    assert 'type="number" id="item-1" name="answers.1" min="0" max="10" step="0.1" inputmode="decimal" value=""' in html


def test_an_instrument_whose_item_text_is_not_licensed_is_not_offered_without_a_text_pack(client, token, settings):
    settings.QUESTIONNAIRE_TEXT_PACKS = []
    index = client.get(reverse("take-index", args=[token])).content.decode()
    assert "Working Alliance Inventory" not in index and "Session Rating Scale" not in index
    assert "PHQ-9" in index and "Goal" in index  # public-domain text and the client's own goals stay
    assert client.get(_form(token, "wai-sr")).status_code == 404
    assert client.get(_form(token, "srs")).status_code == 404


def test_the_admin_says_why_an_instrument_is_not_offered_to_clients(admin_client, settings):
    settings.QUESTIONNAIRE_TEXT_PACKS = []
    html = admin_client.get(reverse("admin-plugins")).content.decode()
    assert "Not offered: Its licence does not let the project serve the item text" in html
    assert "Offered" in html


def test_the_thank_you_page_shows_the_time_on_the_clinics_clock(client, north, token):
    from zoneinfo import ZoneInfo

    north.clinic.time_zone = "Europe/Berlin"
    north.clinic.save()
    page = _post(client, token, "srs", {"1": "9.5", "2": "9", "3": "8.7", "4": "10"})
    done = client.get(page["Location"]).content.decode()
    received = Response.objects.get().received_at.astimezone(ZoneInfo("Europe/Berlin"))
    assert f"{received:%H:%M} (Europe/Berlin)" in done
    assert "(UTC)" not in done


def test_a_clinic_time_zone_must_be_an_iana_name(north):
    from django.core.exceptions import ValidationError

    north.clinic.time_zone = "Mars/Olympus"
    with pytest.raises(ValidationError) as raised:
        north.clinic.full_clean()
    assert "time_zone" in raised.value.message_dict


def test_a_german_form_page_is_german_throughout(client, token):
    html = client.get(_form(token, "srs"), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert '<html lang="de">' in html
    for german in ("Alle Fragebögen", "Antworten senden", "Bewegen Sie den Regler", "Denken Sie an:"):
        assert german in html, german
    for english in ("All questionnaires", "Send my answers", "Move the slider", "Think of:"):
        assert english not in html, english
    index = client.get(reverse("take-index", args=[token]), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Ihre Fragebögen" in index and "Your questionnaires" not in index


def test_every_language_a_shipped_definition_carries_has_a_message_file():
    from pathlib import Path

    from django.conf import settings

    from questionnaires.registry import get_registry

    carried = {language for definition in get_registry().all() for language in definition.translations}
    assert carried <= {code for code, _ in settings.LANGUAGES}
    for language in carried:
        assert (Path(settings.LOCALE_PATHS[0]) / language / "LC_MESSAGES" / "django.mo").exists(), language


def test_a_text_pack_may_supply_an_unlicensed_instruments_stem(client, token, settings, tmp_path):
    import json

    pack = json.loads(settings_pack_text(settings))
    pack["srs"]["*"]["en"]["instructions"] = "Licensed test stem: rate today's session."
    path = tmp_path / "with-stem.json"
    path.write_text(json.dumps(pack), encoding="utf-8")
    settings.QUESTIONNAIRE_TEXT_PACKS = [str(path)]
    html = client.get(_form(token, "srs")).content.decode()
    assert 'class="instructions"' in html and "Licensed test stem" in html


def settings_pack_text(settings) -> str:
    from pathlib import Path

    return Path(settings.QUESTIONNAIRE_TEXT_PACKS[0]).read_text(encoding="utf-8")

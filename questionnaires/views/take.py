"""The client-facing form page (/take/<client token>/): the token's client answers questionnaires on a phone.

Submissions go through the same service as the REST API (`response_submit`), so the same
validation, storage and scoring apply. The token is the only key: nothing about any other
client is reachable, and an unknown, expired or revoked token gets the same friendly 404.
"""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from questionnaires.api.views.questionnaires import preferred_language
from questionnaires.client_offer import not_offered_because
from questionnaires.contract import Questionnaire
from questionnaires.definitions import definition_as_dict
from questionnaires.dynamic_items import definition_for_client
from questionnaires.models import ClientToken, Response
from questionnaires.principals import Principal
from questionnaires.registry import get_registry
from questionnaires.selectors.client_progress import client_progress
from questionnaires.selectors.due import client_form_offer
from questionnaires.selectors.responses import response_get_visible
from questionnaires.services.audit import audit_denial_record, audit_record
from questionnaires.services.errors import ServiceError
from questionnaires.services.responses import response_submit
from questionnaires.validation import Problem

MAX_TOKEN_LENGTH = 200
FORM_KEY_PREFIX = "form:"


def token_principal(token: str) -> Principal | None:
    """The client behind a usable token; None for anything else (wrong, revoked, expired, malformed)."""
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.isprintable() or " " in token:
        return None
    prefix, dot, _ = token.partition(".")
    if not dot or not prefix:
        return None
    row = ClientToken.objects.select_related("client").filter(prefix=prefix).first()
    if row is None:
        return None
    if not row.is_valid(token) or row.revoked or row.has_expired:
        audit_denial_record(
            actor=f"client_token:{row.prefix}",
            action="form_open",
            object_type="client",
            clinic_id=row.client.clinic_id,
            outcome="denied",
            detail="invalid, revoked or expired token on the form page",
        )
        return None
    return Principal(
        kind="client_token",
        clinic_id=row.client.clinic_id,
        credential=row,
        credential_prefix=row.prefix,
        therapy_client=row.client,
    )


def _private(response: HttpResponse) -> HttpResponse:
    """The token is in the URL: keep it out of other sites' referrers and out of search engines.

    `same-origin` rather than `no-referrer`: with no referrer at all, browsers send `Origin: null`
    on the form's POST, which Django's CSRF check rightly refuses.
    """
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex"
    return response


def _render(request: HttpRequest, template: str, context: dict | None = None, *, language: str | None = None,
            status: int = 200) -> HttpResponse:
    """A form page in one language throughout: the questionnaire's language where there is one,
    else the best match of Accept-Language among `settings.LANGUAGES` (message files in `locale/`)."""
    language = language or translation.get_language_from_request(request)
    with translation.override(language):
        response = render(request, template, context, status=status)
    response["Content-Language"] = language
    return _private(response)


def _unavailable(request: HttpRequest) -> HttpResponse:
    return _render(request, "take/unavailable.html", status=404)


def client_questionnaires() -> list[Questionnaire]:
    """The latest version of each questionnaire a client fills in themselves and can read
    (see `client_offer`: item text licensed, supplied by a text pack, or the client's own goals)."""
    return [definition for definition in get_registry().latest() if not not_offered_because(definition)]


def _audit(principal: Principal, action: str, *, object_type: str, object_ids: list[str], detail: str = "") -> None:
    audit_record(
        actor=principal.label,
        action=action,
        object_type=object_type,
        object_ids=object_ids,
        clinic_id=principal.clinic_id,
        detail=detail,
    )


@never_cache
def take_index(request: HttpRequest, token: str) -> HttpResponse:
    principal = token_principal(token)
    if principal is None:
        return _unavailable(request)
    definitions = {definition.id: definition for definition in client_questionnaires()}
    offer = client_form_offer(client=principal.therapy_client, offered=list(definitions))

    def cards(ids: list[str]) -> list[dict]:
        return [
            {"id": one, "title": definition_as_dict(definitions[one], language=preferred_language(
                request, definitions[one]))["title"], "items": len(definitions[one].items)}
            for one in ids
        ]

    context = {
        "token": token, "course": offer["course"], "session": offer["session"], "due": cards(offer["due"]),
        "done": cards(offer["done"]), "upcoming": cards(offer["upcoming"]), "questionnaires": cards(offer["others"]),
    }
    _audit(principal, "form_open", object_type="client", object_ids=[principal.therapy_client.external_id])
    return _render(request, "take/index.html", context)


def _fields(shaped: dict, values: dict[str, str], errors: dict[str, list[str]]) -> list[dict]:
    fields = []
    for number, item in enumerate(shaped["items"], start=1):
        link_id = item["linkId"]
        value = values.get(link_id, "")
        field: dict[str, Any] = {
            "number": number,
            "link_id": link_id,
            "name": f"answers.{link_id}",
            "dom_id": f"item-{number}",
            "label": item["label"],
            "text": item.get("text") or "",
            "type": item["type"],
            "required": item["required"],
            "value": value,
            "errors": errors.get(link_id, []),
        }
        if item["type"] == "choice":
            field["options"] = [
                {"value": str(option["value"]), "label": option["label"], "checked": str(option["value"]) == value}
                for option in item["options"]
            ]
        else:
            field["min"], field["max"], field["step"] = item["min"], item["max"], item["step"]
            field["slider"] = item["type"] == "decimal"
        fields.append(field)
    return fields


def _answer(raw: str, item_type: str) -> Any:
    """Form text to the number the API would receive; anything unparsable is passed on for validation to reject."""
    text = raw.strip().replace(",", ".")
    if item_type == "decimal":
        try:
            number = Decimal(text)
        except InvalidOperation:
            return text
        return number if number.is_finite() else text
    try:
        return int(text)
    except ValueError:
        return text


def _idempotency_key(raw: str) -> str:
    """The key the form page was rendered with, so a double tap on submit stores one response."""
    try:
        return f"{FORM_KEY_PREFIX}{uuid.UUID(raw)}"
    except (ValueError, AttributeError):
        return f"{FORM_KEY_PREFIX}{uuid.uuid4()}"


@never_cache
@csrf_protect
def take_form(request: HttpRequest, token: str, questionnaire_id: str) -> HttpResponse:
    principal = token_principal(token)
    if principal is None:
        return _unavailable(request)
    definition = next((one for one in client_questionnaires() if one.id == questionnaire_id), None)
    if definition is None:
        return _unavailable(request)
    if request.method == "POST":
        version = request.POST.get("version", "")
        definition = get_registry().get(questionnaire_id, version) or definition
    shaped = definition_as_dict(
        definition_for_client(definition, principal.therapy_client, goal_text_labels=True),  # goals: one item each
        language=preferred_language(request, definition),
    )
    values: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    general: list[str] = []
    if request.method == "POST":
        answers = {}
        for item in shaped["items"]:
            raw = request.POST.get(f"answers.{item['linkId']}", "")
            values[item["linkId"]] = raw[:50]
            if raw.strip():
                answers[item["linkId"]] = _answer(raw[:50], item["type"])
        payload = {
            "questionnaire": definition.id,
            "version": definition.version,
            "authored": timezone.now().isoformat(),
            "answers": answers,
        }
        key = _idempotency_key(request.POST.get("form_key", ""))
        earlier = Response.objects.filter(
            clinic_id=principal.clinic_id, client_id=principal.therapy_client_id, idempotency_key=key
        ).first()
        if earlier is not None:
            # The same rendered form sent twice (a double tap, a reload): its `authored` differs, so the
            # service would call it a different body; it is the same answer, so confirm the first one.
            return HttpResponseRedirect(reverse("take-done", args=[token, earlier.pk]))
        try:
            result = response_submit(
                principal=principal, payload=payload, idempotency_key=key, source=Response.Source.FORM
            )
        except ServiceError as error:
            # The client reads these: worded again in the page's language from each problem's code and
            # params (the API keeps its English messages for integrations).
            with translation.override(shaped["language"]):
                for problem in error.problems:
                    field = problem.field
                    if field.startswith("answers."):
                        errors.setdefault(field.removeprefix("answers."), []).append(form_message(problem))
                    else:
                        general.append(form_message(problem, general=True))
                if not error.problems:
                    general.append(str(GENERAL_REFUSAL))
            _audit(principal, "create", object_type="response", object_ids=[], detail=f"form {definition.id} rejected")
        else:
            _audit(principal, "create", object_type="response", object_ids=[str(result.response.pk)],
                   detail=f"form {definition.id}")
            return HttpResponseRedirect(reverse("take-done", args=[token, result.response.pk]))
    else:
        _audit(principal, "form_open", object_type="client", object_ids=[principal.therapy_client.external_id],
               detail=f"form {definition.id}")
    context = {
        "token": token,
        "questionnaire": shaped,
        "fields": _fields(shaped, values, errors),
        "general_errors": general,
        "error_count": sum(len(messages) for messages in errors.values()) + len(general),
        "form_key": str(uuid.uuid4()),
    }
    status = 400 if request.method == "POST" else 200
    return _render(request, "take/form.html", context, language=shaped["language"], status=status)


FORM_MESSAGES = {
    ("required", ""): gettext_lazy("Please answer this question."),
    ("invalid_type", "number"): gettext_lazy("Please enter a number."),
    ("invalid_type", "finite"): gettext_lazy("Please enter a number."),
    ("invalid_type", "whole"): gettext_lazy("Please enter a whole number."),
    ("not_an_option", ""): gettext_lazy("Please choose one of the answers (%(options)s)."),
    ("out_of_range", "range"): gettext_lazy("Please enter a number from %(min)s to %(max)s."),
    ("out_of_range", "multiple"): gettext_lazy("Please enter %(min)s plus a multiple of %(step)s."),
    ("too_many_missing", ""): gettext_lazy(
        "%(missing)s questions are not answered yet; at most %(allowed)s may be left out."
    ),
}
"""Validation problems (`validation.Problem` code and `rule`) as the form page words them, in its language."""

ITEM_REFUSAL = gettext_lazy("This answer could not be accepted. Please check it.")
GENERAL_REFUSAL = gettext_lazy("Your answers could not be sent. Please try again, or ask your clinic.")


def form_message(problem: Problem, *, general: bool = False) -> str:
    """A problem in the active language, numbers written as that language writes them (7,5 in German).

    Problems the page has no wording for get a plain refusal rather than English in a German page.
    """
    arguments = problem.arguments
    if problem.code == "out_of_range" and arguments.get("rule") == "places":
        places = int(arguments["places"])
        return ngettext(
            "Please use at most %(places)s decimal place.", "Please use at most %(places)s decimal places.", places
        ) % {"places": formats.localize(places)}
    template = FORM_MESSAGES.get((problem.code, arguments.get("rule", "")))
    if template is None:
        return str(GENERAL_REFUSAL if general else ITEM_REFUSAL)
    shown = {name: _localized(value) for name, value in arguments.items() if name != "rule"}
    return str(template) % shown if shown else str(template)


def _localized(value: str) -> str:
    """Numbers (and comma-separated lists of them) as the active language writes them."""
    parts = []
    for part in value.split(", "):
        try:
            parts.append(formats.localize(Decimal(part)))
        except InvalidOperation:
            parts.append(part)
    return ", ".join(parts)


@never_cache
def take_done(request: HttpRequest, token: str, response_id: str) -> HttpResponse:
    principal = token_principal(token)
    if principal is None:
        return _unavailable(request)
    response = response_get_visible(principal=principal, response_id=response_id)
    if response is None:
        return _unavailable(request)
    definition = get_registry().get(
        response.questionnaire_version.questionnaire_id, response.questionnaire_version.version
    )
    title = response.questionnaire_version.title if definition is None else definition_as_dict(
        definition, language=preferred_language(request, definition)
    )["title"]
    _audit(principal, "read", object_type="response", object_ids=[str(response.pk)], detail="form confirmation")
    progress = client_progress(client=principal.therapy_client)
    context = {
        "token": token, "title": title, "response": response, "time_zone": _clinic_zone(principal),
        "progress": [row for row in progress["instruments"]
                     if row["questionnaire"] == response.questionnaire_version.questionnaire_id],
        "goals": progress["goals"],
    }
    return _render(request, "take/done.html", context)


def _clinic_zone(principal: Principal) -> str:
    """The clinic's time zone (a clinic setting): a client reads times as their clinic's clock shows them."""
    zone = principal.therapy_client.clinic.time_zone or "UTC"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return zone

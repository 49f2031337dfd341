"""The FHIR endpoints: thin views that parse search parameters, call a selector or service, and shape a resource."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils.http import http_date
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.response import Response as DRFResponse
from rest_framework.views import APIView

from questionnaires.api.authentication import (
    ApiKeyAuthentication,
    ClientTokenAuthentication,
    StaffTokenAuthentication,
)
from questionnaires.api.permissions import KindAllowed
from questionnaires.api.throttling import CredentialThrottle
from questionnaires.contract import Questionnaire
from questionnaires.fhir.bundle import history_bundle, searchset_bundle
from questionnaires.fhir.capability import capability_statement
from questionnaires.fhir.codes import FHIR_JSON, canonical_base
from questionnaires.fhir.episode_outcome import episode_outcome_observations, outcome_collection
from questionnaires.fhir.errors import fhir_exception_handler
from questionnaires.fhir.foreign_registration import (
    foreign_id,
    foreign_questionnaire_create,
    foreign_questionnaire_resource,
)
from questionnaires.fhir.formats import PARSERS, RENDERERS
from questionnaires.fhir.ingest import (
    conditional_identifier,
    fhir_response_conditional_update,
    fhir_response_create,
    fhir_response_retract,
    fhir_response_update,
)
from questionnaires.fhir.observation import observation_resource
from questionnaires.fhir.outcome import FhirError, Issue, fhir_error, operation_outcome
from questionnaires.fhir.patient import patient_resource, patients_search
from questionnaires.fhir.questionnaire import questionnaire_name, questionnaire_resource
from questionnaires.fhir.response_export import questionnaire_response_resource
from questionnaires.fhir.search import (
    observations_search,
    paging,
    questionnaire_responses_search,
    supported_parameters,
)
from questionnaires.input_bounds import record_id
from questionnaires.languages import language_from_header
from questionnaires.models import Response, Score
from questionnaires.principals import Principal
from questionnaires.registry import get_registry
from questionnaires.selectors.care import episode_get_visible
from questionnaires.selectors.clients import clients_visible_to
from questionnaires.selectors.episode_outcomes import episode_outcome_get
from questionnaires.selectors.foreign_questionnaires import foreign_questionnaire_get, foreign_questionnaires_of
from questionnaires.selectors.response_history import response_versions
from questionnaires.selectors.responses import response_get_visible, responses_visible_to
from questionnaires.services.audit import audit_record

CORRECTION_REASON_HEADER = "X-Correction-Reason"
"""FHIR has no field for why a response was corrected; a sender may say it in this header (audited)."""


def fhir_base(request: Any) -> str:
    """The service base URL clients used to reach us, e.g. https://host/fhir."""
    return request.build_absolute_uri(reverse("fhir:metadata")).removesuffix("/metadata")


class FhirNegotiation(DefaultContentNegotiation):
    """FHIR's `_format` parameter and the Accept header: JSON is served; asking only for anything else is a 406.

    No Accept header, `*/*` or `application/*` (as browsers and most clients send) get FHIR JSON.
    """

    def select_renderer(self, request: Any, renderers: list, format_suffix: str | None = None) -> tuple:
        requested = request.query_params.get("_format")
        if requested and requested.split(";", 1)[0].strip().lower() not in JSON_FORMATS:
            raise exceptions.NotAcceptable(
                f"_format {requested[:60]!r} is not supported; this server serves JSON only (_format=json)"
            )
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except exceptions.NotAcceptable:
            accept = request.META.get("HTTP_ACCEPT", "")[:100]
            if not accept.strip():  # an empty Accept header asks for nothing in particular
                return renderers[0], renderers[0].media_type
            raise exceptions.NotAcceptable(
                f"Accept {accept!r} cannot be served; this server serves {FHIR_JSON} and application/json only"
            ) from None


JSON_FORMATS = frozenset({"json", FHIR_JSON, "application/json", "application/json+fhir"})


def handling_strict(request: Any) -> bool:
    """`Prefer: handling=strict` (FHIR R4 search, 3.1.1.4): unknown search parameters are an error, not ignored."""
    preferences = {
        part.strip().lower().replace(" ", "")
        for header in request.headers.get("Prefer", "").split(",")
        for part in header.split(";")
    }
    return "handling=strict" in preferences


class FhirView(APIView):
    authentication_classes = [ApiKeyAuthentication, StaffTokenAuthentication, ClientTokenAuthentication]
    permission_classes = [KindAllowed]
    throttle_classes = [CredentialThrottle]
    renderer_classes = RENDERERS
    parser_classes = PARSERS
    content_negotiation_class = FhirNegotiation
    audit_object_type = ""
    # FHIR describes itself through /fhir/metadata (a CapabilityStatement), not the REST API's OpenAPI.
    schema = None

    def get_exception_handler(self):
        return fhir_exception_handler

    @property
    def principal(self) -> Principal:
        return self.request.user

    @property
    def base(self) -> str:
        """Where this request reached us: for Location headers and bundle links, never for identities."""
        return fhir_base(self.request)

    @property
    def canonical(self) -> str:
        """The canonical base of the resources' identities (FHIR_CANONICAL_BASE)."""
        return canonical_base()

    def params(self) -> dict[str, list[str]]:
        return {name: self.request.query_params.getlist(name) for name in self.request.query_params}

    search_type = ""
    """The resource type this view searches; its parameters are those the CapabilityStatement lists."""
    ignored_parameters: list[str] = []

    def search_params(self) -> dict[str, list[str]]:
        """The query's parameters this search applies.

        The others are an error under `Prefer: handling=strict`; otherwise (lenient, the default) they
        are left out of the search, of the Bundle's links, and named in an OperationOutcome entry.
        """
        params = self.params()
        supported = supported_parameters(self.search_type)
        self.ignored_parameters = [name for name in params if name not in supported]
        if self.ignored_parameters and handling_strict(self.request):
            raise FhirError(400, [
                Issue(code="not-supported", diagnostics=f"search parameter {name[:60]!r} is not supported on "
                      f"{self.search_type}; supported: {', '.join(sorted(supported))}", expression=_expression(name))
                for name in self.ignored_parameters
            ])
        return {name: values for name, values in params.items() if name in supported}

    def audit(self, *, action: str, object_ids: list[Any]) -> None:
        audit_record(
            actor=self.principal.label,
            action=action,
            object_type=self.audit_object_type,
            object_ids=[str(object_id) for object_id in object_ids],
            clinic_id=self.principal.clinic_id,
            detail=f"{self.request.method} {self.request.get_full_path()}"[:300],
        )

    def resource(self, body: dict, status: int = 200, headers: dict[str, str] | None = None) -> DRFResponse:
        return DRFResponse(body, status=status, headers=headers or {}, content_type=FHIR_JSON)

    def bundle(self, resource_type: str, resources: list[dict], total: int, offset: int, count: int) -> DRFResponse:
        supported = supported_parameters(resource_type)
        params = [
            (name, value)
            for name, values in self.params().items()
            if name in supported and name not in ("_count", "_offset")
            for value in values
        ]
        outcome = None
        if self.ignored_parameters:
            outcome = operation_outcome([
                Issue(code="not-supported", severity="warning", expression=_expression(name),
                      diagnostics=f"search parameter {name[:60]!r} is not supported and was ignored")
                for name in self.ignored_parameters
            ])
        return self.resource(
            searchset_bundle(
                resources=resources,
                total=total,
                base=self.base,
                resource_type=resource_type,
                params=params,
                offset=offset,
                count=count,
                outcome=outcome,
            )
        )


class MetadataView(FhirView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    def get(self, request: Any) -> DRFResponse:
        return self.resource(capability_statement(base=self.base))


class QuestionnaireSearchView(FhirView):
    search_type = "Questionnaire"
    audit_object_type = "fhir.Questionnaire"
    allowed_kinds_by_method = {
        "GET": frozenset({"api_key", "clinician", "supervisor", "client_token"}),
        "POST": frozenset({"api_key", "supervisor"}),
    }

    def get(self, request: Any) -> DRFResponse:
        params = self.search_params()
        offset, count = paging(params)
        definitions = [d for d in get_registry().all() if _questionnaire_matches(d, params, self.canonical)]
        resources = [questionnaire_resource(d, base=self.canonical) for d in definitions]
        resources += [
            foreign_questionnaire_resource(form)
            for form in foreign_questionnaires_of(clinic_id=self.principal.clinic_id)
            if _foreign_matches(form, params)
        ]
        return self.bundle("Questionnaire", resources[offset : offset + count], len(resources), offset, count)

    def post(self, request: Any) -> DRFResponse:
        """Register a sender's own form for this clinic: a map onto a plugin, never a replacement of one."""
        registered = foreign_questionnaire_create(principal=self.principal, payload=request.data)
        self.audit(action="create" if registered.created else "read", object_ids=[registered.stored.pk])
        resource = foreign_questionnaire_resource(registered.stored)
        location = f"{self.base}/Questionnaire/{resource['id']}"
        return self.resource(resource, status=201 if registered.created else 200, headers={"Location": location})


def _foreign_matches(form: Any, params: dict[str, list[str]]) -> bool:
    """Registered forms answer a search by `url` (with `|version`) or `_id` only; other searches are the plugins'."""
    if set(params) - {"url", "_id", "_count", "_offset"} or not ({"url", "_id"} & set(params)):
        return False
    for value in params.get("url", []):
        url, _, version = value.partition("|")
        if url.rstrip("/") != form.url or (version and version != form.version):
            return False
    return all(value == f"foreign-{form.pk}" for value in params.get("_id", []))


def _questionnaire_matches(definition: Questionnaire, params: dict[str, list[str]], base: str) -> bool:
    def any_of(name: str) -> list[str] | None:
        if name not in params:
            return None
        return [part.strip() for value in params[name] for part in value.split(",") if part.strip()]

    url = f"{base}/Questionnaire/{definition.id}"
    if (values := any_of("url")) is not None and not any(_url_matches(value, url, definition) for value in values):
        return False
    if (values := any_of("version")) is not None and definition.version not in values:
        return False
    if (values := any_of("_id")) is not None and definition.id not in values:
        return False
    if (values := any_of("status")) is not None and "active" not in values:
        return False
    if (values := any_of("name")) is not None and not any(
        questionnaire_name(definition).casefold().startswith(v.casefold()) or definition.id == v.casefold()
        for v in values
    ):
        return False
    if (values := any_of("title")) is not None and not any(
        definition.title.casefold().startswith(v.casefold()) for v in values
    ):
        return False
    if (values := any_of("code")) is not None:
        code = definition.code
        if code is None or not any(v.rpartition("|")[2] == code.code for v in values):
            return False
    return True


def _url_matches(value: str, url: str, definition: Questionnaire) -> bool:
    given, _, version = value.partition("|")
    if version and version != definition.version:
        return False
    given = given.rstrip("/")
    # The host an EHR saw us under may differ from this request's; the path is what identifies the questionnaire.
    return given == url or given.endswith(f"/Questionnaire/{definition.id}")


class QuestionnaireReadView(FhirView):
    def get(self, request: Any, questionnaire_id: str, version: str | None = None) -> DRFResponse:
        definition = get_registry().get(questionnaire_id, version)
        registered_id = foreign_id(questionnaire_id) if definition is None and version is None else None
        if registered_id is not None:
            form = foreign_questionnaire_get(clinic_id=self.principal.clinic_id, foreign_id=registered_id)
            if form is not None:
                return self.resource(foreign_questionnaire_resource(form))
        if definition is None:
            what = f"Questionnaire/{questionnaire_id}" + (f"/_history/{version}" if version else "")
            raise fhir_error(404, "not-found", f"{what} is not known")
        language = language_from_header(request.META.get("HTTP_ACCEPT_LANGUAGE"), definition)
        return self.resource(
            questionnaire_resource(definition, base=self.canonical, language=language),
            headers=_etag(definition.version),
        )


class QuestionnaireResponseView(FhirView):
    audit_object_type = "fhir.QuestionnaireResponse"
    search_type = "QuestionnaireResponse"

    def get(self, request: Any) -> DRFResponse:
        params = self.search_params()
        offset, count = paging(params)
        responses = questionnaire_responses_search(responses_visible_to(self.principal), params)
        total = responses.count()
        page = list(responses[offset : offset + count])
        self.audit(action="search", object_ids=[response.pk for response in page])
        registry = get_registry()
        resources = [questionnaire_response_resource(r, _definition_of(r, registry), base=self.canonical) for r in page]
        return self.bundle("QuestionnaireResponse", resources, total, offset, count)

    def post(self, request: Any) -> DRFResponse:
        created = fhir_response_create(
            principal=self.principal,
            payload=request.data,
            if_none_exist=request.headers.get("If-None-Exist"),
            reason=request.headers.get(CORRECTION_REASON_HEADER),
        )
        return self._written(request, created.response, created=created.created, warnings=_warnings_of(created))

    def put(self, request: Any) -> DRFResponse:
        """Conditional update: `PUT QuestionnaireResponse?identifier=system|value`."""
        criteria = [name for name in self.request.query_params if name != "identifier"]
        identifier = self.request.query_params.get("identifier")
        if criteria or not identifier:
            raise fhir_error(400, "not-supported", "conditional update supports only ?identifier=<system>|<value>")
        found = conditional_identifier(f"identifier={identifier}")
        assert found is not None
        created = fhir_response_conditional_update(
            principal=self.principal, identifier=found, payload=request.data,
            reason=request.headers.get(CORRECTION_REASON_HEADER),
        )
        return self._written(request, created.response, created=created.created, warnings=_warnings_of(created))

    def _written(self, request: Any, response: Response, *, created: bool, warnings: list[Issue]) -> DRFResponse:
        response = responses_visible_to(self.principal, include_retracted=True).get(pk=response.pk)
        self.audit(action="create" if created else "write", object_ids=[response.pk])
        return written_response(self, request, response, created=created, warnings=warnings)


def _warnings_of(created: Any) -> list[Issue]:
    return list(created.parsed.warnings) if created.parsed is not None else []


def written_response(
    view: FhirView, request: Any, response: Response, *, created: bool, warnings: list[Issue] | None = None
) -> DRFResponse:
    """201 or 200 with Location, ETag and the resource (or what `Prefer: return=` asks for).

    Warnings (another wording of an item identified by its code, a sender's total that disagrees)
    travel in an OperationOutcome: when asked for, or by default when there are any;
    `Prefer: return=representation` keeps the resource.
    """
    warnings = warnings or []
    version = str(response.version)
    location = f"{view.base}/QuestionnaireResponse/{response.pk}/_history/{version}"
    headers = {
        "Location": location, **_etag(version),
        "Last-Modified": _http_date(response.corrected_at or response.received_at),
    }
    status = 201 if created else 200
    prefer = request.headers.get("Prefer", "")
    if "return=minimal" in prefer:
        return DRFResponse(None, status=status, headers=headers)
    if "return=OperationOutcome" in prefer or (warnings and "return=representation" not in prefer):
        message = "created" if created else f"stored; current version {version}"
        body = operation_outcome(
            [Issue(code="informational", severity="information", diagnostics=message), *warnings]
        )
        return view.resource(body, status=status, headers=headers)
    resource = questionnaire_response_resource(
        response, _definition_of(response, get_registry()), base=view.canonical
    )
    return view.resource(resource, status=status, headers=headers)


class QuestionnaireResponseReadView(FhirView):
    audit_object_type = "fhir.QuestionnaireResponse"

    def get(self, request: Any, response_id: str, version: str | None = None) -> DRFResponse:
        response = self._visible(response_id)
        if version is not None:
            response = next((v for v in response_versions(response) if str(v.version) == version), None)
            if response is None:
                what = f"QuestionnaireResponse/{response_id}/_history/{version}"
                raise fhir_error(404, "not-found", f"{what} is not known")
        self.audit(action="read", object_ids=[response.pk])
        resource = questionnaire_response_resource(
            response, _definition_of(response, get_registry()), base=self.canonical
        )
        return self.resource(resource, headers=_etag(str(response.version)))

    def put(self, request: Any, response_id: str, version: str | None = None) -> DRFResponse:
        if version is not None:
            raise fhir_error(405, "not-supported", "a past version cannot be updated")
        self._check_if_match(response_id)
        created = fhir_response_update(
            principal=self.principal, response_id=response_id, payload=request.data,
            reason=request.headers.get(CORRECTION_REASON_HEADER),
        )
        self.audit(action="write", object_ids=[created.response.pk])
        return written_response(self, request, created.response, created=False, warnings=_warnings_of(created))

    def delete(self, request: Any, response_id: str, version: str | None = None) -> DRFResponse:
        if version is not None:
            raise fhir_error(405, "not-supported", "a past version cannot be deleted")
        response = fhir_response_retract(
            principal=self.principal, response_id=response_id, reason=request.headers.get(CORRECTION_REASON_HEADER)
        )
        self.audit(action="retract", object_ids=[response.pk])
        return DRFResponse(None, status=204, headers=_etag(str(response.version)))

    def _visible(self, response_id: str) -> Response:
        response = response_get_visible(principal=self.principal, response_id=response_id, include_retracted=True)
        if response is None:
            raise fhir_error(404, "not-found", f"QuestionnaireResponse/{response_id} is not known")
        return response

    def _check_if_match(self, response_id: str) -> None:
        """`If-Match: W/"n"`: the update applies only to version n (optimistic locking), else 412."""
        expected = self.request.headers.get("If-Match")
        if not expected:
            return
        current = str(self._visible(response_id).version)
        if expected.strip().removeprefix("W/").strip('"') != current:
            raise fhir_error(412, "conflict", f"the current version is {current}, not {expected}")


class QuestionnaireResponseHistoryView(FhirView):
    audit_object_type = "fhir.QuestionnaireResponse"

    def get(self, request: Any, response_id: str) -> DRFResponse:
        response = response_get_visible(principal=self.principal, response_id=response_id, include_retracted=True)
        if response is None:
            raise fhir_error(404, "not-found", f"QuestionnaireResponse/{response_id} is not known")
        registry = get_registry()
        definition = _definition_of(response, registry)
        versions = list(reversed(response_versions(response)))  # newest first, as FHIR history reads
        self.audit(action="read", object_ids=[response.pk])
        entries = [
            (questionnaire_response_resource(version, definition, base=self.canonical), index == len(versions) - 1)
            for index, version in enumerate(versions)
        ]
        return self.resource(history_bundle(entries=entries, base=self.base, resource_type="QuestionnaireResponse"))


def _scores_visible_to(principal: Principal):
    return Score.objects.filter(response__in=responses_visible_to(principal).values("pk")).select_related(
        "response__client", "response__clinician", "response__questionnaire_version"
    )


class ObservationView(FhirView):
    audit_object_type = "fhir.Observation"
    search_type = "Observation"

    def get(self, request: Any) -> DRFResponse:
        params = self.search_params()
        offset, count = paging(params)
        registry = get_registry()
        scores = observations_search(_scores_visible_to(self.principal), params, registry=registry, base=self.canonical)
        total = scores.count()
        page = list(scores[offset : offset + count])
        self.audit(action="search", object_ids=[score.pk for score in page])
        resources = [_observation(score, registry, self.canonical) for score in page]
        return self.bundle("Observation", resources, total, offset, count)


class ObservationReadView(FhirView):
    audit_object_type = "fhir.Observation"

    def get(self, request: Any, observation_id: str) -> DRFResponse:
        observation_pk = record_id(observation_id)
        score = (
            _scores_visible_to(self.principal).filter(pk=observation_pk).first() if observation_pk is not None else None
        )
        if score is None:
            raise fhir_error(404, "not-found", f"Observation/{observation_id} is not known")
        self.audit(action="read", object_ids=[score.pk])
        return self.resource(_observation(score, get_registry(), self.canonical))


class PatientView(FhirView):
    audit_object_type = "fhir.Patient"
    search_type = "Patient"

    def get(self, request: Any) -> DRFResponse:
        params = self.search_params()
        offset, count = paging(params)
        clients = patients_search(clients_visible_to(self.principal).select_related("clinic"), params)
        total = clients.count()
        page = list(clients[offset : offset + count])
        self.audit(action="search", object_ids=[client.external_id for client in page])
        resources = [patient_resource(client, base=self.canonical) for client in page]
        return self.bundle("Patient", resources, total, offset, count)


class PatientReadView(FhirView):
    audit_object_type = "fhir.Patient"

    def get(self, request: Any, patient_id: str) -> DRFResponse:
        client = clients_visible_to(self.principal).select_related("clinic").filter(external_id=patient_id).first()
        if client is None:
            raise fhir_error(404, "not-found", f"Patient/{patient_id} is not known")
        self.audit(action="read", object_ids=[client.external_id])
        return self.resource(patient_resource(client, base=self.canonical))


class EpisodeOutcomeView(FhirView):
    """`GET /fhir/EpisodeOfCare/{id}/$outcome`: the episode's outcomes and adherence as Observations."""

    audit_object_type = "fhir.EpisodeOfCare"
    allowed_kinds = frozenset({"api_key", "clinician", "supervisor"})

    def get(self, request: Any, episode_id: str) -> DRFResponse:
        episode = episode_get_visible(principal=self.principal, episode_id=episode_id)
        if episode is None:
            raise fhir_error(404, "not-found", f"EpisodeOfCare/{episode_id} is not known")
        outcome = episode_outcome_get(episode=episode)
        self.audit(action="read", object_ids=[episode.pk])
        resources = episode_outcome_observations(outcome, episode, base=self.canonical)
        return self.resource(outcome_collection(resources, base=self.canonical))


def _observation(score: Score, registry: Any, base: str) -> dict:
    version = score.response.questionnaire_version
    definition = registry.get(version.questionnaire_id, score.plugin_version)
    return observation_resource(score, score.response, definition, base=base)


def _definition_of(response: Response, registry: Any) -> Questionnaire | None:
    version = response.questionnaire_version
    return registry.get(version.questionnaire_id, version.version)


def _expression(name: str) -> tuple[str, ...]:
    """A parameter's name as an issue's expression; none for a blank name (FHIR strings are never blank)."""
    return (name.strip()[:60],) if name.strip() else ()


def _etag(version: str) -> dict[str, str]:
    return {"ETag": f'W/"{version}"'}


def _http_date(moment: Any) -> str:
    return http_date(moment.timestamp())


def not_found(request: HttpRequest, unmatched: str = "") -> JsonResponse:
    """Any other path under /fhir/: an OperationOutcome, not Django's HTML 404."""
    body = operation_outcome(
        [Issue(code="not-supported", diagnostics=f"{request.method} /fhir/{unmatched} is not supported by this server")]
    )
    return JsonResponse(body, status=404, content_type=FHIR_JSON)

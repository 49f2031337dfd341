"""`/questionnaires/`: the plugins' definitions, in the caller's language where a translation exists."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from questionnaires.api.serializers import QuestionnaireSerializer
from questionnaires.api.views.base import ApiListView, ApiView, problem_docs
from questionnaires.contract import Questionnaire
from questionnaires.definitions import definition_as_dict
from questionnaires.languages import language_from_header
from questionnaires.models import QuestionnaireVersion
from questionnaires.registry import get_registry

LANGUAGE_HEADER = OpenApiParameter(
    "Accept-Language", str, OpenApiParameter.HEADER, required=False,
    description="Labels (and text, where licensed) in this language when the questionnaire offers it.",
)


def preferred_language(request: Request, definition: Questionnaire) -> str | None:
    """The first language in Accept-Language (by quality) the definition offers, matching `de-CH` to `de`."""
    return language_from_header(request.META.get("HTTP_ACCEPT_LANGUAGE", ""), definition)


def _shaped(request: Request, definition: Questionnaire) -> dict:
    return definition_as_dict(definition, language=preferred_language(request, definition))


class QuestionnaireListView(ApiListView):
    serializer_class = QuestionnaireSerializer
    query_parameters = frozenset({"all_versions"})
    queryset = QuestionnaireVersion.objects.none()  # only for the schema generator; definitions come from plugins

    @extend_schema(
        parameters=[
            OpenApiParameter("all_versions", bool, description="Every version, not only the latest of each."),
            LANGUAGE_HEADER,
        ],
        responses={200: QuestionnaireSerializer(many=True), **problem_docs(401, 403, 429)},
        summary="List questionnaire definitions (latest version of each by default)",
    )
    def get(self, request: Request) -> Response:
        registry = get_registry()
        all_versions = request.query_params.get("all_versions", "").lower() in ("1", "true", "yes")
        definitions = registry.all() if all_versions else registry.latest()
        page = self.paginate_queryset(definitions)
        shaped = [_shaped(request, definition) for definition in page]
        response = self.get_paginated_response(shaped)
        response["Vary"] = "Accept-Language"
        return response


class QuestionnaireDetailView(ApiView):
    query_parameters = frozenset({"version"})
    serializer_class = QuestionnaireSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("version", str, description="A specific version; default the latest."),
            LANGUAGE_HEADER,
        ],
        responses={200: QuestionnaireSerializer, **problem_docs(401, 403, 404, 429)},
        summary="One questionnaire definition",
    )
    def get(self, request: Request, questionnaire_id: str) -> Response:
        version = request.query_params.get("version") or None
        definition = get_registry().get(questionnaire_id, version)
        if definition is None:
            raise NotFound(
                f"No questionnaire {questionnaire_id!r}" + (f" in version {version!r}." if version else ".")
            )
        body = _shaped(request, definition)
        return Response(body, headers={"Vary": "Accept-Language", "Content-Language": body.get("language", "en")})

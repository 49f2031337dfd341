"""The equity view's endpoints: a clinic's background categories, consented client values (write-only), breakdowns.

Values are never read back for a client: `POST /clients/{external_id}/background/` answers only
whether a value is now stored. `GET /equity/` serves groups, suppressed per EQUITY_MIN_CELL, to
supervisors and the clinic's API key only.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from questionnaires.api.parsing import json_object_body
from questionnaires.api.views.base import ApiView, problem_docs
from questionnaires.api.views.clients import ClientScopedView
from questionnaires.models import BackgroundCategory
from questionnaires.registry import get_registry
from questionnaires.selectors.equity import equity_breakdown
from questionnaires.services.equity import background_category_create, client_background_set
from questionnaires.services.errors import InvalidInput
from questionnaires.validation import Problem

WHOLE_CLINIC = frozenset({"api_key", "supervisor"})

CategorySerializer = inline_serializer(
    "BackgroundCategory",
    {"name": serializers.CharField(), "title": serializers.CharField(),
     "values": serializers.ListField(child=serializers.CharField())},
)
CategoryListSerializer = inline_serializer(
    "BackgroundCategoryList", {"results": serializers.ListField(child=serializers.DictField())}
)
BackgroundSerializer = inline_serializer(
    "ClientBackgroundWrite",
    {"category": serializers.CharField(), "value": serializers.CharField(required=False),
     "consent": serializers.BooleanField()},
)
BackgroundResultSerializer = inline_serializer(
    "ClientBackgroundResult", {"category": serializers.CharField(), "stored": serializers.BooleanField()}
)
EquitySerializer = inline_serializer(
    "Equity",
    {"questionnaire": serializers.CharField(), "category": serializers.CharField(),
     "min_cell": serializers.IntegerField(), "clinic": serializers.ListField(child=serializers.DictField()),
     "clinicians": serializers.ListField(child=serializers.DictField())},
)


def _category_as_dict(category: BackgroundCategory) -> dict:
    return {"name": category.name, "title": category.title, "values": list(category.values)}


class BackgroundCategoryListView(ApiView):
    allowed_kinds = frozenset({"api_key", "clinician", "supervisor"})
    allowed_kinds_by_method = {"POST": WHOLE_CLINIC}
    audit_object_type = "background_category"
    audit_actions = {"GET": "list", "POST": "create"}
    serializer_class = CategorySerializer

    @extend_schema(
        responses={200: CategoryListSerializer, **problem_docs(401, 403, 429)},
        summary="The clinic's optional client background categories (controlled lists)",
    )
    def get(self, request: Request) -> Response:
        categories = BackgroundCategory.objects.filter(clinic_id=self.principal.clinic_id).order_by("name")
        return Response({"results": [_category_as_dict(category) for category in categories]})

    @extend_schema(
        request=CategorySerializer,
        responses={201: CategorySerializer, **problem_docs(400, 401, 403, 409, 415, 429)},
        summary="Define a background category and its allowed values (supervisors and API keys)",
    )
    def post(self, request: Request) -> Response:
        body = json_object_body(request.data, {"name", "title", "values"})
        category = background_category_create(
            clinic_id=self.principal.clinic_id, name=body.get("name"), title=body.get("title", ""),
            values=body.get("values"),
        )
        self.audit(action="create", object_ids=[category.name])
        return Response(_category_as_dict(category), status=status.HTTP_201_CREATED)


class ClientBackgroundView(ClientScopedView):
    allowed_kinds = frozenset({"api_key", "clinician", "supervisor", "client_token"})
    audit_object_type = "client_background"
    audit_actions = {"POST": "update"}
    serializer_class = BackgroundResultSerializer

    @extend_schema(
        request=BackgroundSerializer,
        responses={200: BackgroundResultSerializer, **problem_docs(400, 401, 403, 404, 415, 429)},
        summary="Record (consent true) or withdraw (consent false) a client's background value; never read back",
    )
    def post(self, request: Request, external_id: str) -> Response:
        client = self.visible_client(external_id)
        body = json_object_body(request.data, {"category", "value", "consent"})
        name = body.get("category")
        category = (
            BackgroundCategory.objects.filter(clinic_id=self.principal.clinic_id, name=name).first()
            if isinstance(name, str) and len(name) <= 64 else None
        )
        if category is None:
            raise InvalidInput("Unknown category.", [Problem("category", "not a category of this clinic", "unknown")])
        stored = client_background_set(
            principal=self.principal, client=client, category=category, value=body.get("value"),
            consent=body.get("consent"),
        )
        # The value itself stays out of the audit log too: the category and whether one is stored say enough.
        self.audit(action="update", object_ids=[client.external_id],
                   detail=f"background {category.name}: {'stored' if stored else 'withdrawn'}")
        return Response({"category": category.name, "stored": stored})


class EquityView(ApiView):
    allowed_kinds = WHOLE_CLINIC
    audit_object_type = "equity"
    query_parameters = frozenset({"questionnaire", "category"})
    audit_actions = {"GET": "read"}
    serializer_class = EquitySerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("questionnaire", str, required=True, description="e.g. `srs` or `ors`"),
            OpenApiParameter("category", str, required=True, description="a background category name"),
        ],
        responses={200: EquitySerializer, **problem_docs(400, 401, 403, 429)},
        summary="Scores by client background group, clinic-wide and per clinician, small cells suppressed",
        description=(
            "Only consented values count; clients without one form `not_recorded`. Cells with fewer than "
            "EQUITY_MIN_CELL clients (default 11, CMS cell-size policy) are suppressed, plus complementary "
            "cells wherever a suppressed one could be derived from published sums."
        ),
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        problems: list[Problem] = []
        questionnaire_id = params.get("questionnaire", "")
        definition = get_registry().get(questionnaire_id) if 0 < len(questionnaire_id) <= 64 else None
        if definition is None or definition.construct not in ("alliance", "outcome", "symptom"):
            problems.append(Problem("questionnaire", "an alliance or outcome questionnaire id, e.g. srs", "invalid"))
        name = params.get("category", "")
        category = (
            BackgroundCategory.objects.filter(clinic_id=self.principal.clinic_id, name=name).first()
            if 0 < len(name) <= 64 and "\x00" not in name else None
        )
        if category is None:
            problems.append(Problem("category", "a background category of this clinic", "invalid"))
        if problems:
            raise InvalidInput("The equity query is not valid; see errors.", problems)
        breakdown = equity_breakdown(
            clinic_id=self.principal.clinic_id, definition=definition, category=category,  # type: ignore[arg-type]
            min_cell=settings.EQUITY_MIN_CELL,
        )
        self.audit(action="read", detail=f"equity {questionnaire_id} by {category.name}")  # type: ignore[union-attr]
        return Response(breakdown)

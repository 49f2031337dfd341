"""`/responses/`: submit one or a batch, read one, list with filters."""

from __future__ import annotations

from collections.abc import Mapping

from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from questionnaires.api.filters import ResponseFilter
from questionnaires.api.pagination import ChangeCursorPagination, Pagination
from questionnaires.api.serializers import (
    BatchRequestSerializer,
    BatchResultSerializer,
    ResponseAmendmentSerializer,
    ResponseSerializer,
    ResponseSubmissionSerializer,
)
from questionnaires.api.views.base import ApiListView, ApiView, problem_docs
from questionnaires.models import Response as ResponseRow
from questionnaires.selectors.responses import (
    Disclosure,
    disclosure_for,
    response_as_dict,
    response_get_visible,
    responses_as_dicts,
    responses_visible_to,
)
from questionnaires.selectors.scores import latest_scores_for
from questionnaires.services.corrections import response_amend
from questionnaires.services.errors import InvalidInput, TooLarge
from questionnaires.services.responses import (
    BATCH_MAX_ENTRIES,
    idempotency_key_problem,
    response_submit,
    responses_submit_batch,
)
from questionnaires.validation import Problem

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
    description="Retrying with the same key and body replays the first result; another body is a 422.",
)


def _shaped(response: ResponseRow, disclosure: Disclosure, *, created: bool = False) -> dict:
    """Status and score as they are now: in eager mode scoring already ran at commit.

    A row this request just created is pending when a worker scores it, so the two reads are skipped.
    """
    from alliance_api.celery import app

    if created and not app.conf.task_always_eager:
        return response_as_dict(response, None, disclosure=disclosure)
    response.refresh_from_db(fields=["status", "failure_reason"])
    return response_as_dict(response, latest_scores_for([response.id]).get(response.id), disclosure=disclosure)


class ResponseListView(ApiListView):
    audit_object_type = "response"
    audit_actions = {"GET": "list", "POST": "create"}
    serializer_class = ResponseSerializer
    filterset_class = ResponseFilter

    query_parameters = frozenset({"cursor"})

    @property
    def syncing(self) -> bool:
        """`updated_since` or `cursor`: the integration's incremental sync, in change order with cursor pages."""
        params = self.request.query_params
        return "updated_since" in params or "cursor" in params

    @property
    def paginator(self):
        if not hasattr(self, "_paginator"):
            self._paginator = ChangeCursorPagination() if self.syncing else Pagination()
        return self._paginator

    def get_queryset(self) -> QuerySet[ResponseRow]:
        if getattr(self, "swagger_fake_view", False):
            return ResponseRow.objects.none()
        if self.syncing:
            # Retractions are changes a syncing integration must see.
            changes = responses_visible_to(self.principal, include_retracted=True)
            return changes.annotate(last_changed=Coalesce("corrected_at", "received_at"))
        return responses_visible_to(self.principal).order_by("-authored_at", "-received_at")

    @extend_schema(
        responses={200: ResponseSerializer(many=True), **problem_docs(400, 401, 403, 429)},
        summary="List responses, newest first; with updated_since (or a cursor), every change in change order",
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        self.audit(action="list", object_ids=[response.id for response in page])
        return self.get_paginated_response(responses_as_dicts(page, disclosure=disclosure_for(self.principal)))

    @extend_schema(
        request=ResponseSubmissionSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: ResponseSerializer, **problem_docs(400, 401, 403, 409, 413, 415, 422, 429)},
        summary="Submit one response (validated now, scored after commit)",
    )
    def post(self, request: Request) -> Response:
        key = request.headers.get("Idempotency-Key") or None
        if key is not None:
            problem = idempotency_key_problem(key)
            if problem:
                raise InvalidInput("The Idempotency-Key header is not valid.", [problem])
        # The service writes the audit event atomically with the row (one commit, not two).
        result = response_submit(principal=self.principal, payload=request.data, idempotency_key=key, audited=True)
        body = _shaped(result.response, disclosure_for(self.principal), created=result.created)
        headers = {"Location": f"/api/v1/responses/{result.response.id}/"}
        if not result.created:
            headers["Idempotent-Replayed"] = "true"
        return Response(body, status=status.HTTP_201_CREATED, headers=headers)


class ResponseBatchView(ApiView):
    audit_object_type = "response"
    audit_actions = {"POST": "create"}
    serializer_class = BatchResultSerializer

    @extend_schema(
        request=BatchRequestSerializer,
        responses={200: BatchResultSerializer, **problem_docs(400, 401, 403, 413, 415, 429)},
        summary=f"Submit up to {BATCH_MAX_ENTRIES} responses; one result per entry, in input order",
        description=(
            "The call answers 200 whenever the envelope is valid; each entry has its own `status`: "
            "201 stored (or replayed, with `replayed: true`), 400 invalid (with `errors`), "
            "409 id used elsewhere, 422 id reused with different content."
        ),
    )
    def post(self, request: Request) -> Response:
        entries = _batch_entries(request.data)
        outcome = responses_submit_batch(principal=self.principal, entries=entries)
        rejected = len(entries) - len(outcome.created) - len(outcome.replayed)
        self.audit(
            action="create",
            object_ids=[*outcome.created, *outcome.replayed],
            outcome="ok" if not rejected else "partial",
            detail=f"batch: {len(outcome.created)} created, {len(outcome.replayed)} replayed, {rejected} rejected",
        )
        return Response(
            {
                "created": len(outcome.created),
                "replayed": len(outcome.replayed),
                "rejected": rejected,
                "results": outcome.results,
            }
        )


def _batch_entries(data: object) -> list:
    if not isinstance(data, Mapping):
        raise InvalidInput(
            "The body must be a JSON object.", [Problem("body", "must be a JSON object", "invalid_type")]
        )
    unknown = [key for key in data if key != "responses"]
    problems = [Problem(str(key), "unknown field", "unknown_field") for key in unknown]
    entries = data.get("responses")
    if not isinstance(entries, list):
        problems.append(Problem("responses", "must be a list of responses", "invalid_type"))
    elif not entries:
        problems.append(Problem("responses", "must contain at least one response", "required"))
    elif len(entries) > BATCH_MAX_ENTRIES:
        raise TooLarge(
            f"At most {BATCH_MAX_ENTRIES} responses per batch.",
            [Problem("responses", f"at most {BATCH_MAX_ENTRIES} entries, got {len(entries)}", "too_many")],
        )
    if problems:
        raise InvalidInput("The batch is not valid; see errors.", problems)
    return entries  # type: ignore[return-value]


class ResponseDetailView(ApiView):
    audit_object_type = "response"
    audit_actions = {"GET": "read", "PATCH": "amend"}
    serializer_class = ResponseSerializer

    @extend_schema(
        responses={200: ResponseSerializer, **problem_docs(401, 403, 404, 429)},
        summary="One response (a retracted one too, with status `retracted`)",
    )
    def get(self, request: Request, response_id: str) -> Response:
        response = response_get_visible(principal=self.principal, response_id=response_id, include_retracted=True)
        if response is None:
            raise NotFound("No such response.")
        self.audit(action="read", object_ids=[response.id])
        score = latest_scores_for([response.id]).get(response.id)
        return Response(response_as_dict(response, score, disclosure=disclosure_for(self.principal)))

    @extend_schema(
        request=ResponseAmendmentSerializer,
        responses={200: ResponseSerializer, **problem_docs(400, 401, 403, 404, 409, 429)},
        summary="Amend a response: a new version of its answers, re-scored; the old one kept in its history",
    )
    def patch(self, request: Request, response_id: str) -> Response:
        result = response_amend(principal=self.principal, response_id=response_id, payload=request.data)
        body = _shaped(result.response, disclosure_for(self.principal), created=result.changed)
        return Response(body, headers={"Idempotent-Replayed": "true"} if not result.changed else {})

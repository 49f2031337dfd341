"""`/responses/{id}/retract/` and `/responses/{id}/history/`: retraction and every version of a response."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from questionnaires.api.serializers import ResponseSerializer, ResponseVersionSerializer, RetractionSerializer
from questionnaires.api.views.base import ApiView, problem_docs
from questionnaires.selectors.response_history import response_history
from questionnaires.selectors.responses import disclosure_for, response_as_dict, response_get_visible
from questionnaires.selectors.scores import latest_scores_for
from questionnaires.services.corrections import response_retract


class ResponseRetractView(ApiView):
    audit_object_type = "response"
    audit_actions = {"POST": "retract"}
    serializer_class = ResponseSerializer

    @extend_schema(
        request=RetractionSerializer,
        responses={200: ResponseSerializer, **problem_docs(400, 401, 403, 404, 429)},
        summary="Retract a response entered in error: out of metrics, lists and exports, kept in its history",
    )
    def post(self, request: Request, response_id: str) -> Response:
        reason = request.data.get("reason") if isinstance(request.data, dict) else None
        result = response_retract(principal=self.principal, response_id=response_id, reason=reason)
        response = result.response
        score = latest_scores_for([response.id]).get(response.id)
        body = response_as_dict(response, score, disclosure=disclosure_for(self.principal))
        return Response(body, headers={"Idempotent-Replayed": "true"} if not result.changed else {})


class ResponseHistoryView(ApiView):
    audit_object_type = "response"
    audit_actions = {"GET": "read"}
    serializer_class = ResponseVersionSerializer

    @extend_schema(
        responses={200: ResponseVersionSerializer(many=True), **problem_docs(401, 403, 404, 429)},
        summary="Every version of a response, oldest first, with who replaced each, when and why",
    )
    def get(self, request: Request, response_id: str) -> Response:
        response = response_get_visible(principal=self.principal, response_id=response_id, include_retracted=True)
        if response is None:
            raise NotFound("No such response.")
        self.audit(action="read", object_ids=[response.id], detail="history")
        disclosure = disclosure_for(self.principal)
        return Response(
            response_history(
                response, with_comment=disclosure.comments, show_credentials=self.principal.kind != "client_token"
            )
        )

"""What every API view shares: the caller as a Principal, kind-based permission, audit helpers, problem docs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.mixins import ListModelMixin

from questionnaires.api.parsing import unknown_parameters
from questionnaires.api.permissions import KindAllowed, kind_denial
from questionnaires.api.serializers import ProblemSerializer
from questionnaires.principals import ALL_KINDS, Principal
from questionnaires.services.audit import audit_record
from questionnaires.services.errors import InvalidInput

PROBLEM = "application/problem+json"


def problem_docs(*statuses: int) -> dict:
    """extend_schema `responses` entries for problem+json answers."""
    descriptions = {
        400: "Invalid input: every field at fault is listed in `errors`.",
        401: "No credential, or a wrong, revoked or expired one.",
        403: "This kind of credential may not use the endpoint.",
        404: "No such object for this caller (another clinic's objects are never found).",
        409: "Conflict.",
        413: "Too large.",
        415: "Unsupported media type (send application/json).",
        422: "Idempotency-Key reused with a different body.",
        429: "Rate limit exceeded; see Retry-After.",
    }
    return {
        (status, PROBLEM): OpenApiResponse(ProblemSerializer, description=descriptions.get(status, ""))
        for status in statuses
    }


# Base classes carry comments, not docstrings: the schema generator would show a docstring on every operation.


class ApiView(GenericAPIView):
    # Every endpoint that needs a credential.

    permission_classes = [KindAllowed]
    allowed_kinds: frozenset[str] = ALL_KINDS
    allowed_kinds_by_method: dict[str, frozenset[str]] = {}
    audit_object_type = ""
    audit_actions: dict[str, str] = {}

    object_scoped = False
    """True: the kind check runs after the object lookup (see KindAllowed), via `deny_kind_if_needed`."""

    query_parameters: frozenset[str] = frozenset()
    """What GET reads from the query string, besides `format`, the filter set's filters and a list's paging."""

    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if request.method in ("GET", "HEAD"):
            unknown = unknown_parameters(request.query_params, self.known_query_parameters())
            if unknown:
                names = ", ".join(problem.field for problem in unknown)
                raise InvalidInput(f"Unknown query parameters: {names}; see errors.", unknown)

    def known_query_parameters(self) -> set[str]:
        known = {"format", *self.query_parameters}
        filterset_class = getattr(self, "filterset_class", None)
        if filterset_class is not None:
            known |= set(filterset_class.base_filters)
        if isinstance(self, ListModelMixin) and self.paginator is not None:
            paging = ("page_query_param", "cursor_query_param", "page_size_query_param")
            known |= {name for attribute in paging if (name := getattr(self.paginator, attribute, None))}
        return known

    @property
    def principal(self) -> Principal:
        return self.request.user

    def deny_kind_if_needed(self) -> None:
        denial = kind_denial(self.request, self)
        if denial:
            raise PermissionDenied(denial)

    def audit(
        self,
        *,
        action: str,
        object_ids: Iterable[Any] = (),
        outcome: str = "ok",
        detail: str = "",
        object_type: str | None = None,
    ) -> None:
        """One insert per request: the read or write of client data this request made."""
        principal = self.principal
        audit_record(
            actor=principal.label,
            action=action,
            object_type=object_type if object_type is not None else self.audit_object_type,
            object_ids=[str(object_id) for object_id in object_ids],
            outcome=outcome,
            clinic_id=principal.clinic_id,
            detail=detail,
        )


class ApiListView(ListModelMixin, ApiView):
    # A paginated list; the mixin only tells the schema generator so (the views shape their own pages).
    pass

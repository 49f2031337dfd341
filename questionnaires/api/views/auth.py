"""`/auth/token/`: a staff member trades username and password for a token, or revokes the token they hold."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from questionnaires.api.problems import CHALLENGE, PROBLEM_CONTENT_TYPE, problem_response
from questionnaires.api.serializers import TokenRequestSerializer, TokenSerializer
from questionnaires.api.throttling import CredentialThrottle, LoginThrottle
from questionnaires.api.views.base import ApiView, problem_docs
from questionnaires.login_limits import is_locked_out, locked_out_problem, retry_after_seconds
from questionnaires.models import StaffMembership
from questionnaires.services.audit import audit_record
from questionnaires.services.credentials import credential_revoke, staff_token_issue


class TokenView(ApiView):
    allowed_kinds = frozenset({"clinician", "supervisor", "client_token"})
    serializer_class = TokenRequestSerializer

    def get_permissions(self):
        if self.request.method == "POST":
            return [AllowAny()]
        return super().get_permissions()

    def get_authenticators(self):
        # The token endpoint is reached before the caller has a token; a stale header must not block it.
        if self.request is not None and self.request.method == "POST":
            return []
        return super().get_authenticators()

    def get_throttles(self):
        if self.request.method == "POST":
            return [LoginThrottle()]
        return [CredentialThrottle()]

    @extend_schema(
        operation_id="auth_token_create",
        request=TokenRequestSerializer,
        responses={201: TokenSerializer, **problem_docs(400, 401, 415, 429)},
        auth=[],
        summary="Exchange a staff username and password for a token",
    )
    def post(self, request: Request) -> Response:
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        username = serializer.validated_data["username"]
        # Through authenticate() with the request, so django-axes counts the attempt by username and address.
        user = authenticate(request._request, username=username, password=serializer.validated_data["password"])
        locked_out = is_locked_out(request._request)
        membership = StaffMembership.objects.filter(user=user).first() if user is not None else None
        if membership is None or locked_out:
            known = StaffMembership.objects.filter(user__username=username).values_list("clinic_id", flat=True).first()
            if known is not None:
                audit_record(
                    actor=f"user:{username}", action="token.issue", object_type="staff_token",
                    outcome="locked_out" if locked_out else "unauthenticated", clinic_id=known,
                    detail="too many failed logins" if locked_out else "wrong password or inactive user",
                )
            if locked_out:
                return Response(
                    locked_out_problem(), status=429, content_type=PROBLEM_CONTENT_TYPE,
                    headers={"Retry-After": str(retry_after_seconds())},
                )
            return problem_response(
                status=401, detail="Invalid username or password.", headers={"WWW-Authenticate": CHALLENGE}
            )
        token, key = staff_token_issue(user=user)
        audit_record(
            actor=f"user:{user.username}", action="token.issue", object_type="staff_token",
            object_ids=[token.prefix], clinic_id=membership.clinic_id,
        )
        return Response(
            {
                "token": key,
                "prefix": token.prefix,
                "role": membership.role,
                "clinic": membership.clinic.slug,
                "expires": token.expiry_date,
            },
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        operation_id="auth_token_revoke",
        request=None,
        responses={204: None, **problem_docs(401, 403)},
        summary="Revoke the staff or client token this request is made with",
    )
    def delete(self, request: Request) -> Response:
        credential = request.auth
        credential_revoke(credential=credential)
        self.audit(action="token.revoke", object_type=self.principal.kind, object_ids=[credential.prefix])
        return Response(status=status.HTTP_204_NO_CONTENT)

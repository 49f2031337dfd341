"""Who is calling the API: one small value built by the authentication classes and read by everything after them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

PrincipalKind = Literal["api_key", "clinician", "supervisor", "client_token"]

STAFF_KINDS: frozenset[str] = frozenset({"clinician", "supervisor"})
ALL_KINDS: frozenset[str] = frozenset({"api_key", "clinician", "supervisor", "client_token"})


ROLE_BY_LABEL_KIND = {"api_key": "integration", "user": "clinician", "client_token": "client"}


def role_of(label: str) -> str:
    """The kind of caller behind a stored label (`api_key:ab12`, `user:alice`, ...), without the credential id.

    What a therapy client's app is shown instead of another credential's label: "integration",
    "clinician" (any staff member) or "client"; "system" for anything else (seed data, imports).
    """
    kind, separator, _ = label.partition(":")
    return ROLE_BY_LABEL_KIND.get(kind, "system") if separator else "system"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller, bound to exactly one clinic.

    `user` is set for staff tokens, `therapy_client` for client-scoped tokens; an API
    key has neither and sees the whole clinic. DRF treats the principal as `request.user`.
    """

    kind: PrincipalKind
    clinic_id: int
    credential: Any
    credential_prefix: str
    user: Any = None
    therapy_client: Any = None

    is_authenticated = True
    is_anonymous = False

    @property
    def label(self) -> str:
        """How the audit log and `Response.submitted_by` name the caller."""
        if self.kind == "api_key":
            return f"api_key:{self.credential_prefix}"
        if self.kind == "client_token":
            return f"client_token:{self.credential_prefix}"
        return f"user:{self.user.username}"

    @property
    def idempotency_scope(self) -> str:
        """Whose keys an Idempotency-Key or FHIR identifier is looked up among: a replay answers only this caller.

        All API keys of a clinic are one integration (a rotated key still replays its earlier
        requests); each staff member and each therapy client (app token or form page) has keys of
        their own, so another caller's key is never found, and never locks anyone out.
        """
        if self.kind == "api_key":
            return "api_key"
        if self.kind == "client_token":
            return f"client:{self.therapy_client_id}"
        return f"staff:{self.user_id}"

    @property
    def is_staff_member(self) -> bool:
        return self.kind in STAFF_KINDS

    @property
    def sees_whole_clinic(self) -> bool:
        """API keys and supervisors see every client of the clinic; clinicians only their caseload."""
        return self.kind in ("api_key", "supervisor")

    @property
    def user_id(self) -> int | None:
        return self.user.pk if self.user is not None else None

    @property
    def therapy_client_id(self) -> int | None:
        return self.therapy_client.pk if self.therapy_client is not None else None

    def __str__(self) -> str:
        return self.label

"""Who sees what in the admin: each model's place among the clinics, and what each staff role may do there.

One rule for every model admin, inline, autocomplete, action, choice list and custom admin page:

- a superuser sees every clinic;
- any other user sees only the clinic of their `StaffMembership`: a supervisor the whole clinic (as its
  admin), a clinician their caseload (the clients assigned to them and the rows about those clients);
- staff without a membership see nothing;
- a row outside that scope does not exist for the user: its pages answer 404.

What a role may do is this module's table (each admin's `tenancy`), not Django's per-user model
permissions: a membership's role is the only grant, so an account cannot be given more than its role
by ticking permissions, and the scope and the grant cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Model, QuerySet
from django.http import Http404

from questionnaires.models import Clinic, StaffMembership, TherapyClient

NOTHING: frozenset[str] = frozenset()
VIEW: frozenset[str] = frozenset({"view"})


@dataclass(frozen=True)
class Tenancy:
    """Where a model's rows sit among the clinics, and what each role may do with them.

    `clinic`: lookup from a row to its clinic (`"clinic"`, `"response__clinic"`, `"pk"` for a clinic);
    None for rows every clinic shares (questionnaire definitions).
    `client`: lookup to the therapy client a row is about (`"pk"` for a client); a clinician sees only
    the rows of their caseload, and the client's own clinic is checked as well as the row's.
    `own`: lookup to the user a row belongs to; for a clinician, when there is no `client`.
    `supervisor` / `clinician`: the actions each role may take: `view`, `add`, `change`, `delete`, or an
    action's permission name (`acknowledge`, `rescore`). Empty: the role has no page for the model.
    """

    clinic: str | None
    client: str | None = None
    own: str | None = None
    supervisor: frozenset[str] = field(default=VIEW)
    clinician: frozenset[str] = field(default=NOTHING)
    superuser_only: bool = False


SUPERUSER_ONLY = Tenancy(clinic=None, supervisor=NOTHING, superuser_only=True)
"""Operator tables that belong to no clinic (groups, periodic tasks, login records of every clinic)."""

PAGES: dict[str, frozenset[str]] = {
    "dashboard": frozenset({"supervisor"}),
    "equity": frozenset({"supervisor"}),
    "supervision": frozenset({"supervisor", "clinician"}),
}
"""The custom admin pages and the roles that may open them (superusers open every one)."""


def is_operator(user) -> bool:
    return bool(user.is_active and user.is_superuser)


def membership_of(user) -> StaffMembership | None:
    """The user's clinic membership, or None (also for inactive and anonymous users)."""
    if not user.is_authenticated or not user.is_active:
        return None
    return getattr(user, "membership", None)


def role_of(user) -> str | None:
    """`superuser`, `supervisor`, `clinician`, or None for staff who belong to no clinic."""
    if is_operator(user):
        return "superuser"
    membership = membership_of(user)
    return membership.role if membership is not None else None


def may(user, tenancy: Tenancy, action: str) -> bool:
    if is_operator(user):
        return True
    if tenancy.superuser_only:
        return False
    membership = membership_of(user)
    if membership is None:
        return False
    granted = tenancy.supervisor if membership.is_supervisor else tenancy.clinician
    return action in granted


def may_open(user, page: str) -> bool:
    return is_operator(user) or role_of(user) in PAGES[page]


def scoped(queryset: QuerySet, user, tenancy: Tenancy) -> QuerySet:
    """The rows of `queryset` the user may see; nothing at all for a model their role has no page for."""
    if is_operator(user):
        return queryset
    membership = membership_of(user)
    if membership is None or not may(user, tenancy, "view"):
        return queryset.none()
    if tenancy.clinic is None:
        return queryset
    clinic_id = membership.clinic_id
    queryset = queryset.filter(**{tenancy.clinic: clinic_id})
    if tenancy.client is not None and tenancy.client != "pk":
        # The client's clinic as well as the row's: a row left behind in one clinic about a client of
        # another is shown to neither clinic's staff.
        queryset = queryset.filter(**{f"{tenancy.client}__clinic": clinic_id})
    if membership.is_supervisor:
        return queryset
    if tenancy.client is not None:
        caseload = TherapyClient.objects.filter(clinic_id=clinic_id, clinicians=user).values("pk")
        return queryset.filter(**{f"{tenancy.client}__in": caseload})
    if tenancy.own is not None:
        return queryset.filter(**{tenancy.own: user.pk})
    return queryset


CLINICS = Tenancy(clinic="pk", supervisor=VIEW, clinician=VIEW)
CLIENTS = Tenancy(clinic="clinic", client="pk", supervisor=frozenset({"view", "add", "change"}), clinician=VIEW)


def visible_clinics(user) -> QuerySet[Clinic]:
    return scoped(Clinic.objects.order_by("name"), user, CLINICS)


def visible_clients(user) -> QuerySet[TherapyClient]:
    return scoped(TherapyClient.objects.all(), user, CLIENTS)


def client_or_404(user, client_id: str) -> TherapyClient:
    """The client with this primary key if the user may see it; any other id is a 404."""
    if not client_id.isascii() or not client_id.isdigit() or len(client_id) > 18:
        raise Http404
    client = visible_clients(user).select_related("clinic").filter(pk=int(client_id)).first()
    if client is None:
        raise Http404
    return client


def clinic_from_query(user, slug: str | None) -> tuple[list[Clinic], Clinic | None]:
    """The clinics a custom page offers the user and the one asked for by slug (default: the first).

    A slug naming a clinic the user does not see (another clinic's, or none) is a 404, not a quiet
    fallback, so a page never answers as if it had shown what was asked for.
    """
    clinics = list(visible_clinics(user))
    if not slug:
        return clinics, clinics[0] if clinics else None
    chosen = next((clinic for clinic in clinics if clinic.slug == slug), None)
    if chosen is None:
        raise Http404
    return clinics, chosen


def object_or_404(queryset: QuerySet, user, tenancy: Tenancy, **lookup) -> Model:
    row = scoped(queryset, user, tenancy).filter(**lookup).first()
    if row is None:
        raise Http404
    return row

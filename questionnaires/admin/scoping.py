"""The base every model admin and inline here derives from: clinic scope and role permissions by default.

Each admin declares its `tenancy` (questionnaires/admin/tenancy.py); the base applies it to the change
list, change/delete/history pages (another clinic's object is a 404), search and autocomplete, actions
(a selected row outside the scope is a 404), list filters and foreign-key choices. An admin that
declares none is for superusers only. `unscoped_admins` names any registered admin or inline that does not
derive from these bases; the system check below turns it into an error at start-up.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.utils import NotRelationField, get_fields_from_path
from django.core import checks
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.http import Http404

from questionnaires.admin.tenancy import SUPERUSER_ONLY, Tenancy, is_operator, may, scoped


def _scoped_choices(admin_site, request, queryset):
    """Choices of a foreign key or many-to-many field: what the related model's own admin would show."""
    if is_operator(request.user):
        return queryset
    related_admin = admin_site._registry.get(queryset.model)
    tenancy = getattr(related_admin, "tenancy", None)
    if tenancy is None:
        return queryset.none()
    return scoped(queryset, request.user, tenancy)


class ScopedPermissions:
    """Model permissions from the user's role (tenancy.may), and foreign-key and many-to-many choices limited to
    what the related model's own admin shows the user; for model admins and inlines alike."""

    tenancy: Tenancy = SUPERUSER_ONLY

    def has_view_permission(self, request, obj=None) -> bool:
        return may(request.user, self.tenancy, "view")

    def has_add_permission(self, request, *args) -> bool:
        return may(request.user, self.tenancy, "add")

    def has_change_permission(self, request, obj=None) -> bool:
        return may(request.user, self.tenancy, "change")

    def has_delete_permission(self, request, obj=None) -> bool:
        return may(request.user, self.tenancy, "delete")

    def _choices(self, db_field, request, kwargs: dict) -> dict:
        if "queryset" not in kwargs:
            # What the stock admin would offer (ordered as the related admin orders), then scoped.
            queryset = self.get_field_queryset(kwargs.get("using"), db_field, request)
            if queryset is None:
                queryset = db_field.remote_field.model._default_manager.using(kwargs.get("using")).all()
            kwargs["queryset"] = queryset
        kwargs["queryset"] = _scoped_choices(self.admin_site, request, kwargs["queryset"])
        return kwargs

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        return super().formfield_for_foreignkey(db_field, request, **self._choices(db_field, request, kwargs))

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        return super().formfield_for_manytomany(db_field, request, **self._choices(db_field, request, kwargs))


class ScopedAdmin(ScopedPermissions, admin.ModelAdmin):
    """A model admin that shows a non-superuser only their clinic (a clinician only their caseload)."""

    def has_module_permission(self, request) -> bool:
        return is_operator(request.user) or self.has_view_permission(request)

    def get_queryset(self, request):
        return scoped(super().get_queryset(request), request.user, self.tenancy)

    def get_object(self, request, object_id, from_field=None):
        # The stock admin redirects to the index with "does not exist" when the object is missing; an
        # object of another clinic must look exactly like one that does not exist at all: a 404.
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404
        return obj

    def get_search_results(self, request, queryset, search_term):
        matches, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        return scoped(matches, request.user, self.tenancy), may_have_duplicates

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        if is_operator(request.user):
            return filters
        # A related-field filter lists every row of the related table (every clinic's name); offer only
        # the ones the rows on this page point at.
        return tuple(self._related_only(entry) for entry in filters)

    def _related_only(self, entry):
        if not isinstance(entry, str):
            return entry
        try:
            target = get_fields_from_path(self.model, entry)[-1]
        except (FieldDoesNotExist, NotRelationField):
            return entry
        return (entry, admin.RelatedOnlyFieldListFilter) if target.is_relation else entry

    def response_action(self, request, queryset):
        # The stock admin drops selected ids it cannot find and acts on the rest; a selected row of
        # another clinic is refused whole, as a 404, so nothing is done and nothing is confirmed.
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        if selected and not request.POST.get("select_across") == "1":
            try:
                found = queryset.filter(pk__in=selected).count()
            except (ValidationError, ValueError):
                raise Http404 from None
            if found != len(set(selected)):
                raise Http404
        return super().response_action(request, queryset)


class ScopedInline(ScopedPermissions):
    """Mixed into an inline: the same scope on its rows and choices as a model admin's."""

    def get_queryset(self, request):
        return scoped(super().get_queryset(request), request.user, self.tenancy)


def superuser_only(admin_class: type[admin.ModelAdmin]) -> type[ScopedAdmin]:
    """Another app's admin class, kept as it is but shown to superusers only (with its inlines)."""
    inlines = tuple(
        type(inline.__name__, (ScopedInline, inline), {"tenancy": SUPERUSER_ONLY, "__module__": inline.__module__})
        for inline in admin_class.inlines
    )
    return type(
        admin_class.__name__,
        (ScopedAdmin, admin_class),
        {"tenancy": SUPERUSER_ONLY, "inlines": inlines, "__module__": admin_class.__module__},
    )


def restrict_other_apps_to_superusers(site: admin.AdminSite) -> None:
    """Admins registered by other apps (auth groups, periodic tasks, login records) hold no clinic's rows
    and are operator tools: they are re-registered for superusers only."""
    for model, model_admin in list(site._registry.items()):
        if isinstance(model_admin, ScopedAdmin) or model._meta.app_label == "questionnaires":
            continue
        site.unregister(model)
        site.register(model, superuser_only(type(model_admin)))


def unscoped_admins(site: admin.AdminSite) -> list[str]:
    """Every registered admin or inline that does not apply the clinic scope."""
    problems = []
    for model, model_admin in site._registry.items():
        if not isinstance(model_admin, ScopedAdmin):
            problems.append(f"{model._meta.label}: {type(model_admin).__name__} is not a ScopedAdmin")
        for inline in model_admin.inlines:
            if not issubclass(inline, ScopedInline):
                problems.append(f"{model._meta.label}: inline {inline.__name__} is not a ScopedInline")
    return problems


@checks.register(checks.Tags.admin)
def clinic_scope_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    return [
        checks.Error(
            problem,
            hint="derive it from questionnaires.admin.scoping.ScopedAdmin (or ScopedInline) and declare its tenancy",
            id="questionnaires.E010",
        )
        for problem in unscoped_admins(admin.site)
    ]

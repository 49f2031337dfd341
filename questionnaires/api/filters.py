"""Query filters for the list endpoints (django-filter); a bad value is a 400 problem naming the parameter."""

from __future__ import annotations

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField

from questionnaires.input_bounds import moment_in_range
from questionnaires.models import Alert, Response, TherapyClient


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 time normalised to UTC: PostgreSQL refuses offsets beyond ±15:59 that Python accepts."""

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None:
            return None
        utc = moment_in_range(parsed)
        if utc is None:
            raise forms.ValidationError("Enter a date-time within the years 2 to 9998.", code="invalid")
        return utc


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class ClientFilter(django_filters.FilterSet):
    clinician = django_filters.CharFilter(
        field_name="clinicians__username", help_text="Only clients on this clinician's caseload."
    )
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = TherapyClient
        fields: list[str] = []


class ResponseFilter(django_filters.FilterSet):
    client = django_filters.CharFilter(field_name="client__external_id", help_text="The client's external_id.")
    questionnaire = django_filters.CharFilter(
        field_name="questionnaire_version__questionnaire_id", help_text="Questionnaire id, e.g. `srs`."
    )
    version = django_filters.CharFilter(field_name="questionnaire_version__version")
    status = django_filters.ChoiceFilter(choices=Response.Status.choices)
    authored_after = UtcDateTimeFilter(field_name="authored_at", lookup_expr="gte")
    authored_before = UtcDateTimeFilter(field_name="authored_at", lookup_expr="lt")
    received_after = UtcDateTimeFilter(
        field_name="received_at", lookup_expr="gt", help_text="Only responses received after this time."
    )
    updated_since = UtcDateTimeFilter(
        method="filter_updated_since",
        help_text="Responses received, amended or retracted at or after this time, retracted ones included "
        "(status `retracted`), oldest change first: what an integration polls to stay in sync.",
    )

    def filter_updated_since(self, queryset, name, value):
        return queryset.filter(last_changed__gte=value)

    class Meta:
        model = Response
        fields: list[str] = []


class AlertFilter(django_filters.FilterSet):
    client = django_filters.CharFilter(field_name="client__external_id", help_text="The client's external_id.")
    questionnaire = django_filters.CharFilter(field_name="questionnaire_id")
    kind = django_filters.CharFilter()
    priority = django_filters.ChoiceFilter(choices=Alert.Priority.choices)
    category = django_filters.ChoiceFilter(choices=Alert.Category.choices, help_text="alert or note.")
    resolved = django_filters.BooleanFilter(
        field_name="resolved_at", lookup_expr="isnull", exclude=True,
        help_text="true: only resolved alerts; false: only unresolved ones.",
    )
    acknowledged = django_filters.BooleanFilter(
        field_name="acknowledged_at", lookup_expr="isnull", exclude=True,
        help_text="true: only acknowledged alerts; false: only open ones.",
    )
    raised_after = UtcDateTimeFilter(field_name="raised_at", lookup_expr="gte")
    raised_before = UtcDateTimeFilter(field_name="raised_at", lookup_expr="lt")

    class Meta:
        model = Alert
        fields: list[str] = []

"""The staff-only admin page listing loaded questionnaire definitions and the plugins left out."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from questionnaires.client_offer import not_offered_because
from questionnaires.registry import get_registry


@staff_member_required
def plugins_view(request: HttpRequest) -> HttpResponse:
    registry = get_registry()
    version_error = ""
    try:
        registry.sync_versions()  # a definition changed under its version shows up here, not only at first use
    except DatabaseError as error:
        version_error = str(error)
    loaded = [
        {
            "id": definition.id,
            "version": definition.version,
            "title": definition.title,
            "source": registry.source_of(definition),
            "respondent": definition.respondent,
            "text_allowed": definition.text_allowed,
            "license": definition.license,
            "not_offered": not_offered_because(definition),
        }
        for definition in registry.all()
    ]
    context = {
        **admin.site.each_context(request),
        "title": "Questionnaire plugins",
        "loaded": loaded,
        "problems": registry.problems,
        "version_error": version_error,
    }
    return TemplateResponse(request, "admin/plugins.html", context)

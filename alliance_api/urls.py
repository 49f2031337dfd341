"""Top-level URLs: admin, health, REST API, FHIR, docs."""

from django.contrib import admin
from django.urls import include, path

from questionnaires.admin_views import plugins_view
from questionnaires.views.health import healthz

urlpatterns = [
    path("admin/plugins/", plugins_view, name="admin-plugins"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("api/", include("questionnaires.api.urls")),
    path("fhir/", include("questionnaires.fhir.urls")),
]

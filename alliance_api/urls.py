"""Top-level URLs: admin, health, REST API, FHIR, docs."""

from django.contrib import admin
from django.urls import include, path

from questionnaires.admin.practice_urls import urlpatterns as practice_admin_urls
from questionnaires.admin.urls import urlpatterns as admin_page_urls
from questionnaires.admin_views import plugins_view
from questionnaires.views.health import healthz

urlpatterns = [
    path("admin/plugins/", plugins_view, name="admin-plugins"),
    *admin_page_urls,
    *practice_admin_urls,
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("api/", include("questionnaires.api.urls")),
    path("fhir/", include("questionnaires.fhir.urls")),
    path("take/", include("questionnaires.views.take_urls")),
]

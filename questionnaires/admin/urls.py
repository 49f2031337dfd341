"""URLs of the admin pages this project adds beside the model admins (dashboard, form links, export downloads)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

from questionnaires.admin.dashboard import client_form_link_view, dashboard_view, metrics_recompute_view
from questionnaires.admin.exports import export_download_view

urlpatterns = [
    path("admin/dashboard/", admin.site.admin_view(dashboard_view), name="admin-dashboard"),
    path("admin/dashboard/recompute/", admin.site.admin_view(metrics_recompute_view), name="admin-metrics-recompute"),
    path(
        "admin/clients/<str:client_id>/form-link/",
        admin.site.admin_view(client_form_link_view),
        name="admin-client-form-link",
    ),
    path(
        "admin/exports/<str:job_id>/download/",
        admin.site.admin_view(export_download_view),
        name="admin-export-download",
    ),
]

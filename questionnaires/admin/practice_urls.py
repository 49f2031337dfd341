"""URLs of the alliance-practice admin pages (supervision feedback, equity view, a client's goals)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

from questionnaires.admin.practice import client_goals_view, equity_view, supervision_view

urlpatterns = [
    path("admin/supervision/", admin.site.admin_view(supervision_view), name="admin-supervision"),
    path("admin/equity/", admin.site.admin_view(equity_view), name="admin-equity"),
    path("admin/clients/<str:client_id>/goals/", admin.site.admin_view(client_goals_view), name="admin-client-goals"),
]

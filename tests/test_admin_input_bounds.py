"""Ids in the admin's own URLs and filters: anything but plain ASCII digits within 64 bits is a 404 or no rows."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db

BAD_IDS = ["²", "٣", "9" * 30, "0"]


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser(username="root", email="", password="root-password")
    client.force_login(user)
    client.raise_request_exception = False
    return client


@pytest.mark.parametrize("segment", BAD_IDS)
@pytest.mark.parametrize("template", ["/admin/clients/{}/goals/", "/admin/clients/{}/form-link/",
                                      "/admin/exports/{}/download/"])
def test_an_id_in_an_admin_path_that_is_not_plain_digits_in_bounds_is_a_404(admin_client, north, template, segment):
    assert admin_client.get(template.format(segment)).status_code == 404


@pytest.mark.parametrize("value", BAD_IDS)
def test_the_audit_clinic_filter_reads_no_odd_number_and_lists_nothing(admin_client, north, value):
    page = admin_client.get("/admin/questionnaires/auditevent/", {"clinic_id": value})
    assert page.status_code == 200

"""A staff member's API tokens end with a password change or a deactivation, and stay ended on reactivation."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from questionnaires.models import AuditEvent, StaffToken
from tests.api.conftest import staff_api

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_a_password_change_revokes_the_users_tokens(north, south):
    api = staff_api(north.clinician)
    other = staff_api(south.clinician)
    assert api.get("/api/v1/clients/").status_code == 200

    north.clinician.set_password("a brand new passphrase")
    north.clinician.save()

    assert api.get("/api/v1/clients/").status_code == 401
    assert other.get("/api/v1/clients/").status_code == 200
    event = AuditEvent.objects.get(action="token.revoke")
    assert (event.actor, event.clinic_id, event.detail) == ("user:north-clinician", north.clinic.id, "password changed")


def test_a_deactivated_users_tokens_do_not_come_back_on_reactivation(north):
    api = staff_api(north.clinician)
    user = get_user_model().objects.get(pk=north.clinician.pk)

    user.is_active = False
    user.save(update_fields=["is_active"])
    user.is_active = True
    user.save()

    assert api.get("/api/v1/clients/").status_code == 401
    assert not StaffToken.objects.filter(user=user, revoked=False).exists()


def test_an_unrelated_save_keeps_the_tokens(north):
    api = staff_api(north.clinician)
    north.clinician.first_name = "Nora"
    north.clinician.save()
    north.clinician.save(update_fields=["last_login"])

    assert api.get("/api/v1/clients/").status_code == 200
    assert not AuditEvent.objects.filter(action="token.revoke").exists()


def test_a_password_change_through_the_admin_form_revokes_tokens(north, admin_client):
    api = staff_api(north.clinician)

    response = admin_client.post(
        f"/admin/auth/user/{north.clinician.pk}/password/",
        {"password1": "another long passphrase", "password2": "another long passphrase", "usable_password": "true"},
    )

    assert response.status_code == 302, response.content[:500]
    assert api.get("/api/v1/clients/").status_code == 401

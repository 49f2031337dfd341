"""Small factory_boy factories for the core models."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from questionnaires.models import Clinic, StaffMembership, TherapyClient


class ClinicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clinic
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"clinic-{n}")
    name = factory.LazyAttribute(lambda clinic: clinic.slug.title())


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"staff{n}")
    password = factory.django.Password("correct horse battery")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffMembership

    user = factory.SubFactory(UserFactory)
    clinic = factory.SubFactory(ClinicFactory)
    role = StaffMembership.Role.CLINICIAN


class TherapyClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TherapyClient

    clinic = factory.SubFactory(ClinicFactory)
    external_id = factory.Sequence(lambda n: f"client-{n:04d}")

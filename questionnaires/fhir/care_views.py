"""The course of care under /fhir/: EpisodeOfCare and Encounter (read, search, create, update, conditional
create and update by identifier) and an EHR's Appointment (read, create, update).

Who may do what follows the REST course of care: an API key and staff read and write; a client
token may read its own client's episodes, never sessions. Another clinic's resource is a 404.
Every read, search and write is audited as the other FHIR resources are.
"""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response as DRFResponse

from questionnaires.fhir.care import appointment_resource, encounter_resource, episode_resource
from questionnaires.fhir.care_ingest import Written, care_conditional_update, care_create, care_update
from questionnaires.fhir.care_search import episodes_search, sessions_search
from questionnaires.fhir.ingest import conditional_identifier
from questionnaires.fhir.outcome import fhir_error
from questionnaires.fhir.search import paging
from questionnaires.fhir.views import FhirView
from questionnaires.models import CareSession, EpisodeOfCare
from questionnaires.principals import ALL_KINDS
from questionnaires.selectors.care import (
    episode_get_visible,
    episodes_visible_to,
    session_get_visible,
    sessions_visible_to,
    sessions_with_people,
)

STAFF_AND_KEYS = frozenset({"api_key", "clinician", "supervisor"})

BUILDERS = {
    "EpisodeOfCare": episode_resource,
    "Encounter": encounter_resource,
    "Appointment": appointment_resource,
}


class CareView(FhirView):
    """Shared by the three resource types: shaping, the written answer, and the identifier of a conditional PUT."""

    resource_type = ""

    def shaped(self, obj: Any) -> dict:
        return BUILDERS[self.resource_type](obj, base=self.canonical)

    def reread(self, obj: Any) -> Any:
        """The written object as reads see it (people prefetched), for the answer."""
        if isinstance(obj, EpisodeOfCare):
            return episode_get_visible(principal=self.principal, episode_id=str(obj.pk))
        sessions = sessions_with_people(CareSession.objects.filter(pk=obj.pk))
        return sessions.select_related("episode__client__clinic").get()

    def written(self, written: Written) -> DRFResponse:
        obj = self.reread(written.obj)
        self.audit(action="create" if written.created else "write", object_ids=[obj.pk])
        location = f"{self.base}/{self.resource_type}/{obj.pk}"
        headers = {"Location": location, "ETag": f'W/"{int(obj.updated_at.timestamp() * 1_000_000)}"'}
        if "return=minimal" in self.request.headers.get("Prefer", ""):
            return DRFResponse(None, status=201 if written.created else 200, headers=headers)
        return self.resource(self.shaped(obj), status=201 if written.created else 200, headers=headers)

    def url_identifier(self) -> str:
        """`PUT <type>?identifier=system|value`: the only criterion a conditional update takes here."""
        criteria = [name for name in self.request.query_params if name != "identifier"]
        identifier = self.request.query_params.get("identifier")
        if criteria or not identifier:
            raise fhir_error(400, "not-supported", "conditional update supports only ?identifier=<system>|<value>")
        found = conditional_identifier(f"identifier={identifier}")
        assert found is not None
        if not found[1]:
            raise fhir_error(400, "invalid", "the identifier has no value", "identifier")
        return found[1]

    def header_identifier(self) -> str | None:
        found = conditional_identifier(self.request.headers.get("If-None-Exist"))
        return found[1] if found is not None and found[1] else None

    def create(self, request: Any) -> DRFResponse:
        return self.written(care_create(
            principal=self.principal, resource_type=self.resource_type, payload=request.data,
            identifier=self.header_identifier(),
        ))

    def conditional_update(self, request: Any) -> DRFResponse:
        return self.written(care_conditional_update(
            principal=self.principal, resource_type=self.resource_type, identifier=self.url_identifier(),
            payload=request.data,
        ))

    def update(self, request: Any, object_id: str) -> DRFResponse:
        return self.written(care_update(
            principal=self.principal, resource_type=self.resource_type, object_id=object_id, payload=request.data,
        ))


class EpisodeOfCareView(CareView):
    resource_type = search_type = "EpisodeOfCare"
    audit_object_type = "fhir.EpisodeOfCare"
    allowed_kinds_by_method = {"GET": ALL_KINDS, "POST": STAFF_AND_KEYS, "PUT": STAFF_AND_KEYS}

    def get(self, request: Any) -> DRFResponse:
        params = self.search_params()
        offset, count = paging(params)
        episodes = episodes_search(episodes_visible_to(self.principal), params)
        total = episodes.count()
        page = list(
            episodes.select_related("client__clinic", "primary_clinician").prefetch_related("clinicians")[
                offset : offset + count
            ]
        )
        self.audit(action="search", object_ids=[episode.pk for episode in page])
        return self.bundle(self.resource_type, [self.shaped(episode) for episode in page], total, offset, count)

    def post(self, request: Any) -> DRFResponse:
        return self.create(request)

    def put(self, request: Any) -> DRFResponse:
        return self.conditional_update(request)


class EpisodeOfCareReadView(CareView):
    resource_type = "EpisodeOfCare"
    audit_object_type = "fhir.EpisodeOfCare"
    allowed_kinds_by_method = {"GET": ALL_KINDS, "PUT": STAFF_AND_KEYS}

    def get(self, request: Any, object_id: str) -> DRFResponse:
        episode = episode_get_visible(principal=self.principal, episode_id=object_id)
        if episode is None:
            raise fhir_error(404, "not-found", f"EpisodeOfCare/{object_id} is not known")
        self.audit(action="read", object_ids=[episode.pk])
        return self.resource(self.shaped(episode))

    def put(self, request: Any, object_id: str) -> DRFResponse:
        return self.update(request, object_id)


class EncounterView(CareView):
    resource_type = search_type = "Encounter"
    audit_object_type = "fhir.Encounter"
    allowed_kinds = STAFF_AND_KEYS

    def get(self, request: Any) -> DRFResponse:
        params = self.search_params()
        offset, count = paging(params)
        sessions = sessions_search(sessions_visible_to(self.principal), params)
        total = sessions.count()
        page = list(
            sessions_with_people(sessions).select_related("episode__client__clinic")[offset : offset + count]
        )
        self.audit(action="search", object_ids=[session.pk for session in page])
        return self.bundle(self.resource_type, [self.shaped(session) for session in page], total, offset, count)

    def post(self, request: Any) -> DRFResponse:
        return self.create(request)

    def put(self, request: Any) -> DRFResponse:
        return self.conditional_update(request)


class SessionReadView(CareView):
    """Encounter/<id> and Appointment/<id>: one session, two shapes."""

    allowed_kinds = STAFF_AND_KEYS

    def get(self, request: Any, object_id: str) -> DRFResponse:
        session = session_get_visible(principal=self.principal, session_id=object_id)
        if session is None:
            raise fhir_error(404, "not-found", f"{self.resource_type}/{object_id} is not known")
        self.audit(action="read", object_ids=[session.pk])
        return self.resource(self.shaped(self.reread(session)))

    def put(self, request: Any, object_id: str) -> DRFResponse:
        return self.update(request, object_id)


class EncounterReadView(SessionReadView):
    resource_type = "Encounter"
    audit_object_type = "fhir.Encounter"


class AppointmentView(CareView):
    resource_type = "Appointment"
    audit_object_type = "fhir.Appointment"
    allowed_kinds = STAFF_AND_KEYS

    def post(self, request: Any) -> DRFResponse:
        return self.create(request)

    def put(self, request: Any) -> DRFResponse:
        return self.conditional_update(request)


class AppointmentReadView(SessionReadView):
    resource_type = "Appointment"
    audit_object_type = "fhir.Appointment"

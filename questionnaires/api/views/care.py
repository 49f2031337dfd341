"""The course of care over REST: `/clients/{external_id}/episodes/`, `/episodes/{id}/`, `/episodes/{id}/sessions/`,
`/sessions/{id}/` and `/sessions/batch/`.

Scoped as clients are: another clinic's episode or session is a 404, a clinician sees their
caseload, a client token may read its own client's episodes and nothing else here. Every read
and write is audited.
"""

from __future__ import annotations

from collections.abc import Mapping

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from questionnaires.api.parsing import json_object_body
from questionnaires.api.views.base import ApiView, problem_docs
from questionnaires.api.views.clients import STAFF_AND_KEYS, ClientScopedView
from questionnaires.models import CareSession, EpisodeOfCare
from questionnaires.principals import ALL_KINDS
from questionnaires.selectors.care import (
    episode_as_dict,
    episode_get_visible,
    episodes_of,
    session_as_dict,
    session_get_visible,
    sessions_with_people,
)
from questionnaires.services.care import (
    episode_create,
    episode_update,
    session_create,
    session_update,
)
from questionnaires.services.errors import InvalidInput, TooLarge
from questionnaires.services.session_batch import SESSION_BATCH_MAX_ENTRIES, sessions_upsert_batch
from questionnaires.validation import Problem

EpisodeSerializer = inline_serializer(
    "Episode",
    {
        "id": serializers.IntegerField(),
        "client": serializers.CharField(),
        "external_id": serializers.CharField(allow_null=True),
        "status": serializers.ChoiceField(choices=[choice.value for choice in EpisodeOfCare.Status]),
        "referral_date": serializers.DateField(allow_null=True),
        "start_date": serializers.DateField(),
        "end_date": serializers.DateField(allow_null=True),
        "end_reason": serializers.ChoiceField(
            choices=[choice.value for choice in EpisodeOfCare.EndReason], allow_null=True
        ),
        "primary_clinician": serializers.CharField(allow_null=True),
        "clinicians": serializers.ListField(child=serializers.CharField()),
        "created": serializers.DateTimeField(),
        "updated": serializers.DateTimeField(),
    },
)
EpisodeWriteSerializer = inline_serializer(
    "EpisodeWrite",
    {
        "start_date": serializers.DateField(required=False, help_text="Default: today."),
        "referral_date": serializers.DateField(required=False),
        "primary_clinician": serializers.CharField(required=False, help_text="A username; default: a clinician "
                                                   "opening the episode."),
        "clinicians": serializers.ListField(child=serializers.CharField(), required=False),
        "external_id": serializers.CharField(required=False),
        "status": serializers.ChoiceField(choices=["active", "finished"], required=False, help_text="PATCH only."),
        "end_date": serializers.DateField(required=False, help_text="PATCH only; default: today when finishing."),
        "end_reason": serializers.ChoiceField(
            choices=[choice.value for choice in EpisodeOfCare.EndReason], required=False,
            help_text="PATCH only; required to finish.",
        ),
    },
)
SessionSerializer = inline_serializer(
    "CareSession",
    {
        "id": serializers.IntegerField(),
        "episode": serializers.IntegerField(),
        "client": serializers.CharField(),
        "external_id": serializers.CharField(allow_null=True),
        "scheduled_start": serializers.DateTimeField(),
        "duration_minutes": serializers.IntegerField(),
        "attendance": serializers.ChoiceField(choices=[choice.value for choice in CareSession.Attendance]),
        "number": serializers.IntegerField(allow_null=True, help_text="Position among attended sessions."),
        "clinicians": serializers.ListField(child=serializers.CharField()),
        "updated": serializers.DateTimeField(),
    },
)
SessionWriteSerializer = inline_serializer(
    "CareSessionWrite",
    {
        "scheduled_start": serializers.DateTimeField(required=False),
        "duration_minutes": serializers.IntegerField(required=False),
        "attendance": serializers.ChoiceField(choices=[choice.value for choice in CareSession.Attendance],
                                              required=False),
        "clinicians": serializers.ListField(child=serializers.CharField(), required=False,
                                            help_text="Usernames of the clinicians in the room."),
        "external_id": serializers.CharField(required=False, help_text="The integration's own session id."),
    },
)
EpisodeListSerializer = inline_serializer(
    "EpisodeList", {"client": serializers.CharField(), "results": serializers.ListField(child=serializers.DictField())}
)
SessionListSerializer = inline_serializer(
    "CareSessionList",
    {"episode": serializers.IntegerField(), "results": serializers.ListField(child=serializers.DictField())},
)
SessionBatchSerializer = inline_serializer(
    "CareSessionBatch", {"sessions": serializers.ListField(child=serializers.DictField())}
)
SessionBatchResultSerializer = inline_serializer(
    "CareSessionBatchResult",
    {
        "created": serializers.IntegerField(),
        "updated": serializers.IntegerField(),
        "replayed": serializers.IntegerField(),
        "rejected": serializers.IntegerField(),
        "results": serializers.ListField(child=serializers.DictField()),
    },
)


def _episode_shaped(episode: EpisodeOfCare, principal) -> dict:
    return episode_as_dict(episode_get_visible(principal=principal, episode_id=str(episode.pk)))


class EpisodeListView(ClientScopedView):
    allowed_kinds_by_method = {"GET": ALL_KINDS, "POST": STAFF_AND_KEYS}
    audit_object_type = "episode"
    audit_actions = {"GET": "list", "POST": "create"}
    serializer_class = EpisodeSerializer

    @extend_schema(
        responses={200: EpisodeListSerializer, **problem_docs(401, 403, 404, 429)},
        operation_id="clients_episodes_list",
        summary="The client's episodes of care, newest first",
    )
    def get(self, request: Request, external_id: str) -> Response:
        client = self.visible_client(external_id)
        episodes = list(episodes_of(principal=self.principal, client=client))
        self.audit(action="list", object_ids=[episode.pk for episode in episodes], detail=f"client {external_id}")
        return Response({"client": client.external_id, "results": [episode_as_dict(e) for e in episodes]})

    @extend_schema(
        request=EpisodeWriteSerializer,
        responses={201: EpisodeSerializer, **problem_docs(400, 401, 403, 404, 409, 415, 429)},
        summary="Open an episode of care (at most one active per client unless the clinic allows parallel ones)",
    )
    def post(self, request: Request, external_id: str) -> Response:
        client = self.visible_client(external_id)
        body = json_object(request.data)
        episode = episode_create(principal=self.principal, client=client, body=body)
        self.audit(action="create", object_ids=[episode.pk], detail=f"client {external_id}")
        return Response(
            _episode_shaped(episode, self.principal),
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/v1/episodes/{episode.pk}/"},
        )


class EpisodeScopedView(ApiView):
    # A view under /episodes/{episode_id}/: the episode must be visible to the caller, or it is a 404.
    object_scoped = True

    def visible_episode(self, episode_id: str) -> EpisodeOfCare:
        episode = episode_get_visible(principal=self.principal, episode_id=episode_id)
        if episode is None:
            raise NotFound("No such episode.")
        self.deny_kind_if_needed()
        return episode


class EpisodeDetailView(EpisodeScopedView):
    allowed_kinds_by_method = {"GET": ALL_KINDS, "PATCH": STAFF_AND_KEYS}
    audit_object_type = "episode"
    audit_actions = {"GET": "read", "PATCH": "update"}
    serializer_class = EpisodeSerializer

    @extend_schema(responses={200: EpisodeSerializer, **problem_docs(401, 403, 404, 429)}, summary="One episode")
    def get(self, request: Request, episode_id: str) -> Response:
        episode = self.visible_episode(episode_id)
        self.audit(action="read", object_ids=[episode.pk], detail=f"client {episode.client.external_id}")
        return Response(episode_as_dict(episode))

    @extend_schema(
        request=EpisodeWriteSerializer,
        responses={200: EpisodeSerializer, **problem_docs(400, 401, 403, 404, 409, 415, 429)},
        summary="Change an episode; finish it with status finished and an end_reason",
    )
    def patch(self, request: Request, episode_id: str) -> Response:
        episode = self.visible_episode(episode_id)
        body = json_object(request.data)
        episode = episode_update(principal=self.principal, episode=episode, body=body)
        self.audit(action="update", object_ids=[episode.pk],
                   detail=f"client {episode.client.external_id}: {', '.join(sorted(body))}")
        return Response(_episode_shaped(episode, self.principal))


class EpisodeSessionListView(EpisodeScopedView):
    allowed_kinds = STAFF_AND_KEYS
    audit_object_type = "session"
    audit_actions = {"GET": "list", "POST": "create"}
    serializer_class = SessionSerializer

    @extend_schema(
        responses={200: SessionListSerializer, **problem_docs(401, 403, 404, 429)},
        operation_id="episodes_sessions_list",
        summary="The episode's sessions in order of their start, each with its attendance and number",
    )
    def get(self, request: Request, episode_id: str) -> Response:
        episode = self.visible_episode(episode_id)
        sessions = list(sessions_with_people(episode.sessions.all()).order_by("scheduled_start", "id"))
        self.audit(action="list", object_ids=[session.pk for session in sessions], detail=f"episode {episode.pk}")
        return Response({"episode": episode.pk, "results": [session_as_dict(session) for session in sessions]})

    @extend_schema(
        request=SessionWriteSerializer,
        responses={201: SessionSerializer, **problem_docs(400, 401, 403, 404, 409, 415, 429)},
        summary="Book or record a session of the episode",
    )
    def post(self, request: Request, episode_id: str) -> Response:
        episode = self.visible_episode(episode_id)
        body = json_object(request.data)
        session = session_create(principal=self.principal, episode=episode, body=body)
        self.audit(action="create", object_ids=[session.pk], detail=f"episode {episode.pk}")
        shaped = session_as_dict(sessions_with_people(CareSession.objects.filter(pk=session.pk)).get())
        return Response(shaped, status=status.HTTP_201_CREATED, headers={"Location": f"/api/v1/sessions/{session.pk}/"})


class SessionDetailView(ApiView):
    allowed_kinds = STAFF_AND_KEYS
    object_scoped = True
    audit_object_type = "session"
    audit_actions = {"GET": "read", "PATCH": "update"}
    serializer_class = SessionSerializer

    def _session(self, session_id: str) -> CareSession:
        session = session_get_visible(principal=self.principal, session_id=session_id)
        if session is None:
            raise NotFound("No such session.")
        self.deny_kind_if_needed()
        return session

    @extend_schema(responses={200: SessionSerializer, **problem_docs(401, 403, 404, 429)}, summary="One session")
    def get(self, request: Request, session_id: str) -> Response:
        session = self._session(session_id)
        self.audit(action="read", object_ids=[session.pk], detail=f"episode {session.episode_id}")
        return Response(session_as_dict(session))

    @extend_schema(
        request=SessionWriteSerializer,
        responses={200: SessionSerializer, **problem_docs(400, 401, 403, 404, 409, 415, 429)},
        summary="Record attendance, move a session or change who was in the room (attended sessions renumber)",
    )
    def patch(self, request: Request, session_id: str) -> Response:
        session = self._session(session_id)
        body = json_object(request.data)
        session_update(principal=self.principal, session=session, body=body)
        self.audit(action="update", object_ids=[session.pk],
                   detail=f"episode {session.episode_id}: {', '.join(sorted(body))}")
        return Response(session_as_dict(sessions_with_people(CareSession.objects.filter(pk=session.pk)).get()))


class SessionBatchView(ApiView):
    allowed_kinds = STAFF_AND_KEYS
    audit_object_type = "session"
    audit_actions = {"POST": "create"}
    serializer_class = SessionBatchResultSerializer

    @extend_schema(
        request=SessionBatchSerializer,
        responses={200: SessionBatchResultSerializer, **problem_docs(400, 401, 403, 413, 415, 429)},
        summary=f"Create or update up to {SESSION_BATCH_MAX_ENTRIES} sessions by the integration's session id",
        description=(
            "Idempotent on each entry's `external_id`: a new id creates the session (201); a known id with the "
            "same content is a replay (200, `replayed: true`); with other content the session is updated "
            "(200, `updated`: the fields changed), which is how an EHR resends attendance; a known id "
            "naming another episode, or one this caller may not see, is 409. Each entry names its episode "
            "by `episode`, `episode_external_id` or `client` (that client's one active episode). "
            "Invalid entries are 400 with `errors`; the call answers 200 whenever the envelope is valid."
        ),
    )
    def post(self, request: Request) -> Response:
        entries = _batch_entries(request.data)
        outcome = sessions_upsert_batch(principal=self.principal, entries=entries)
        written = [*outcome.created, *outcome.updated, *outcome.replayed]
        rejected = len(entries) - len(written)
        self.audit(
            action="create",
            object_ids=written,
            outcome="ok" if not rejected else "partial",
            detail=(
                f"session batch: {len(outcome.created)} created, {len(outcome.updated)} updated, "
                f"{len(outcome.replayed)} replayed, {rejected} rejected"
            ),
        )
        return Response(
            {
                "created": len(outcome.created),
                "updated": len(outcome.updated),
                "replayed": len(outcome.replayed),
                "rejected": rejected,
                "results": outcome.results,
            }
        )


def json_object(data: object) -> Mapping:
    """The body as a JSON object; its fields (unknown ones included) are checked by the service, all at once."""
    if not isinstance(data, Mapping):
        raise InvalidInput(
            "The body must be a JSON object.", [Problem("body", "must be a JSON object", "invalid_type")]
        )
    return data


def _batch_entries(data: object) -> list:
    body = json_object_body(data, {"sessions"})
    entries = body.get("sessions") if isinstance(body, Mapping) else None
    if not isinstance(entries, list) or not entries:
        raise InvalidInput("The batch is not valid; see errors.",
                           [Problem("sessions", "must be a non-empty list of sessions", "invalid_type")])
    if len(entries) > SESSION_BATCH_MAX_ENTRIES:
        raise TooLarge(
            f"At most {SESSION_BATCH_MAX_ENTRIES} sessions per batch.",
            [Problem("sessions", f"at most {SESSION_BATCH_MAX_ENTRIES} entries, got {len(entries)}", "too_many")],
        )
    return entries

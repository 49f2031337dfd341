"""Serializers: input validation for the small write endpoints, and the documented shape of every body.

Hot paths (response lists, submissions, batches) shape dicts by hand in the selectors and
check envelopes in the service; their serializers here exist so the OpenAPI schema says
exactly what goes in and comes out.
"""

from __future__ import annotations

from django.utils import timezone
from rest_framework import serializers

from questionnaires.services.clients import EXTERNAL_ID_MAX_LENGTH
from questionnaires.services.credentials import CLIENT_TOKEN_MAX_LIFETIME
from questionnaires.services.responses import BATCH_MAX_ENTRIES, COMMENT_MAX_LENGTH


class StrictSerializer(serializers.Serializer):
    """Rejects fields it does not know, naming each: an integrator's typo should not pass silently."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = [key for key in data if key not in self.fields]
            if unknown:
                raise serializers.ValidationError({key: ["unknown field"] for key in unknown})
        return super().to_internal_value(data)


class StringField(serializers.CharField):
    """A CharField that refuses numbers and booleans instead of turning them into text."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


# --- problems -------------------------------------------------------------------------------------------


class ProblemFieldSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="Dotted path of the field at fault, e.g. `answers.4`; `body` for the body.")
    message = serializers.CharField()
    code = serializers.CharField(required=False)


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.CharField(help_text="`urn:alliance-api:problem:<slug>`, or `about:blank` for plain HTTP errors.")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = ProblemFieldSerializer(many=True)


# --- auth -----------------------------------------------------------------------------------------------


class TokenRequestSerializer(StrictSerializer):
    username = StringField(max_length=150)
    password = StringField(max_length=256, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`; shown only once.")
    prefix = serializers.CharField()
    role = serializers.ChoiceField(choices=["clinician", "supervisor"])
    clinic = serializers.CharField()
    expires = serializers.DateTimeField()


# --- questionnaires -------------------------------------------------------------------------------------


class QuestionnaireItemSerializer(serializers.Serializer):
    linkId = serializers.CharField()
    label = serializers.CharField()
    text = serializers.CharField(required=False, help_text="Published wording, present only where the licence allows.")
    type = serializers.ChoiceField(choices=["choice", "integer", "decimal"])
    required = serializers.BooleanField()
    options = serializers.ListField(child=serializers.DictField(), required=False)
    min = serializers.DecimalField(max_digits=12, decimal_places=4, coerce_to_string=False, required=False)
    max = serializers.DecimalField(max_digits=12, decimal_places=4, coerce_to_string=False, required=False)


class QuestionnaireSerializer(serializers.Serializer):
    id = serializers.CharField()
    version = serializers.CharField()
    title = serializers.CharField()
    respondent = serializers.ChoiceField(choices=["client", "clinician"])
    items = QuestionnaireItemSerializer(many=True)
    scoring = serializers.DictField()
    bands = serializers.ListField(child=serializers.DictField())
    alerts = serializers.ListField(child=serializers.DictField())
    reference = serializers.CharField()
    license = serializers.CharField()


# --- clients --------------------------------------------------------------------------------------------


class ClientCreateSerializer(StrictSerializer):
    external_id = StringField(
        max_length=EXTERNAL_ID_MAX_LENGTH, trim_whitespace=False,
        help_text="The integration's own id, unique within the clinic; no '/'.",
    )
    clinicians = serializers.ListField(
        child=StringField(max_length=150), required=False, max_length=100,
        help_text="Usernames of clinicians in the clinic to put this client on the caseload of.",
    )


class ClientSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    clinicians = serializers.ListField(child=serializers.CharField())
    created = serializers.DateTimeField()


class ClientTokenCreateSerializer(StrictSerializer):
    expires_in = serializers.IntegerField(
        required=False, min_value=60, max_value=int(CLIENT_TOKEN_MAX_LIFETIME.total_seconds()),
        help_text="Lifetime in seconds; default and maximum is the configured client-token lifetime.",
    )
    name = StringField(required=False, max_length=50)


class ClientTokenSerializer(serializers.Serializer):
    prefix = serializers.CharField()
    name = serializers.CharField()
    client = serializers.CharField()
    created = serializers.DateTimeField()
    expires = serializers.DateTimeField()
    revoked = serializers.BooleanField()
    last_used = serializers.DateTimeField(allow_null=True)


class IssuedClientTokenSerializer(ClientTokenSerializer):
    token = serializers.CharField(help_text="Send as `Authorization: Bearer <token>`; shown only once.")


# --- scores and responses -------------------------------------------------------------------------------


class ScoreSerializer(serializers.Serializer):
    total = serializers.DecimalField(max_digits=12, decimal_places=4, coerce_to_string=False)
    subscales = serializers.DictField(child=serializers.FloatField())
    band = serializers.CharField(allow_null=True)
    flags = serializers.ListField(child=serializers.CharField())
    extras = serializers.DictField(child=serializers.FloatField())
    plugin_version = serializers.CharField()
    computed_at = serializers.DateTimeField()


class TrajectoryPointSerializer(serializers.Serializer):
    response = serializers.UUIDField()
    questionnaire = serializers.CharField()
    version = serializers.CharField()
    authored = serializers.DateTimeField()
    session = serializers.IntegerField(allow_null=True)
    rater = serializers.CharField()
    total = serializers.DecimalField(max_digits=12, decimal_places=4, coerce_to_string=False)
    band = serializers.CharField(allow_null=True)
    flags = serializers.ListField(child=serializers.CharField())
    subscales = serializers.DictField(child=serializers.FloatField())
    extras = serializers.DictField(child=serializers.FloatField())
    alerts = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Kinds of its live alerts; not shown to client tokens."
    )
    notes = serializers.ListField(
        child=serializers.CharField(), required=False,
        help_text="Kinds of its notes (good news: recovery, out of the clinical range, improvement, repair).",
    )


class TrajectorySerializer(serializers.Serializer):
    client = serializers.CharField()
    questionnaire = serializers.CharField(allow_null=True)
    points = TrajectoryPointSerializer(many=True)


class ResponseSubmissionSerializer(serializers.Serializer):
    """Documents the submission; the service checks it (unknown fields, including server-set ones, are a 400)."""

    questionnaire = serializers.CharField(max_length=64, help_text="Questionnaire id, e.g. `wai-sr`.")
    version = serializers.CharField(max_length=32, required=False, help_text="Defaults to the latest version.")
    client = serializers.CharField(
        max_length=EXTERNAL_ID_MAX_LENGTH, required=False,
        help_text="The client's external_id; a client token may leave it out.",
    )
    clinician = serializers.CharField(
        max_length=150, required=False,
        help_text=(
            "Username of the credited clinician. Usually left out: the server credits the session's clinician, "
            "else the episode's primary clinician, else the one clinician on the caseload. A client token may not "
            "send it (400); a staff token may name only itself (400); an API key only a clinician on the "
            "client's caseload (400)."
        ),
    )
    session = serializers.IntegerField(
        min_value=1, max_value=2_147_483_647, required=False,
        help_text="A session number, for integrations without sessions; the session's own number wins when linked.",
    )
    session_id = serializers.IntegerField(required=False, help_text="The session (of this client) it belongs to.")
    session_external_id = serializers.CharField(
        max_length=128, required=False, help_text="The session by the integration's own session identifier."
    )
    rater = serializers.ChoiceField(
        choices=["client", "clinician"], required=False, default="client",
        help_text="A client token always rates as the client: `clinician` from one is a 400.",
    )
    authored = serializers.DateTimeField(
        help_text="ISO 8601 with a timezone; not in the future, at most RESPONSE_MAX_BACKDATE_DAYS (365) back."
    )
    answers = serializers.DictField(
        child=serializers.DecimalField(max_digits=12, decimal_places=4, coerce_to_string=False),
        help_text="linkId -> value on the item's scale.",
    )
    comment = serializers.CharField(max_length=COMMENT_MAX_LENGTH, required=False, allow_blank=True)


class BatchEntrySerializer(ResponseSubmissionSerializer):
    id = serializers.UUIDField(required=False, help_text="Client-generated id; resending it replays the result.")


class BatchRequestSerializer(serializers.Serializer):
    responses = BatchEntrySerializer(many=True, help_text=f"1 to {BATCH_MAX_ENTRIES} entries.")


class BatchEntryResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=[201, 400, 409, 422])
    id = serializers.UUIDField(required=False)
    replayed = serializers.BooleanField(required=False)
    errors = ProblemFieldSerializer(many=True, required=False)


class BatchResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    replayed = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = BatchEntryResultSerializer(many=True)


class ResponseAmendmentSerializer(serializers.Serializer):
    """Documents an amendment; the service checks it like a submission of the stored questionnaire version."""

    answers = serializers.DictField(help_text="Every answer of the new version (linkId -> value).")
    authored = serializers.DateTimeField(required=False, help_text="Defaults to the stored one.")
    comment = serializers.CharField(max_length=COMMENT_MAX_LENGTH, required=False, allow_blank=True)
    reason = serializers.CharField(max_length=2000, help_text="Why it is corrected; audited.")


class RetractionSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="Why it was entered in error; audited.")


class ResponseVersionSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    status = serializers.CharField()
    authored = serializers.DateTimeField()
    answers = serializers.DictField()
    comment = serializers.CharField(required=False)
    score = serializers.DictField(allow_null=True)
    alerts = serializers.ListField(child=serializers.CharField())
    replaced = serializers.DictField(allow_null=True, help_text="change, at, by, reason; null for the current one.")


class ResponseSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=["pending", "scored", "failed", "retracted"])
    response_version = serializers.IntegerField(help_text="1 as submitted; each amendment or retraction adds one.")
    questionnaire = serializers.CharField()
    version = serializers.CharField()
    client = serializers.CharField()
    clinician = serializers.CharField(allow_null=True, help_text="The credited clinician; null: unattributed.")
    session = serializers.IntegerField(allow_null=True)
    session_id = serializers.IntegerField(allow_null=True, help_text="The session it belongs to, if any.")
    rater = serializers.CharField()
    authored = serializers.DateTimeField()
    received = serializers.DateTimeField()
    answers = serializers.DictField()
    comment = serializers.CharField(
        required=False, help_text="Staff, and the client who wrote it; never to API keys (see the security section)."
    )
    score = ScoreSerializer(allow_null=True)
    failure_reason = serializers.CharField(required=False)


# --- alerts ---------------------------------------------------------------------------------------------


class AlertSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    client = serializers.CharField()
    questionnaire = serializers.CharField(allow_null=True, help_text="null for an episode-level alert (`disengaged`).")
    response = serializers.UUIDField(allow_null=True)
    kind = serializers.CharField()
    category = serializers.ChoiceField(
        choices=["alert", "note"], help_text="`note`: good news (recovery, out of the clinical range, improvement)."
    )
    priority = serializers.ChoiceField(choices=["low", "normal", "high"])
    message = serializers.CharField()
    details = serializers.DictField()
    session = serializers.IntegerField(allow_null=True, help_text="The session number of the response.")
    session_date = serializers.DateTimeField(allow_null=True, help_text="When that session's response was authored.")
    session_alert = serializers.CharField(
        help_text="client/session: the one alert this reason belongs to (snooze and resolve act on all its reasons)."
    )
    raised_at = serializers.DateTimeField(help_text="When scoring raised it (processing time).")
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    acknowledged_by = serializers.CharField()
    snoozed_until = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    resolved_by = serializers.CharField()
    reason = serializers.CharField(help_text="Why it was last snoozed or resolved.")
    comment = serializers.CharField(
        required=False, allow_null=True,
        help_text="Clinicians and supervisors only: the client's comment on the response that raised the alert.",
    )


class SessionAlertSerializer(AlertSerializer):
    """One alert per client and session: the top reason's fields, the session's state and every reason.

    `kinds` and `reasons` are absent with `sync=true`, which lists stored reasons one by one.
    """

    id = serializers.IntegerField(help_text="Its first stored reason's id; any reason's id addresses it.")
    priority = serializers.ChoiceField(choices=["low", "normal", "high"], help_text="The highest of its reasons.")
    kinds = serializers.ListField(child=serializers.CharField(), required=False, help_text="Its reasons' kinds.")
    reasons = AlertSerializer(many=True, required=False, help_text="Highest priority first, then as raised.")


class AlertSnoozeSerializer(serializers.Serializer):
    until = serializers.DateTimeField(help_text="Hidden from open lists until then; must be in the future.")
    reason = serializers.CharField(max_length=2000)

    def validate_until(self, value):
        if value <= timezone.now():
            raise serializers.ValidationError("Snooze until a time in the future.")
        return value


class AlertResolveSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="What was done, e.g. discussed in session.")

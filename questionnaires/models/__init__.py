"""The data model, one module per idea."""

from questionnaires.models.audit import AuditEvent
from questionnaires.models.clinics import Clinic, StaffMembership, TherapyClient
from questionnaires.models.credentials import ClientToken, ClinicAPIKey, StaffToken
from questionnaires.models.questionnaire_versions import QuestionnaireVersion
from questionnaires.models.responses import Alert, Response, Score

__all__ = [
    "Alert",
    "AuditEvent",
    "ClientToken",
    "Clinic",
    "ClinicAPIKey",
    "QuestionnaireVersion",
    "Response",
    "Score",
    "StaffMembership",
    "StaffToken",
    "TherapyClient",
]

"""The data model, one module per idea."""

from questionnaires.models.audit import AuditEvent
from questionnaires.models.care import CareNotice, CareSession, EpisodeOfCare
from questionnaires.models.clinic_settings import ClinicAlertSettings, ClinicCareSettings
from questionnaires.models.clinics import Clinic, StaffMembership, TherapyClient
from questionnaires.models.credentials import ClientToken, ClinicAPIKey, StaffToken
from questionnaires.models.equity import BackgroundCategory, ClientBackground
from questionnaires.models.expected_change import ExpectedChangeCurve
from questionnaires.models.exports import ExportJob
from questionnaires.models.foreign_questionnaires import ForeignQuestionnaire
from questionnaires.models.goals import Goal
from questionnaires.models.metrics import MetricRollup
from questionnaires.models.outcomes import EpisodeOutcomeRecord, OutcomeRollup
from questionnaires.models.plans import MeasurementPlan
from questionnaires.models.questionnaire_versions import QuestionnaireVersion
from questionnaires.models.responses import Alert, Response, ResponseRevision, Score, alert_session_key
from questionnaires.models.scoring_failures import ScoringFailure
from questionnaires.models.webhooks import WebhookDelivery, WebhookSubscription

__all__ = [
    "Alert",
    "alert_session_key",
    "AuditEvent",
    "CareNotice",
    "CareSession",
    "BackgroundCategory",
    "ClientBackground",
    "ClientToken",
    "Clinic",
    "ClinicAPIKey",
    "ClinicAlertSettings",
    "ClinicCareSettings",
    "EpisodeOfCare",
    "EpisodeOutcomeRecord",
    "ExpectedChangeCurve",
    "ExportJob",
    "ForeignQuestionnaire",
    "Goal",
    "MeasurementPlan",
    "MetricRollup",
    "OutcomeRollup",
    "QuestionnaireVersion",
    "Response",
    "ResponseRevision",
    "Score",
    "ScoringFailure",
    "StaffMembership",
    "StaffToken",
    "TherapyClient",
    "WebhookDelivery",
    "WebhookSubscription",
]

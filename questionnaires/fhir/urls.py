"""Routes under /fhir/; anything unmatched answers a 404 OperationOutcome."""

from django.urls import path, re_path

from questionnaires.fhir import care_views, views

app_name = "fhir"

ID = r"(?P<{}>[A-Za-z0-9\-.]{{1,64}})"

urlpatterns = [
    path("metadata", views.MetadataView.as_view(), name="metadata"),
    re_path(r"^Questionnaire/?$", views.QuestionnaireSearchView.as_view(), name="questionnaire-search"),
    re_path(
        rf"^Questionnaire/{ID.format('questionnaire_id')}/_history/{ID.format('version')}/?$",
        views.QuestionnaireReadView.as_view(),
        name="questionnaire-vread",
    ),
    re_path(
        rf"^Questionnaire/{ID.format('questionnaire_id')}/?$",
        views.QuestionnaireReadView.as_view(),
        name="questionnaire-read",
    ),
    re_path(r"^QuestionnaireResponse/?$", views.QuestionnaireResponseView.as_view(), name="questionnaireresponse"),
    re_path(
        rf"^QuestionnaireResponse/{ID.format('response_id')}/_history/?$",
        views.QuestionnaireResponseHistoryView.as_view(),
        name="questionnaireresponse-history",
    ),
    re_path(
        rf"^QuestionnaireResponse/{ID.format('response_id')}/_history/{ID.format('version')}/?$",
        views.QuestionnaireResponseReadView.as_view(),
        name="questionnaireresponse-vread",
    ),
    re_path(
        rf"^QuestionnaireResponse/{ID.format('response_id')}/?$",
        views.QuestionnaireResponseReadView.as_view(),
        name="questionnaireresponse-read",
    ),
    re_path(r"^Observation/?$", views.ObservationView.as_view(), name="observation"),
    re_path(r"^Patient/?$", views.PatientView.as_view(), name="patient"),
    re_path(rf"^Patient/{ID.format('patient_id')}/?$", views.PatientReadView.as_view(), name="patient-read"),
    re_path(
        rf"^Observation/{ID.format('observation_id')}/?$", views.ObservationReadView.as_view(), name="observation-read"
    ),
    re_path(r"^EpisodeOfCare/?$", care_views.EpisodeOfCareView.as_view(), name="episodeofcare"),
    re_path(rf"^EpisodeOfCare/{ID.format('object_id')}/?$", care_views.EpisodeOfCareReadView.as_view(),
            name="episodeofcare-read"),
    re_path(r"^Encounter/?$", care_views.EncounterView.as_view(), name="encounter"),
    re_path(rf"^Encounter/{ID.format('object_id')}/?$", care_views.EncounterReadView.as_view(), name="encounter-read"),
    re_path(r"^Appointment/?$", care_views.AppointmentView.as_view(), name="appointment"),
    re_path(rf"^Appointment/{ID.format('object_id')}/?$", care_views.AppointmentReadView.as_view(),
            name="appointment-read"),
    re_path(
        rf"^EpisodeOfCare/{ID.format('episode_id')}/\$outcome/?$", views.EpisodeOutcomeView.as_view(),
        name="episodeofcare-outcome",
    ),
    re_path(r"^(?P<unmatched>.*)$", views.not_found, name="not-found"),
]

"""Routes of the client-facing form page, mounted at /take/."""

from django.urls import path

from questionnaires.views.take import take_done, take_form, take_index

urlpatterns = [
    path("<str:token>/", take_index, name="take-index"),
    path("<str:token>/done/<str:response_id>/", take_done, name="take-done"),
    path("<str:token>/<str:questionnaire_id>/", take_form, name="take-form"),
]

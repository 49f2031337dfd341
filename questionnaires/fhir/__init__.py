"""FHIR R4 interoperability: Questionnaire export, QuestionnaireResponse ingest and scores as Observations.

Resources are built as plain dicts and always validated through `fhir.resources.R4B` before they leave.
"""

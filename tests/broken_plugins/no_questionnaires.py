"""A module that imports fine but declares no QUESTIONNAIRES."""

QUESTIONS = ()

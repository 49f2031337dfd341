"""Every version of a response, oldest first: its kept revisions, then the current row."""

from __future__ import annotations

import copy

from questionnaires.models import Response, ResponseRevision
from questionnaires.selectors.scores import latest_scores_for, score_as_dict


def response_versions(response: Response) -> list[Response]:
    """Unsaved copies of the response as each version stood (the last is the current row itself).

    A copy carries that version's answers, authored time, comment, scoring status and version
    number; `corrected_at` is when it was received or replaced, for FHIR `meta.lastUpdated`.
    """
    versions = []
    revisions = list(response.revisions.order_by("version"))
    for index, revision in enumerate(revisions):
        version = copy.copy(response)
        version.answers = revision.answers
        version.authored_at = revision.authored_at
        version.comment = revision.comment
        version.status = revision.status
        version.version = revision.version
        version.corrected_at = revisions[index - 1].changed_at if index else None
        versions.append(version)
    return [*versions, response]


def changer_role(changed_by: str) -> str:
    """Who changed a version, as a role: what a client is shown instead of credential ids."""
    kind = changed_by.partition(":")[0]
    return {"api_key": "integration", "client_token": "client", "user": "clinician"}.get(kind, "staff")


def response_history(response: Response, *, with_comment: bool, show_credentials: bool) -> list[dict]:
    """The REST history: each version with its score as it was, who replaced it, when and why."""
    revisions = {revision.version: revision for revision in response.revisions.all()}
    current_score = latest_scores_for([response.id]).get(response.id)
    history = []
    for version in response_versions(response):
        revision: ResponseRevision | None = revisions.get(version.version)
        entry = {
            "version": version.version,
            "status": version.status,
            "authored": version.authored_at,
            "answers": version.answers,
            "score": revision.score if revision is not None else (
                score_as_dict(current_score) if current_score is not None else None
            ),
            "alerts": revision.alerts if revision is not None else sorted(
                response.alerts.filter(withdrawn_at__isnull=True).values_list("kind", flat=True)
            ),
            "replaced": None if revision is None else {
                "change": revision.change, "at": revision.changed_at,
                "by": revision.changed_by if show_credentials else changer_role(revision.changed_by),
                "reason": revision.reason,
            },
        }
        if with_comment:
            entry["comment"] = version.comment
        history.append(entry)
    return history

"""A client's session-by-session scores on one or every questionnaire, in the order they were answered."""

from __future__ import annotations

from collections import defaultdict

from questionnaires.models import Alert, Response, TherapyClient
from questionnaires.registry import get_registry
from questionnaires.selectors.responses import STAFF_DISCLOSURE, Disclosure
from questionnaires.selectors.scores import latest_scores_for, score_as_dict


def client_trajectory(
    *,
    client: TherapyClient,
    questionnaire_id: str | None = None,
    disclosure: Disclosure = STAFF_DISCLOSURE,
) -> list[dict]:
    """Scored responses oldest first, each with its score, flags and what the caller's disclosure allows:
    the alerts it raised, the client's own words, the clinician's ratings (see selectors.responses).
    """
    responses = (
        # The client's clinic as well as the client: a response left in another clinic is not theirs to show.
        Response.objects.filter(client=client, clinic_id=client.clinic_id, status=Response.Status.SCORED)
        .select_related("questionnaire_version")
        .order_by("authored_at", "received_at")
    )
    if not disclosure.clinician_ratings:
        responses = responses.filter(rater=Response.Rater.CLIENT)
    include_alerts, include_comments = disclosure.alerts, disclosure.comments
    if questionnaire_id is not None:
        # A declared rating pair (a client form and a therapist form) is one trajectory with two sides.
        partner = get_registry().rating_partner(questionnaire_id)
        wanted = [questionnaire_id, partner] if partner else [questionnaire_id]
        responses = responses.filter(questionnaire_version__questionnaire_id__in=wanted)
    rows = list(responses)
    ids = [row.id for row in rows]
    scores = latest_scores_for(ids)
    alerts: dict = defaultdict(list)
    notes: dict = defaultdict(list)
    if include_alerts:
        live = Alert.objects.filter(response_id__in=ids, withdrawn_at__isnull=True)
        for response_id, kind, category in live.values_list("response_id", "kind", "category"):
            (notes if category == Alert.Category.NOTE else alerts)[response_id].append(kind)
    points = []
    for row in rows:
        score = scores.get(row.id)
        if score is None:
            continue
        shaped = score_as_dict(score)
        points.append(
            {
                "response": row.id,
                "questionnaire": row.questionnaire_version.questionnaire_id,
                "version": row.questionnaire_version.version,
                "authored": row.authored_at,
                "session": row.session_number,
                "rater": row.rater,
                "total": shaped["total"],
                "band": shaped["band"],
                "flags": shaped["flags"],
                "subscales": shaped["subscales"],
                "extras": shaped["extras"],
            }
        )
        if include_alerts:
            points[-1]["alerts"] = sorted(alerts.get(row.id, []))
            points[-1]["notes"] = sorted(notes.get(row.id, []))
        if include_comments:
            points[-1]["comment"] = row.comment
    return points

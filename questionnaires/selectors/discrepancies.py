"""Both sides of the alliance: pairs of client and clinician ratings of one session, and the gap between them."""

from __future__ import annotations

from collections.abc import Iterable

from questionnaires.registry import get_registry


def alliance_discrepancies(points: Iterable[dict]) -> list[dict]:
    """From trajectory points (see selectors.trajectories), each session rated by both sides on one alliance
    instrument, or on a pair a plugin declares through `rated_with`.

    A session is its number, or the day the rating was authored when no number was given.
    `questionnaire` is the client's instrument and `clinician_questionnaire` the clinician's (the same id
    unless a declared pair). A rating on the shared instrument is preferred over one on the partner.
    `gap` is client minus clinician, so a positive gap means the client rates the alliance higher.
    Pure: reads no database, so the trajectory endpoint can add it at no cost.
    """
    registry = get_registry()
    sides: dict[tuple, dict[tuple[str, str], dict]] = {}
    partners: dict[str, str | None] = {}
    for point in points:
        questionnaire = point["questionnaire"]
        definition = registry.get(questionnaire, point.get("version"))
        if definition is None or definition.construct != "alliance":
            continue
        if questionnaire not in partners:
            partners[questionnaire] = registry.rating_partner(questionnaire)
        authored = point["authored"]
        session = point["session"] if point.get("session") is not None else authored.date().isoformat()
        for series in {questionnaire, partners[questionnaire] or questionnaire}:
            sides.setdefault((series, session), {})[(point["rater"], questionnaire)] = point
    pairs = []
    for (questionnaire, session), by_side in sides.items():
        client = by_side.get(("client", questionnaire))
        if client is None:
            continue
        clinician = by_side.get(("clinician", questionnaire)) or by_side.get(
            ("clinician", partners.get(questionnaire) or questionnaire)
        )
        if clinician is None:
            continue
        pairs.append(
            {
                "questionnaire": questionnaire,
                "clinician_questionnaire": clinician["questionnaire"],
                "session": session,
                "client_total": client["total"],
                "clinician_total": clinician["total"],
                "gap": round(client["total"] - clinician["total"], 4),
                "client_response": client["response"],
                "clinician_response": clinician["response"],
            }
        )
    return sorted(pairs, key=_order)


def _order(pair: dict) -> tuple:
    """Numbered sessions in number order, then dated ones by date."""
    session = pair["session"]
    if isinstance(session, int):
        return (pair["questionnaire"], 0, session, "")
    return (pair["questionnaire"], 1, 0, session)

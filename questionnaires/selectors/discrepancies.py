"""Both sides of the alliance: pairs of client and clinician ratings of one session, and the gap between them."""

from __future__ import annotations

from collections.abc import Iterable

from questionnaires.registry import get_registry


def alliance_discrepancies(points: Iterable[dict]) -> list[dict]:
    """From trajectory points (see selectors.trajectories), each session rated by both sides on one alliance instrument.

    A session is its number, or the day the rating was authored when no number was given.
    `gap` is client minus clinician, so a positive gap means the client rates the alliance higher.
    Pure: reads no database, so the trajectory endpoint can add it at no cost.
    """
    registry = get_registry()
    sides: dict[tuple, dict[str, dict]] = {}
    for point in points:
        definition = registry.get(point["questionnaire"], point.get("version"))
        if definition is None or definition.construct != "alliance":
            continue
        authored = point["authored"]
        session = point["session"] if point.get("session") is not None else authored.date().isoformat()
        sides.setdefault((point["questionnaire"], session), {})[point["rater"]] = point
    pairs = []
    for (questionnaire, session), by_rater in sides.items():
        client, clinician = by_rater.get("client"), by_rater.get("clinician")
        if client is None or clinician is None:
            continue
        pairs.append(
            {
                "questionnaire": questionnaire,
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

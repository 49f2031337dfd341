"""What the periodic care task emits: `measure.due` and `measure.missed` webhook events, and `disengaged` alerts.

- **measure.due**: a measure the plan expects at a booked or attended session of an active episode
  whose window (`selectors.due.measure_window`) is open now and which is not done, so an app can
  push a reminder.
- **measure.missed**: such a measure at an attended session whose window closed (within the last
  `MEASURE_EVENTS_LOOKBACK_HOURS`) without a response.
- **disengaged**: an active episode (no planned ending recorded) with no attended session for
  `DISENGAGED_AFTER_WEEKS` weeks (clinic care setting, else the Django setting, default 4; a
  service convention, not a published cut-off), counted from its last attended session or, with
  none, from its start. One alert per gap: attending again and then disengaging again raises another.

Each is emitted once: its key (client's session + instrument + rater + event, or the episode and
its last attended session) is written to `CareNotice` in the same transaction as the deliveries or
the alert, and a key already there is skipped. Payloads carry ids only (client external id,
episode, session, instrument), never answers or names.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, OuterRef, Q, Subquery
from django.utils import timezone

from questionnaires.models import (
    Alert,
    CareNotice,
    CareSession,
    ClinicCareSettings,
    EpisodeOfCare,
    Goal,
    MeasurementPlan,
    Response,
)
from questionnaires.models.care import LINKABLE_ATTENDANCE
from questionnaires.models.plans import DEFAULT_RULES
from questionnaires.registry import get_registry
from questionnaires.selectors.due import episode_slots, measure_window, rule_due_at
from questionnaires.services.plans import MAX_OPEN_HOURS
from questionnaires.services.webhooks import (
    webhook_care_events_record,
    webhook_deliveries_publish_on_commit,
    webhook_events_record,
)

DISENGAGED = "disengaged"
ADVISORY_LOCK = 0x0A11CA2E  # this task's PostgreSQL advisory lock id


@dataclass
class CareNoticeOutcome:
    due: int = 0
    missed: int = 0
    disengaged: int = 0


def disengaged_after_weeks(clinic_id: int, clinic_weeks: dict[int, int | None] | None = None) -> int:
    weeks = (clinic_weeks or {}).get(clinic_id)
    return weeks if weeks else max(1, int(getattr(settings, "DISENGAGED_AFTER_WEEKS", 4)))


def care_notices_emit(*, now: datetime | None = None) -> CareNoticeOutcome:
    """Emit what became due, missed or disengaged since the last run; returns the counts emitted now."""
    now = now or timezone.now()
    outcome = CareNoticeOutcome()
    with transaction.atomic():
        _one_run_at_a_time()
        _measure_events(now, outcome)
        _disengaged_alerts(now, outcome)
    return outcome


def _one_run_at_a_time() -> None:
    """An overlapping run waits for this one to commit, then finds its keys: nothing is emitted twice.
    (SQLite serialises writers by itself.)"""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK])


def _new_keys(notices: list[CareNotice]) -> list[CareNotice]:
    """Insert the notices not yet emitted and return those (the caller's transaction covers both)."""
    if not notices:
        return []
    known = set(CareNotice.objects.filter(key__in=[notice.key for notice in notices]).values_list("key", flat=True))
    fresh = list({notice.key: notice for notice in notices if notice.key not in known}.values())
    CareNotice.objects.bulk_create(fresh, ignore_conflicts=True)
    return fresh


def _measure_events(now: datetime, outcome: CareNoticeOutcome) -> None:
    lookback = timedelta(hours=int(getattr(settings, "MEASURE_EVENTS_LOOKBACK_HOURS", 72)))
    reach = lookback + timedelta(hours=MAX_OPEN_HOURS, days=1)
    candidates = CareSession.objects.filter(
        episode__status=EpisodeOfCare.Status.ACTIVE, attendance__in=LINKABLE_ATTENDANCE,
        scheduled_start__gte=now - reach, scheduled_start__lte=now + reach,
    )
    episode_ids = set(candidates.values_list("episode_id", flat=True))
    if not episode_ids:
        return
    episodes = {episode.pk: episode for episode in EpisodeOfCare.objects.filter(pk__in=episode_ids)
                .select_related("client").only("pk", "clinic_id", "client_id", "client__external_id", "start_date")}
    sessions: dict[int, list[CareSession]] = defaultdict(list)
    for session in CareSession.objects.filter(episode_id__in=episode_ids).order_by("episode_id", "scheduled_start",
                                                                                   "id"):
        sessions[session.episode_id].append(session)
    plans = {(clinic_id, episode_id): rules for clinic_id, episode_id, rules in MeasurementPlan.objects.filter(
        Q(episode__isnull=True) | Q(episode_id__in=episode_ids)).values_list("clinic_id", "episode_id", "rules")}
    default = [rule for rule in DEFAULT_RULES if get_registry().get(rule["questionnaire"]) is not None]
    with_goals = set(Goal.objects.filter(
        client_id__in={episode.client_id for episode in episodes.values()}, status=Goal.Status.ACTIVE
    ).values_list("client_id", flat=True))
    done = set(Response.objects.filter(session__episode_id__in=episode_ids).exclude(
        status=Response.Status.RETRACTED).values_list("session_id", "questionnaire_version__questionnaire_id", "rater"))

    notices: list[CareNotice] = []
    events: dict[str, tuple[int, str, str, dict]] = {}
    for episode_id, episode in episodes.items():
        rules = next((plans[key] for key in ((episode.clinic_id, episode_id), (episode.clinic_id, None))
                      if key in plans), default)  # as rules_in_force: an empty plan expects nothing
        for slot in episode_slots(episode, sessions[episode_id]):
            session = slot.session
            for rule in rules:
                if not rule_due_at(rule, slot, has_goals=episode.client_id in with_goals):
                    continue
                rater = rule.get("rater", "client")
                if (session.pk, rule["questionnaire"], rater) in done:
                    continue
                opens, closes = measure_window(rule, session)
                if opens <= now <= closes:
                    event = CareNotice.Kind.MEASURE_DUE
                elif now - lookback <= closes < now and session.attendance == CareSession.Attendance.ATTENDED:
                    event = CareNotice.Kind.MEASURE_MISSED
                else:
                    continue
                key = f"{event}:{session.pk}:{rule['questionnaire']}:{rater}"
                notices.append(CareNotice(clinic_id=episode.clinic_id, kind=event, key=key))
                events[key] = (episode.clinic_id, str(event), key, {
                    "client": episode.client.external_id, "episode": episode_id, "session_id": session.pk,
                    "session": slot.number, "questionnaire": rule["questionnaire"], "rater": rater,
                    "position": rule.get("position", "session_start"), "opens": opens.isoformat(),
                    "closes": closes.isoformat(),
                })
    fresh = _new_keys(notices)
    webhook_deliveries_publish_on_commit(webhook_care_events_record([events[notice.key] for notice in fresh]))
    outcome.due += sum(1 for notice in fresh if notice.kind == CareNotice.Kind.MEASURE_DUE)
    outcome.missed += sum(1 for notice in fresh if notice.kind == CareNotice.Kind.MEASURE_MISSED)


def _disengaged_alerts(now: datetime, outcome: CareNoticeOutcome) -> None:
    clinic_weeks = dict(ClinicCareSettings.objects.exclude(disengaged_after_weeks=None).values_list(
        "clinic_id", "disengaged_after_weeks"))
    shortest = min([disengaged_after_weeks(0), *[weeks for weeks in clinic_weeks.values() if weeks]])
    attended = Q(sessions__attendance=CareSession.Attendance.ATTENDED)
    episodes = (
        EpisodeOfCare.objects.filter(status=EpisodeOfCare.Status.ACTIVE, start_date__lte=(now - timedelta(
            weeks=shortest)).date())
        .annotate(last_attended=Max("sessions__scheduled_start", filter=attended), last_session=Subquery(
            CareSession.objects.filter(episode_id=OuterRef("pk"), attendance=CareSession.Attendance.ATTENDED)
            .order_by("-scheduled_start", "-id").values("pk")[:1]))
        .filter(Q(last_attended__isnull=True) | Q(last_attended__lte=now - timedelta(weeks=shortest)))
        .select_related("client")
    )
    drafts: list[tuple[CareNotice, Alert]] = []
    for episode in episodes:
        weeks = disengaged_after_weeks(episode.clinic_id, clinic_weeks)
        since = episode.last_attended or timezone.make_aware(datetime.combine(episode.start_date, datetime.min.time()))
        if since > now - timedelta(weeks=weeks):
            continue
        last = episode.last_session
        key = f"{DISENGAGED}:{episode.pk}:{last or 'start'}"
        what = f"the last attended session on {since:%Y-%m-%d}" if last else f"the episode's start on {since:%Y-%m-%d}"
        drafts.append((
            CareNotice(clinic_id=episode.clinic_id, kind=CareNotice.Kind.DISENGAGED, key=key),
            Alert(clinic_id=episode.clinic_id, client_id=episode.client_id, response=None, questionnaire_id="",
                  kind=DISENGAGED, category=Alert.Category.ALERT, priority=Alert.Priority.NORMAL,
                  message=f"No attended session for {weeks} weeks since {what}, and no planned ending: "
                          "contact the client or record how the episode ended.",
                  details={"episode": episode.pk, "last_attended_session": last, "weeks": weeks}),
        ))
    if not drafts:
        return
    fresh = {notice.key for notice in _new_keys([notice for notice, _ in drafts])}
    alerts = Alert.objects.bulk_create([alert for notice, alert in drafts if notice.key in fresh])
    webhook_deliveries_publish_on_commit(webhook_events_record(scored=[], alerts=alerts))
    outcome.disengaged += len(alerts)

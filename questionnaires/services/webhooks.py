"""Webhooks: subscriptions, the outbox rows written with each scored batch, and signed delivery with retries.

Signature: header `X-Alliance-Signature: t=<unix seconds>,v1=<hex>` where the hex is
HMAC-SHA256(secret, "<t>.<raw body>"). A receiver recomputes it over the raw bytes it got,
compares in constant time, and rejects a `t` too far from its own clock (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from questionnaires.models import Alert, Response, TherapyClient, WebhookDelivery, WebhookSubscription
from questionnaires.services.errors import InvalidInput
from questionnaires.services.publishing import WEBHOOK_DELIVER, publish
from questionnaires.services.scored_responses import ScoredResponse
from questionnaires.sql_arrays import ints_in
from questionnaires.validation import Problem

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Alliance-Signature"
EVENTS = tuple(WebhookSubscription.Event.values)


# --- signing ---------------------------------------------------------------------------------------

def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """The header value for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def webhook_signature_valid(*, secret: str, header: str, body: bytes, tolerance_seconds: int = 300,
                            now: float | None = None) -> bool:
    """What a receiver does: parse `t` and `v1`, check the clock, compare in constant time."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_seconds:
        return False
    expected = webhook_signature(secret=secret, timestamp=timestamp, body=body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


# --- where deliveries may go --------------------------------------------------------------------

def webhook_url_problem(url: str) -> str | None:
    """Why a URL may not receive webhooks, or None.

    Only http(s). With `WEBHOOK_ALLOWED_HOSTS` set, only those hosts (".example.org" covers its
    subdomains) and nothing else; unset, any host whose every resolved address is public, so a
    subscription cannot make the workers call into the internal network.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "only http and https URLs are allowed"
    host = (parts.hostname or "").lower()
    if not host:
        return "the URL has no host"
    if parts.username or parts.password:
        return "credentials in the URL are not allowed"
    allowed = [entry.lower() for entry in settings.WEBHOOK_ALLOWED_HOSTS]
    if allowed:
        if any(host == entry or (entry.startswith(".") and (host.endswith(entry) or host == entry[1:]))
               for entry in allowed):
            return None
        return f"host {host!r} is not in WEBHOOK_ALLOWED_HOSTS"
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = {info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)}
    except (OSError, ValueError, UnicodeError):
        return f"host {host!r} does not resolve"
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if not ip.is_global or ip.is_multicast:
            return f"host {host!r} resolves to a non-public address ({ip})"
    return None


# --- subscriptions --------------------------------------------------------------------------------

@dataclass(frozen=True)
class CreatedSubscription:
    subscription: WebhookSubscription
    secret: str
    """Shown once, in the creation response; needed by the receiver to verify signatures."""


def webhook_subscription_create(
    *, clinic_id: int, url: str, events: Sequence[str], description: str = "", created_by: str = ""
) -> CreatedSubscription:
    problems = []
    if not isinstance(url, str) or not url or len(url) > 500:
        problems.append(Problem("url", "a URL of at most 500 characters is required"))
    else:
        reason = webhook_url_problem(url)
        if reason:
            problems.append(Problem("url", reason))
    if not isinstance(events, list | tuple) or not events:
        problems.append(Problem("events", f"a non-empty list of: {', '.join(EVENTS)}"))
    else:
        unknown = [event for event in events if event not in EVENTS]
        if unknown:
            problems.append(Problem("events", f"unknown events {unknown!r}; known: {', '.join(EVENTS)}"))
    if problems:
        raise InvalidInput("The webhook subscription is not valid.", problems)
    secret = "whsec_" + secrets.token_urlsafe(32)
    subscription = WebhookSubscription.objects.create(
        clinic_id=clinic_id,
        url=url,
        events=sorted(set(events)),
        secret=secret,
        description=description[:200],
        created_by=created_by[:150],
    )
    return CreatedSubscription(subscription=subscription, secret=secret)


def webhook_subscription_delete(*, subscription: WebhookSubscription) -> None:
    """Deactivate rather than delete, so the delivery log stays readable in admin."""
    subscription.active = False
    subscription.save(update_fields=["active"])


# --- the outbox -------------------------------------------------------------------------------------

def webhook_events_record(*, scored: Sequence[ScoredResponse], alerts: Sequence[Alert]) -> list[int]:
    """Write one pending delivery per event and subscription, in the scoring transaction; returns their ids.

    Written with the scores, so an event cannot be lost between commit and publish: the
    sweep re-sends anything pending. (subscription, event id) is unique, so recording the
    same event twice sends it once.
    """
    clinic_ids = {item.response.clinic_id for item in scored} | {alert.clinic_id for alert in alerts}
    if not clinic_ids:
        return []
    subscriptions: dict[int, list[WebhookSubscription]] = {}
    for subscription in WebhookSubscription.objects.filter(clinic_id__in=clinic_ids, active=True):
        subscriptions.setdefault(subscription.clinic_id, []).append(subscription)
    if not subscriptions:
        return []
    # One read of the batch's clients' external ids, not one per payload.
    client_ids = {item.response.client_id for item in scored} | {alert.client_id for alert in alerts}
    external_ids = dict(TherapyClient.objects.filter(id__in=ints_in(client_ids)).values_list("id", "external_id"))
    events: list[tuple[int, str, str, dict]] = []
    for item in scored:
        # An amended response is scored again: its version keeps that event apart from the first one.
        version = getattr(item.response, "version", 1) or 1
        event_id = f"response.scored:{item.response.id}" + (f":v{version}" if version > 1 else "")
        payload = _scored_payload(item, external_ids[item.response.client_id])
        events.append((item.response.clinic_id, "response.scored", event_id, payload))
    for alert in alerts:
        event_id = f"alert.raised:{alert.id}"
        events.append((alert.clinic_id, "alert.raised", event_id, _alert_payload(alert, external_ids[alert.client_id])))
    return _deliveries_record(events, subscriptions)


def webhook_correction_record(*, response: Response, event: str, reason: str, changed_by: str) -> list[int]:
    """One pending delivery per subscriber of `response.amended` / `response.retracted`; returns their ids.

    Written in the correction's transaction, like the scoring outbox. The data names the response,
    its client, the new version and why, never the answers.
    """
    subscriptions = {response.clinic_id: list(
        WebhookSubscription.objects.filter(clinic_id=response.clinic_id, active=True)
    )}
    data = {
        "response": str(response.id),
        "client": response.client.external_id,
        "questionnaire": response.questionnaire_version.questionnaire_id,
        "version": response.version,
        "status": response.status,
        "reason": reason,
        "changed_by": changed_by,
    }
    event_id = f"{event}:{response.id}:v{response.version}"
    return _deliveries_record([(response.clinic_id, event, event_id, data)], subscriptions)


def webhook_deliveries_publish_on_commit(delivery_ids: Sequence[int]) -> None:
    """Send the deliveries to the webhook queue once the transaction that recorded them commits.

    A lost publish is re-sent by the sweep: the pending delivery row is the truth.
    """
    if not delivery_ids:
        return

    def publish_all() -> None:
        for delivery_id in delivery_ids:
            if not publish(WEBHOOK_DELIVER, args=[delivery_id], what=f"webhook delivery {delivery_id}"):
                break

    transaction.on_commit(publish_all, robust=True)


def _deliveries_record(
    events: list[tuple[int, str, str, dict]], subscriptions: dict[int, list[WebhookSubscription]]
) -> list[int]:
    deliveries = [
        WebhookDelivery(
            subscription=subscription,
            event=event,
            event_id=event_id,
            payload={"id": event_id, "type": event, "created": timezone.now().isoformat(), "data": data},
        )
        for clinic_id, event, event_id, data in events
        for subscription in subscriptions.get(clinic_id, [])
        if event in subscription.events
    ]
    if not deliveries:
        return []
    WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    keys = {(delivery.subscription_id, delivery.event_id) for delivery in deliveries}
    return [
        delivery_id
        for delivery_id, subscription_id, event_id in WebhookDelivery.objects.filter(
            subscription_id__in={key[0] for key in keys},
            event_id__in={key[1] for key in keys},
            status=WebhookDelivery.Status.PENDING,
        ).values_list("id", "subscription_id", "event_id")
        if (subscription_id, event_id) in keys
    ]


def _scored_payload(item: ScoredResponse, client_external_id: str) -> dict:
    response, score = item.response, item.score
    return {
        "response": str(response.id),
        "client": client_external_id,
        "questionnaire": item.definition.id,
        "version": item.definition.version,
        "session": response.session_number,
        "rater": response.rater,
        "authored": response.authored_at.isoformat(),
        "score": {
            "total": _json_number(score.total),
            "subscales": {name: _json_number(value) for name, value in score.subscales.items()},
            "band": score.band,
            "flags": list(score.flags),
        },
    }


def _alert_payload(alert: Alert, client_external_id: str) -> dict:
    return {
        "alert": alert.id,
        "kind": alert.kind,
        "priority": alert.priority,
        "questionnaire": alert.questionnaire_id,
        "response": str(alert.response_id) if alert.response_id else None,
        "client": client_external_id,
        "message": alert.message,
        "details": alert.details,
    }


def _json_number(value) -> int | float:
    return int(value) if value == int(value) else float(value)


# --- delivery ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DeliveryResult:
    status: str
    retry_in: float | None = None
    """Seconds until the next attempt, when another attempt is due."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect could point anywhere, past the allow-list: treat it as a failed attempt."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def webhook_deliver(*, delivery_id: int) -> DeliveryResult:
    """One attempt at one delivery; the row lock keeps two workers from sending it at once.

    Success is any 2xx. Anything else is recorded and, below `WEBHOOK_MAX_ATTEMPTS`, retried
    with exponential back-off capped under the broker's visibility timeout.
    """
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .select_related("subscription")
            .filter(id=delivery_id)
            .first()
        )
        if delivery is None:
            return DeliveryResult(status="busy-or-gone")
        if delivery.status != WebhookDelivery.Status.PENDING:
            return DeliveryResult(status=delivery.status)
        subscription = delivery.subscription
        delivery.attempts += 1
        delivery.last_attempt_at = timezone.now()
        code, error = _attempt(subscription, delivery)
        delivery.response_code = code
        if error is None:
            delivery.status = WebhookDelivery.Status.DELIVERED
            delivery.delivered_at = timezone.now()
            delivery.last_error = ""
            delivery.next_attempt_at = None
            retry_in = None
        else:
            delivery.last_error = error[:2000]
            if delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS or not subscription.active:
                delivery.status = WebhookDelivery.Status.FAILED
                delivery.next_attempt_at = None
                retry_in = None
            else:
                retry_in = webhook_backoff(attempts=delivery.attempts)
                delivery.next_attempt_at = timezone.now() + timedelta(seconds=retry_in)
        delivery.save()
    return DeliveryResult(status=delivery.status, retry_in=retry_in)


def webhook_backoff(*, attempts: int) -> float:
    """base · 2^(attempts − 1), capped; a countdown past the visibility timeout would be redelivered early."""
    return float(min(settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempts - 1), settings.WEBHOOK_RETRY_MAX_SECONDS))


def _attempt(subscription: WebhookSubscription, delivery: WebhookDelivery) -> tuple[int | None, str | None]:
    """(status code, error or None). Re-checks the URL at send time: DNS may have changed since subscribing."""
    reason = webhook_url_problem(subscription.url)
    if reason:
        return None, f"refused: {reason}"
    body = json.dumps(delivery.payload, cls=DjangoJSONEncoder, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time())
    request = urllib.request.Request(
        subscription.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "alliance-api-webhooks/1",
            SIGNATURE_HEADER: webhook_signature(secret=subscription.secret, timestamp=timestamp, body=body),
            "X-Alliance-Event": delivery.event,
            "X-Alliance-Delivery": str(delivery.id),
            "X-Alliance-Event-Id": delivery.event_id,
        },
    )
    try:
        with _opener.open(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as answer:
            code = answer.status
    except urllib.error.HTTPError as error:
        return error.code, f"HTTP {error.code}"
    except (urllib.error.URLError, OSError, ValueError) as error:
        return None, f"{type(error).__name__}: {getattr(error, 'reason', error)}"
    if 200 <= code < 300:
        return code, None
    return code, f"HTTP {code}"

"""Webhooks: subscriptions, the outbox rows written with each scored batch, and signed delivery with retries.

Signature: header `X-Alliance-Signature: t=<unix seconds>,v1=<hex>` where the hex is
HMAC-SHA256(secret, "<t>.<raw body>"). A receiver recomputes it over the raw bytes it got,
compares in constant time, and rejects a `t` too far from its own clock (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import secrets
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from questionnaires.models import Alert, Response, TherapyClient, WebhookDelivery, WebhookSubscription
from questionnaires.selectors.alerts import PRIORITY_RANK
from questionnaires.services.errors import InvalidInput
from questionnaires.services.publishing import WEBHOOK_DELIVER, publish
from questionnaires.services.scored_responses import ScoredResponse
from questionnaires.sql_arrays import ints_in
from questionnaires.validation import Problem

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Alliance-Signature"
EVENTS = tuple(WebhookSubscription.Event.values)
NOT_ON_TRACK = WebhookSubscription.Event.NOT_ON_TRACK.value


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

NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
"""RFC 6052: the low 32 bits are the IPv4 address a NAT64 gateway forwards to."""
NAT64_LOCAL_USE = ipaddress.ip_network("64:ff9b:1::/48")
"""RFC 8215: a network-specific translation prefix; where it leads is not knowable here, so never public."""
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
"""RFC 4291 (deprecated) IPv4-compatible addresses, `::a.b.c.d`."""


class WebhookRefused(Exception):
    """Why a URL may not receive webhooks; the message is shown to the subscriber and in the delivery log."""


@dataclass(frozen=True)
class WebhookTarget:
    """A checked URL: where to connect (the addresses checked, in resolver order) and what to call it."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


def webhook_url_problem(url: str) -> str | None:
    """Why a URL may not receive webhooks, or None (see `webhook_target`)."""
    try:
        webhook_target(url, resolve_allowed_hosts=False)
    except WebhookRefused as refused:
        return str(refused)
    return None


def webhook_target(url: str, *, resolve_allowed_hosts: bool = True) -> WebhookTarget:
    """Resolve the URL's host once and check every address; raises WebhookRefused.

    Only http(s), only the ports in `WEBHOOK_ALLOWED_PORTS` (80 and 443 by default). With
    `WEBHOOK_ALLOWED_HOSTS` set, only those hosts (".example.org" covers its subdomains), private
    addresses included; unset, any host whose every resolved address is public, IPv4 addresses
    wrapped in IPv6 (mapped, compatible, NAT64, 6to4) judged by the IPv4 inside. The delivery
    connects to these very addresses, so a second DNS answer (rebinding) is never consulted.
    An allow-listed host need not resolve when subscribing (`resolve_allowed_hosts=False`): its
    name may resolve only where the workers run.
    """
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise WebhookRefused("not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise WebhookRefused("only http and https URLs are allowed")
    host = (parts.hostname or "").lower()
    if not host:
        raise WebhookRefused("the URL has no host")
    if parts.username or parts.password:
        raise WebhookRefused("credentials in the URL are not allowed")
    if port not in settings.WEBHOOK_ALLOWED_PORTS:
        allowed_ports = ", ".join(str(allowed) for allowed in settings.WEBHOOK_ALLOWED_PORTS)
        raise WebhookRefused(f"port {port} is not allowed (WEBHOOK_ALLOWED_PORTS: {allowed_ports})")
    allowed = [entry.lower() for entry in settings.WEBHOOK_ALLOWED_HOSTS]
    if allowed and not any(
        host == entry or (entry.startswith(".") and (host.endswith(entry) or host == entry[1:])) for entry in allowed
    ):
        raise WebhookRefused(f"host {host!r} is not in WEBHOOK_ALLOWED_HOSTS")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if allowed and not resolve_allowed_hosts:
        return WebhookTarget(scheme=parts.scheme, host=host, port=port, path=path, addresses=())
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError, UnicodeError):
        raise WebhookRefused(f"host {host!r} does not resolve") from None
    addresses = tuple(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in answers))
    if not addresses:
        raise WebhookRefused(f"host {host!r} does not resolve")
    if not allowed:
        for address in addresses:
            if not webhook_address_public(ipaddress.ip_address(address)):
                raise WebhookRefused(f"host {host!r} resolves to a non-public address ({address})")
    return WebhookTarget(scheme=parts.scheme, host=host, port=port, path=path, addresses=addresses)


def webhook_address_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True when the address, and any IPv4 address it carries, is globally routable unicast.

    An IPv4-mapped, IPv4-compatible or NAT64 (64:ff9b::/96) address is only a way of writing the
    IPv4 address inside, so that address alone decides; 6to4 and Teredo must pass on both counts.
    """
    candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in NAT64_LOCAL_USE:
            return False
        if ip.ipv4_mapped is not None:
            candidates = [ip.ipv4_mapped]
        elif ip in NAT64_WELL_KNOWN or ip in IPV4_COMPATIBLE:
            candidates = [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
        if ip.sixtofour is not None:
            candidates.append(ip.sixtofour)
        if ip.teredo is not None:
            candidates.extend(ip.teredo)
    return all(
        candidate.is_global and not (candidate.is_multicast or candidate.is_unspecified or candidate.is_reserved)
        for candidate in candidates
    )


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
    for event_id, lead, reasons in _session_alert_events(alerts):
        payload = _session_alert_payload(lead, reasons, external_ids[reasons[0].client_id])
        events.append((reasons[0].clinic_id, "alert.raised", event_id, payload))
    for alert in alerts:
        if alert.kind == NOT_ON_TRACK and alert.withdrawn_at is None:
            # Its own event too, so an integration can follow only these; the details carry the curve's provenance.
            payload = _alert_payload(alert, external_ids[alert.client_id])
            events.append((alert.clinic_id, NOT_ON_TRACK, f"{NOT_ON_TRACK}:{alert.id}", payload))
    return _deliveries_record(events, subscriptions)


def webhook_care_events_record(events: Sequence[tuple[int, str, str, dict]]) -> list[int]:
    """One pending delivery per subscriber of each (clinic id, event, event id, data): `measure.due`,
    `measure.missed`; returns their ids. The event id is deterministic, so recording one twice sends it once."""
    clinic_ids = {clinic_id for clinic_id, _, _, _ in events}
    if not clinic_ids:
        return []
    subscriptions: dict[int, list[WebhookSubscription]] = {}
    for subscription in WebhookSubscription.objects.filter(clinic_id__in=clinic_ids, active=True):
        subscriptions.setdefault(subscription.clinic_id, []).append(subscription)
    return _deliveries_record(list(events), subscriptions) if subscriptions else []


def _session_alert_events(alerts: Sequence[Alert]) -> list[tuple[str, int, list[Alert]]]:
    """(event id, session alert id, reasons) of each `alert.raised` these rows send.

    One `alert.raised` per client and session: a reason that joins a session alert stored before
    raises nothing (it reopens that alert in the lists instead), except a high-priority reason
    (a risk item): an integration that follows webhooks alone must hear of it, so it is sent as
    `alert.raised` of the same session alert with an event id of its own. Notes (good news)
    raise nothing.
    """
    candidates = [
        alert for alert in alerts if alert.category == Alert.Category.ALERT and alert.withdrawn_at is None
    ]
    if not candidates:
        return []
    leads: dict[tuple[int, str], int] = {}
    for client_id, session_key, alert_id in Alert.objects.filter(
        client_id__in=ints_in({alert.client_id for alert in candidates}),
        session_key__in={alert.session_key for alert in candidates},
        category=Alert.Category.ALERT,
        withdrawn_at__isnull=True,
    ).values_list("client_id", "session_key", "id"):
        key = (client_id, session_key)
        leads[key] = min(alert_id, leads.get(key, alert_id))
    started: dict[int, list[Alert]] = {}
    escalated: list[tuple[str, int, list[Alert]]] = []
    batch_ids = {alert.id for alert in candidates}
    for alert in sorted(candidates, key=lambda alert: alert.id):
        lead = leads.get((alert.client_id, alert.session_key), alert.id)
        if lead in batch_ids:
            started.setdefault(lead, []).append(alert)
        elif alert.priority == Alert.Priority.HIGH:
            escalated.append((f"alert.raised:{lead}:{alert.id}", lead, [alert]))
    return [(f"alert.raised:{lead}", lead, reasons) for lead, reasons in started.items()] + escalated


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
        "questionnaire": alert.questionnaire_id or None,
        "response": str(alert.response_id) if alert.response_id else None,
        "client": client_external_id,
        "message": alert.message,
        "details": alert.details,
    }


def _session_alert_payload(lead: int, reasons: list[Alert], client_external_id: str) -> dict:
    """The top reason's fields (as a one-reason alert reads), the session, and every reason, highest priority first."""
    ordered = sorted(reasons, key=lambda alert: (-PRIORITY_RANK.get(alert.priority, 0), alert.id))
    return {
        **_alert_payload(ordered[0], client_external_id),
        "alert": lead,
        "session": reasons[0].session_key,
        "kinds": list(dict.fromkeys(alert.kind for alert in ordered)),
        "reasons": [_alert_payload(alert, client_external_id) for alert in ordered],
    }


def _json_number(value) -> int | float:
    return int(value) if value == int(value) else float(value)


# --- delivery ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DeliveryResult:
    status: str
    retry_in: float | None = None
    """Seconds until the next attempt, when another attempt is due."""


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
    try:
        target = webhook_target(subscription.url)
    except WebhookRefused as refused:
        return None, f"refused: {refused}"
    body = json.dumps(delivery.payload, cls=DjangoJSONEncoder, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "alliance-api-webhooks/1",
        SIGNATURE_HEADER: webhook_signature(secret=subscription.secret, timestamp=timestamp, body=body),
        "X-Alliance-Event": delivery.event,
        "X-Alliance-Delivery": str(delivery.id),
        "X-Alliance-Event-Id": delivery.event_id,
    }
    try:
        code = _post(target, body=body, headers=headers, timeout=settings.WEBHOOK_TIMEOUT_SECONDS)
    except (OSError, http.client.HTTPException, ValueError) as error:
        return None, f"{type(error).__name__}: {error}"
    if 200 <= code < 300:
        return code, None
    # Redirects are not followed: the new location could point anywhere, past every check above.
    return code, f"HTTP {code}"


def _post(target: WebhookTarget, *, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST to the checked addresses in turn; Host header, TLS SNI and certificate name stay the URL's host."""
    last_error: OSError | None = None
    for address in target.addresses:
        connection: http.client.HTTPConnection
        if target.scheme == "https":
            connection = http.client.HTTPSConnection(
                target.host, target.port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
        # http.client opens its socket through this hook: pin it to the checked address, never a new lookup.
        connection._create_connection = partial(_pinned_socket, address)  # type: ignore[attr-defined]
        try:
            connection.request("POST", target.path, body=body, headers=headers)
            return connection.getresponse().status
        except ConnectionRefusedError as error:
            last_error = error  # nothing listens there: the next checked address may answer
        finally:
            connection.close()
    raise last_error or OSError("no address to connect to")


def _pinned_socket(address: str, destination: tuple[str, int], timeout: float, source_address=None) -> socket.socket:
    """Connect to `address` on the destination's port, ignoring its host name."""
    return webhook_connect(address=address, port=destination[1], timeout=timeout)


def webhook_connect(*, address: str, port: int, timeout: float) -> socket.socket:
    """The one place a webhook socket is opened: always to an address `webhook_target` checked."""
    return socket.create_connection((address, port), timeout=timeout)

"""Events service of the simulated device: CreatePullPointSubscription, PullMessages (held open until an event
or the asked timeout), Renew, Unsubscribe, SetSynchronizationPoint (ONVIF Core Specification §9.1, event.wsdl;
WS-BaseNotification b-2.xsd for Renew/Unsubscribe and the NotificationMessage)."""

from __future__ import annotations

import asyncio
from datetime import datetime

from lxml import etree

from shopwatch.core.errors import NotFound
from shopwatch.onvif.durations import parse_duration, termination_seconds
from shopwatch.onvif.soap import NSMAP, TEV, TNS1, TT, WSA, WSNT, element, sub
from shopwatch.sim.onvif.device import MOTION_TOPICS, SimDevice, SimEvent, Subscription

TOPIC_DIALECT = "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet"
DEFAULT_TERMINATION_S = 60.0
MAX_TERMINATION_S = 3600.0
MAX_PULL_WAIT_S = 30.0  # a client asking for longer waits this long at most
SUBSCRIPTION_PATH = "/onvif/subscription/"


class SubscriptionUnknown(NotFound):
    """The request names a subscription the device does not have (never created, expired or dropped)."""


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _asked_seconds(request: etree._Element, name: str, device: SimDevice) -> float:
    text = request.findtext(f"{{{TEV}}}{name}") or request.findtext(f"{{{WSNT}}}{name}")
    if not text:
        return DEFAULT_TERMINATION_S
    return min(MAX_TERMINATION_S, max(1.0, termination_seconds(text, device.now())))


def _times(parent: etree._Element, ns: str, device: SimDevice, subscription: Subscription) -> None:
    sub(parent, ns, "CurrentTime", _utc(device.now()))
    sub(parent, ns, "TerminationTime", _utc(device.termination(subscription)))


def create_pull_point(device: SimDevice, request: etree._Element) -> etree._Element:
    subscription = device.subscribe(_asked_seconds(request, "InitialTerminationTime", device))
    body = element(TEV, "CreatePullPointSubscriptionResponse")
    reference = sub(body, TEV, "SubscriptionReference")
    own = f"{device.base_url}{SUBSCRIPTION_PATH}{subscription.sid}"
    sub(reference, WSA, "Address", device.spec.reported_pullpoint_url or own)
    sub(body, WSNT, "CurrentTime", _utc(device.now()))
    sub(body, WSNT, "TerminationTime", _utc(device.termination(subscription)))
    return body


def subscription_of(device: SimDevice, sid: int) -> Subscription:
    subscription = device.subscription(sid)
    if subscription is None:
        raise SubscriptionUnknown(f"no subscription {sid}")
    return subscription


async def pull_messages(device: SimDevice, sid: int, request: etree._Element) -> etree._Element:
    device.counters.pulls += 1
    subscription = subscription_of(device, sid)
    timeout = parse_duration(request.findtext(f"{{{TEV}}}Timeout") or "PT1S").total_seconds()
    limit = int(request.findtext(f"{{{TEV}}}MessageLimit") or "10")
    if not subscription.queue:
        subscription.wakeup.clear()
        try:
            async with asyncio.timeout(min(timeout, MAX_PULL_WAIT_S)):  # not wait_for: it can drop a cancel
                await subscription.wakeup.wait()
        except TimeoutError:
            pass
        subscription = subscription_of(device, sid)  # dropped or expired while waiting: a fault, as devices do
    events = [subscription.queue.popleft() for _ in range(min(limit, len(subscription.queue)))]
    body = element(TEV, "PullMessagesResponse")
    _times(body, TEV, device, subscription)
    for event in events:
        body.append(notification(event))
    return body


def notification(event: SimEvent) -> etree._Element:
    message = element(WSNT, "NotificationMessage")
    topic = etree.SubElement(message, f"{{{WSNT}}}Topic", nsmap={"tns1": TNS1})
    topic.set("Dialect", TOPIC_DIALECT)
    topic.text = f"tns1:{event.topic}"
    holder = sub(message, WSNT, "Message")
    tt_message = etree.SubElement(holder, f"{{{TT}}}Message", nsmap={"tt": TT})
    tt_message.set("UtcTime", _utc(event.utc))
    tt_message.set("PropertyOperation", "Changed")
    source = sub(tt_message, TT, "Source")
    sub(source, TT, "SimpleItem", Name="VideoSourceConfigurationToken", Value=event.source_token)
    data = sub(tt_message, TT, "Data")
    sub(data, TT, "SimpleItem", Name=MOTION_TOPICS[event.topic], Value="true" if event.state else "false")
    return message


def renew(device: SimDevice, sid: int, request: etree._Element) -> etree._Element:
    subscription = subscription_of(device, sid)
    device.renew(subscription, _asked_seconds(request, "TerminationTime", device))
    body = element(WSNT, "RenewResponse")
    sub(body, WSNT, "TerminationTime", _utc(device.termination(subscription)))
    sub(body, WSNT, "CurrentTime", _utc(device.now()))
    return body


def unsubscribe(device: SimDevice, sid: int) -> etree._Element:
    if not device.unsubscribe(sid):
        raise SubscriptionUnknown(f"no subscription {sid}")
    return element(WSNT, "UnsubscribeResponse")


def synchronization_point(device: SimDevice, sid: int) -> etree._Element:
    subscription_of(device, sid)
    return element(TEV, "SetSynchronizationPointResponse")


def response_action(request_action: str | None) -> tuple[etree._Element, ...]:
    """The ``wsa:Action`` header of an answer: the request's action with ``Response`` appended (WS-Addressing
    as event.wsdl declares it)."""
    if not request_action:
        return ()
    action = etree.Element(f"{{{WSA}}}Action", nsmap={"wsa": WSA})
    action.text = f"{request_action}Response"
    return (action,)


def request_action(header: etree._Element | None) -> str | None:
    return None if header is None else header.findtext("wsa:Action", namespaces=NSMAP)

"""Media2 (ver20/media/wsdl) requests and answers as bytes and values.

onvif-zeep-async ships no Media2 WSDL, so the three operations onboarding needs are built and parsed here and
sent by ``device.OnvifDevice`` with the same WS-Security header zeep would add."""

from __future__ import annotations

from lxml import etree

from shopwatch.onvif.profiles import MediaProfile, from_media2
from shopwatch.onvif.soap import NSMAP, TR2, Envelope, element, sub

ACTION = "http://www.onvif.org/ver20/media/wsdl/"


def get_profiles_request() -> tuple[etree._Element, str]:
    body = element(TR2, "GetProfiles")
    sub(body, TR2, "Type", "All")  # every configuration of each profile, audio output included
    return body, ACTION + "GetProfiles"


def get_stream_uri_request(token: str) -> tuple[etree._Element, str]:
    body = element(TR2, "GetStreamUri")
    sub(body, TR2, "Protocol", "RTSP")  # RTP over RTSP (TCP or UDP chosen at SETUP), Media2 §5.2.1
    sub(body, TR2, "ProfileToken", token)
    return body, ACTION + "GetStreamUri"


def get_snapshot_uri_request(token: str) -> tuple[etree._Element, str]:
    body = element(TR2, "GetSnapshotUri")
    sub(body, TR2, "ProfileToken", token)
    return body, ACTION + "GetSnapshotUri"


def _expect(env: Envelope, name: str) -> etree._Element:
    if env.operation != etree.QName(TR2, name):
        raise ValueError(f"expected tr2:{name}, found {env.operation.localname!r}")
    return env.body


def parse_profiles(env: Envelope) -> list[MediaProfile]:
    body = _expect(env, "GetProfilesResponse")
    found = (from_media2(el) for el in body.iterfind("tr2:Profiles", NSMAP))
    return [p for p in found if p is not None]


def parse_uri(env: Envelope, response: str) -> str:
    uri = (_expect(env, response).findtext("tr2:Uri", default="", namespaces=NSMAP) or "").strip()
    if not uri:
        raise ValueError(f"expected a tr2:Uri in {response}, found none")
    return uri

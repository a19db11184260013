"""SOAP 1.2 and WS-Security pieces that work on bytes and values, shared by the ONVIF client's own requests
(the probe, Media2) and by the device simulator.

Namespaces are those of the ONVIF WSDLs (ONVIF Core Specification §5, "Namespaces"); the UsernameToken digest
is the WS-Security UsernameToken Profile 1.0 §3.1: ``Base64(SHA-1(nonce + created + password))``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree

from shopwatch.core.errors import PeerProtocolError

SOAP_ENV = "http://www.w3.org/2003/05/soap-envelope"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
PASSWORD_DIGEST = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
PASSWORD_TEXT = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"
BASE64_BINARY = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-soap-message-security-1.0#Base64Binary"
WSA = "http://www.w3.org/2005/08/addressing"
TDS = "http://www.onvif.org/ver10/device/wsdl"
TRT = "http://www.onvif.org/ver10/media/wsdl"
TR2 = "http://www.onvif.org/ver20/media/wsdl"
TT = "http://www.onvif.org/ver10/schema"
TEV = "http://www.onvif.org/ver10/events/wsdl"
WSNT = "http://docs.oasis-open.org/wsn/b-2"
TNS1 = "http://www.onvif.org/ver10/topics"
TER = "http://www.onvif.org/ver10/error"

NSMAP = {
    "s": SOAP_ENV, "wsse": WSSE, "wsu": WSU, "wsa": WSA, "tds": TDS, "trt": TRT, "tr2": TR2, "tt": TT,
    "tev": TEV, "wsnt": WSNT, "tns1": TNS1, "ter": TER,
}  # fmt: skip

# lxml refuses entities and network access by default only when told to: a device is an untrusted peer.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=True)


class SoapParseError(PeerProtocolError, ValueError):
    """The bytes are not a SOAP 1.2 envelope."""


@dataclass(frozen=True)
class Fault:
    """A SOAP fault: ``code`` (env:Sender / env:Receiver), ONVIF subcodes (``ter:NotAuthorized``), reason."""

    code: str
    subcodes: tuple[str, ...]
    reason: str

    @property
    def not_authorized(self) -> bool:
        return any(sub.endswith("NotAuthorized") for sub in self.subcodes)


@dataclass(frozen=True)
class Envelope:
    """A parsed envelope: the header element (maybe None) and the first body element (maybe a Fault)."""

    header: etree._Element | None
    body: etree._Element

    @property
    def operation(self) -> etree.QName:
        return etree.QName(self.body)

    def fault(self) -> Fault | None:
        if self.operation != etree.QName(SOAP_ENV, "Fault"):
            return None
        code = self.body.findtext("s:Code/s:Value", default="", namespaces=NSMAP).strip()
        subcodes = tuple((v.text or "").strip() for v in self.body.iterfind(".//s:Subcode/s:Value", namespaces=NSMAP))
        reason = self.body.findtext("s:Reason/s:Text", default="", namespaces=NSMAP).strip()
        return Fault(code, subcodes, reason)


def parse_envelope(data: bytes) -> Envelope:
    """The envelope in ``data``; ``SoapParseError`` saying what was found instead."""
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise SoapParseError(f"expected a SOAP envelope, found bytes that are not XML ({exc})") from None
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise SoapParseError(f"expected a SOAP 1.2 Envelope, found root element {etree.QName(root).localname!r}")
    body = root.find("s:Body", NSMAP)
    if body is None or len(body) == 0:
        raise SoapParseError("expected a SOAP Body with one element, found none")
    return Envelope(root.find("s:Header", NSMAP), body[0])


def envelope(body: etree._Element, headers: tuple[etree._Element, ...] = ()) -> bytes:
    """A SOAP 1.2 envelope around ``body`` as UTF-8 bytes."""
    root = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"s": SOAP_ENV})
    if headers:
        header = etree.SubElement(root, f"{{{SOAP_ENV}}}Header")
        header.extend(headers)
    etree.SubElement(root, f"{{{SOAP_ENV}}}Body").append(body)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def element(ns: str, name: str, text: str | None = None, **attributes: str) -> etree._Element:
    el = etree.Element(f"{{{ns}}}{name}", nsmap={k: v for k, v in NSMAP.items() if v == ns} or None)
    if text is not None:
        el.text = text
    for key, value in attributes.items():
        el.set(key, value)
    return el


def sub(parent: etree._Element, ns: str, name: str, text: str | None = None, **attributes: str) -> etree._Element:
    el = etree.SubElement(parent, f"{{{ns}}}{name}")
    if text is not None:
        el.text = text
    for key, value in attributes.items():
        el.set(key, value)
    return el


# -- WS-Security UsernameToken ------------------------------------------------------------------------------


def iso_utc(moment: datetime) -> str:
    """``2027-01-15T08:00:00Z``: the Zulu form every camera accepts (some Hikvision firmware refuses +00:00)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def password_digest(nonce: bytes, created: str, password: str) -> str:
    return base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode()).digest()).decode()


def security_header(username: str, password: str, created: datetime, nonce: bytes | None = None) -> etree._Element:
    """A ``wsse:Security`` header with a digest UsernameToken created at ``created`` (device time)."""
    nonce = os.urandom(16) if nonce is None else nonce
    stamp = iso_utc(created)
    security = etree.Element(f"{{{WSSE}}}Security", nsmap={"wsse": WSSE, "wsu": WSU})
    token = sub(security, WSSE, "UsernameToken")
    sub(token, WSSE, "Username", username)
    sub(token, WSSE, "Password", password_digest(nonce, stamp, password), Type=PASSWORD_DIGEST)
    sub(token, WSSE, "Nonce", base64.b64encode(nonce).decode(), EncodingType=BASE64_BINARY)
    sub(token, WSU, "Created", stamp)
    return security


@dataclass(frozen=True)
class UsernameToken:
    username: str
    password: str  # the digest (or the plain text when ``digest`` is False)
    digest: bool
    nonce: bytes
    created_text: str  # as sent: the digest covers these exact characters
    created: datetime | None

    def matches(self, password: str) -> bool:
        if not self.digest:
            return hmac.compare_digest(self.password, password)
        expected = password_digest(self.nonce, self.created_text, password)
        return hmac.compare_digest(expected, self.password)


def username_token(header: etree._Element | None) -> UsernameToken | None:
    """The UsernameToken of a request header, or None when the request carries none."""
    if header is None:
        return None
    token = header.find("wsse:Security/wsse:UsernameToken", NSMAP)
    if token is None:
        return None
    password = token.find("wsse:Password", NSMAP)
    created_text = token.findtext("wsu:Created", default="", namespaces=NSMAP).strip()
    try:
        nonce = base64.b64decode(token.findtext("wsse:Nonce", default="", namespaces=NSMAP).strip(), validate=True)
        created = datetime.fromisoformat(created_text.replace("Z", "+00:00")) if created_text else None
    except ValueError:
        return None
    if created is not None and created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return UsernameToken(
        username=token.findtext("wsse:Username", default="", namespaces=NSMAP),
        password="" if password is None else (password.text or ""),
        digest=password is None or password.get("Type", PASSWORD_DIGEST) == PASSWORD_DIGEST,
        nonce=nonce,
        created_text=created_text,
        created=created,
    )

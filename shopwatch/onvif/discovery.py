"""WS-Discovery (OASIS WS-Discovery 2005/04, as ONVIF Core Specification §7.3 uses it): a multicast Probe for
``dn:NetworkVideoTransmitter`` and the ProbeMatch answers, as bytes and values; ``discover()`` sends one probe
on a chosen interface and collects answers for a bounded time."""

from __future__ import annotations

import asyncio
import socket
import struct
import uuid
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from lxml import etree

from shopwatch.onvif.soap import SOAP_ENV, SoapParseError, parse_envelope

WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
WSA_2004 = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
DN = "http://www.onvif.org/ver10/network/wsdl"
TDS = "http://www.onvif.org/ver10/device/wsdl"
PROBE_ACTION = f"{WSD}/Probe"
PROBE_MATCHES_ACTION = f"{WSD}/ProbeMatches"
DISCOVERY_TO = "urn:schemas-xmlsoap-org:ws:2005:04:discovery"
ANONYMOUS = f"{WSA_2004}/role/anonymous"
MULTICAST_GROUP = "239.255.255.250"
PORT = 3702
MAX_DATAGRAM = 65_507
MAX_DEVICES = 4096  # answers kept from one probe; more than any shop street has
_NS = {"s": SOAP_ENV, "a": WSA_2004, "d": WSD}


def _el(ns: str, name: str, text: str | None = None) -> etree._Element:
    el = etree.Element(f"{{{ns}}}{name}")
    el.text = text
    return el


def _envelope(headers: list[etree._Element], body: etree._Element) -> bytes:
    root = etree.Element(
        f"{{{SOAP_ENV}}}Envelope", nsmap={"s": SOAP_ENV, "a": WSA_2004, "d": WSD, "dn": DN, "tds": TDS}
    )
    header = etree.SubElement(root, f"{{{SOAP_ENV}}}Header")
    header.extend(headers)
    etree.SubElement(root, f"{{{SOAP_ENV}}}Body").append(body)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def probe(message_id: str) -> bytes:
    action = _el(WSA_2004, "Action", PROBE_ACTION)
    action.set(f"{{{SOAP_ENV}}}mustUnderstand", "1")
    reply_to = _el(WSA_2004, "ReplyTo")
    reply_to.append(_el(WSA_2004, "Address", ANONYMOUS))
    to = _el(WSA_2004, "To", DISCOVERY_TO)
    to.set(f"{{{SOAP_ENV}}}mustUnderstand", "1")
    body = _el(WSD, "Probe")
    body.append(_el(WSD, "Types", "dn:NetworkVideoTransmitter"))
    return _envelope([action, _el(WSA_2004, "MessageID", message_id), reply_to, to], body)


def probe_match(relates_to: str, endpoint: str, xaddrs: list[str], scopes: list[str]) -> bytes:
    """One device's answer (the simulator sends it; tests build it)."""
    headers = [
        _el(WSA_2004, "MessageID", f"urn:uuid:{uuid.uuid4()}"),
        _el(WSA_2004, "RelatesTo", relates_to),
        _el(WSA_2004, "To", ANONYMOUS),
        _el(WSA_2004, "Action", PROBE_MATCHES_ACTION),
    ]
    matches = _el(WSD, "ProbeMatches")
    match = etree.SubElement(matches, f"{{{WSD}}}ProbeMatch")
    reference = etree.SubElement(match, f"{{{WSA_2004}}}EndpointReference")
    reference.append(_el(WSA_2004, "Address", endpoint))
    match.append(_el(WSD, "Types", "dn:NetworkVideoTransmitter tds:Device"))
    match.append(_el(WSD, "Scopes", " ".join(scopes)))
    match.append(_el(WSD, "XAddrs", " ".join(xaddrs)))
    match.append(_el(WSD, "MetadataVersion", "1"))
    return _envelope(headers, matches)


def probe_id(data: bytes) -> str | None:
    """The MessageID of a Probe (what a device answers to); None for anything else."""
    try:
        env = parse_envelope(data)
    except SoapParseError:
        return None
    if env.operation != etree.QName(WSD, "Probe") or env.header is None:
        return None
    return env.header.findtext("a:MessageID", namespaces=_NS)


@dataclass(frozen=True)
class Discovered:
    endpoint: str  # urn:uuid:... the device's stable identity
    xaddrs: tuple[str, ...]  # device service URLs
    scopes: tuple[str, ...]
    sender: str  # address the answer came from

    def scope(self, kind: str) -> str:
        """The value of ``onvif://www.onvif.org/<kind>/<value>`` scopes (name, hardware, location), joined."""
        prefix = f"onvif://www.onvif.org/{kind}/"
        return ", ".join(unquote(s[len(prefix) :]).replace("_", " ") for s in self.scopes if s.startswith(prefix))

    def host_port(self) -> tuple[str, int] | None:
        for xaddr in self.xaddrs:
            parts = urlsplit(xaddr)
            if parts.hostname:
                return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
        return None


def parse_probe_matches(data: bytes, message_id: str, sender: str) -> list[Discovered]:
    """The devices in one answer to our probe ``message_id``; [] for anything else (other probes, Hello)."""
    try:
        env = parse_envelope(data)
    except SoapParseError:
        return []
    if env.header is None or env.header.findtext("a:RelatesTo", namespaces=_NS) != message_id:
        return []
    if env.operation != etree.QName(WSD, "ProbeMatches"):
        return []
    out = []
    for match in env.body.iterfind("d:ProbeMatch", _NS):
        endpoint = match.findtext("a:EndpointReference/a:Address", default="", namespaces=_NS).strip()
        xaddrs = tuple(match.findtext("d:XAddrs", default="", namespaces=_NS).split())
        scopes = tuple(match.findtext("d:Scopes", default="", namespaces=_NS).split())
        if endpoint or xaddrs:
            out.append(Discovered(endpoint, xaddrs, scopes, sender))
    return out


def multicast_socket(interface: str | None) -> socket.socket:
    """A UDP socket that sends to the WS-Discovery group through ``interface`` (a name like ``eth0``), or the
    system's default multicast route; TTL 1 (the probe never leaves the link)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    try:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        if interface:
            index = socket.if_nametoindex(interface)  # OSError for an unknown interface
            # struct ip_mreqn {group, address, ifindex}: choose the interface by index (Linux ip(7))
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, struct.pack("4s4si", bytes(4), bytes(4), index))
        sock.bind(("0.0.0.0", 0))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class _Collector(asyncio.DatagramProtocol):
    def __init__(self, message_id: str) -> None:
        self.message_id = message_id
        self.found: dict[str, Discovered] = {}

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        for device in parse_probe_matches(data, self.message_id, str(addr[0])):
            if len(self.found) < MAX_DEVICES:
                self.found.setdefault(device.endpoint or device.xaddrs[0], device)


async def discover(interface: str | None, seconds: float, port: int = PORT) -> list[Discovered]:
    """Probe once and collect answers for ``seconds``; devices ordered by their first XAddr."""
    message_id = f"urn:uuid:{uuid.uuid4()}"
    loop = asyncio.get_running_loop()
    sock = multicast_socket(interface)
    transport, collector = await loop.create_datagram_endpoint(lambda: _Collector(message_id), sock=sock)
    try:
        transport.sendto(probe(message_id), (MULTICAST_GROUP, port))
        await asyncio.sleep(seconds)
    finally:
        transport.close()
    return sorted(collector.found.values(), key=lambda d: (d.xaddrs[:1], d.endpoint))

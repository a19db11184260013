"""WS-Discovery answers of the simulated devices: one UDP socket on port 3702 joined to the multicast group
on one named interface, answering every Probe with one ProbeMatch per device.

Only ever started on an interface a test made for it (a network namespace's loopback): the simulator must
not multicast on a real network."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Callable
from typing import cast

from shopwatch.onvif.discovery import MULTICAST_GROUP, PORT, probe_id, probe_match
from shopwatch.onvif.soap import TDS
from shopwatch.sim.onvif.device import SimDevice
from shopwatch.sim.onvif.responses import SERVICE_PATHS, scope_uris


def responder_socket(interface: str, port: int = PORT) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        index = socket.if_nametoindex(interface)
        sock.bind(("", port))
        membership = struct.pack("4s4si", socket.inet_aton(MULTICAST_GROUP), bytes(4), index)  # ip_mreqn
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class DiscoveryResponder(asyncio.DatagramProtocol):
    def __init__(self, devices: Callable[[], list[SimDevice]]) -> None:
        self._devices = devices
        self._transport: asyncio.DatagramTransport | None = None
        self.probes = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)  # a datagram endpoint's transport

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        message_id = probe_id(data)
        if message_id is None or self._transport is None:
            return
        self.probes += 1
        for device in self._devices():
            xaddr = device.base_url + SERVICE_PATHS[TDS]
            answer = probe_match(message_id, device.spec.endpoint, [xaddr], scope_uris(device))
            self._transport.sendto(answer, addr)

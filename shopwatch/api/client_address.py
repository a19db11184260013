"""Which address a request came from, when a reverse proxy (the station's TLS terminator) stands in front.

The peer address is the client unless it is one of ``api.security.trusted_proxies``; then ``X-Forwarded-For``
is read from the right (each proxy appends the address it saw), skipping trusted proxies, and the first
address not trusted is the client. Anything a client wrote itself sits further left and is never believed,
so a client cannot choose the address its logins are counted and audited under. Without trusted proxies
(the default) the header is ignored altogether."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address

Network = IPv4Network | IPv6Network


def _trusted(address: str, proxies: Sequence[Network]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def client_of(peer: str | None, forwarded_for: Iterable[str], proxies: Sequence[Network]) -> str:
    if peer is None:
        return "unknown"
    if not proxies or not _trusted(peer, proxies):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ip_address(hop)
        except ValueError:
            return peer  # a proxy that writes garbage: the last address we can vouch for
        if not _trusted(hop, proxies):
            return hop
    return hops[0] if hops else peer

"""URLs a camera reports (its snapshot URI, stream URIs, Media2 and PullPoint addresses) stay on that camera.

A shop camera is the least trusted thing shopwatch talks to: whoever controls one could report
``http://10.0.0.1:8080/admin`` as its snapshot URI and have the service probe, and log in to, a host on the
station's network with the camera's credentials. So a reported URL must name the camera's own host (or one of
``onvif.allowed_hosts``, e.g. the NVR that serves a camera's snapshots); anything else is refused before a
connection is made. The refusal names the camera, never the reported address, so the answer a viewer sees says
nothing about other hosts."""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import ip_address
from urllib.parse import urlsplit

from shopwatch.core.errors import DeviceRefused


class DeviceUrlRefused(DeviceRefused):
    """The camera reported a URL outside its own host; it was not fetched."""


def _same_host(a: str, b: str) -> bool:
    a, b = a.strip("[]").lower(), b.strip("[]").lower()
    try:
        return ip_address(a) == ip_address(b)
    except ValueError:
        return a == b


def check_device_url(url: str, device_host: str, allowed_hosts: Iterable[str] = (), what: str = "URL") -> str:
    """``url`` if it points at ``device_host`` or an allowed host; ``DeviceUrlRefused`` otherwise."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        host = None
    if host is None or not any(_same_host(host, h) for h in (device_host, *allowed_hosts)):
        raise DeviceUrlRefused(
            f"camera at {device_host} reported a {what} on another host; refused (onvif.allowed_hosts lists exceptions)"
        )
    return url

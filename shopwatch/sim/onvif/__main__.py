"""``python -m shopwatch.sim.onvif --devices N [--discovery IFACE]``: serve N simulated ONVIF devices on
127.0.0.1, print one JSON line describing them, run until stdin closes (or SIGTERM).

``--discovery`` answers WS-Discovery probes on that interface; use it only inside a network namespace."""

from __future__ import annotations

import argparse
import json
import signal
import sys

from shopwatch.sim.onvif.device import DeviceSpec, SimProfile
from shopwatch.sim.onvif.server import OnvifSimServer


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m shopwatch.sim.onvif")
    parser.add_argument("--devices", type=int, default=1)
    parser.add_argument("--discovery", metavar="IFACE", help="answer WS-Discovery probes on this interface")
    parser.add_argument("--rtsp", default="rtsp://127.0.0.1:8554", help="base of the stream URLs the devices give")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with OnvifSimServer() as server:
        devices = []
        for index in range(1, args.devices + 1):
            url = f"{args.rtsp}/cam-{index:02d}"
            profiles = (SimProfile("main", "Main", 1280, 720, url), SimProfile("sub", "Sub", 640, 360, url))
            devices.append(server.add_device(DeviceSpec(f"Sim shop {index}", profiles, location=f"street-{index}")))
        if args.discovery:
            server.start_discovery(args.discovery)
        described = [{"endpoint": d.spec.endpoint, "base_url": d.base_url, "name": d.spec.name} for d in devices]
        sys.stdout.write(json.dumps(described) + "\n")
        sys.stdout.flush()
        sys.stdin.read()  # until the parent closes our stdin


if __name__ == "__main__":
    main()

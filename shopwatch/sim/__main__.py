"""``python -m shopwatch.sim``: serve a simulated fleet in its own process (tests that must kill the server).

Prints exactly one line, ``READY rtsp://127.0.0.1:<port>/``, to stdout once every camera is served; runs
until SIGTERM or SIGINT and then stops cleanly. Diagnostics go to stderr.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from shopwatch.sim.fleet import FleetOptions
from shopwatch.sim.runner import ENGINES, ServeOptions, running_fleet, stop_on_signals, wait_until


def parse_args(argv: list[str] | None = None) -> ServeOptions:
    parser = argparse.ArgumentParser(prog="python -m shopwatch.sim", description=__doc__)
    parser.add_argument("--cameras", type=int, required=True, help="number of cameras (cam-01 ..)")
    parser.add_argument("--port", type=int, default=0, help="RTSP port (0: any free port)")
    parser.add_argument("--clips-dir", type=Path, default=Path("data/sim"), help="clip cache directory")
    parser.add_argument("--walker-every", type=int, default=5, help="every N-th camera has a walker; 0: none")
    parser.add_argument("--username", default=None, help="login every camera requires")
    parser.add_argument("--password", default=None, help="password for --username")
    parser.add_argument("--write-config", type=Path, default=None, help="write a matching shopwatch config")
    parser.add_argument("--fps", type=int, default=12, help="frames per second of every camera (1-30)")
    parser.add_argument("--scenes", type=Path, default=None, help="play the scenario clips in this directory")
    parser.add_argument(
        "--engine", choices=ENGINES, default="gst", help="gst: GStreamer server; light: one thread, RTSP/TCP only"
    )
    args = parser.parse_args(argv)
    try:
        fleet = FleetOptions(
            cameras=args.cameras,
            walker_every=args.walker_every,
            username=args.username,
            password=args.password,
            scenes_dir=args.scenes,
            fps=args.fps,
        )
    except ValueError as exc:
        parser.error(str(exc))
    return ServeOptions(
        fleet=fleet, clips_dir=args.clips_dir, port=args.port, config_path=args.write_config, engine=args.engine
    )


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    options = parse_args(argv)
    try:
        with stop_on_signals() as stop, running_fleet(options) as running:
            sys.stdout.write(f"READY {running.base_url}\n")
            sys.stdout.flush()
            wait_until(stop)
    except OSError as exc:
        sys.stderr.write(f"shopwatch.sim: cannot serve on port {options.port}: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

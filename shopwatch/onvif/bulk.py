"""Onboarding many devices: a hosts CSV, bounded parallelism, one report line per host, and only the devices
that onboarded written to the registry.

hosts.csv has a header row; ``host`` is required (``host`` or ``host:port``), ``username``, ``password``
(inline or ``${SHOPWATCH_...}``, stored as given), ``id``, ``name`` and ``grid`` are optional."""

from __future__ import annotations

import asyncio
import csv
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from shopwatch.core.errors import ConfigError, ConfigProblem
from shopwatch.core.onvif_config import OnvifSettings
from shopwatch.onvif.device import OnvifTarget
from shopwatch.onvif.onboard import OnboardOutcome, OnboardReport, onboard
from shopwatch.onvif.registry import CameraIdentity, default_camera_id, save_onboarded
from shopwatch.store.cameras import CameraRepository, SecretNotSet, resolve_password

COLUMNS = ("host", "username", "password", "id", "name", "grid")
MAX_ROWS = 10_000


@dataclass(frozen=True)
class OnboardRequest:
    target: OnvifTarget  # password resolved, for connecting
    who: CameraIdentity  # password as given, for storing


@dataclass(frozen=True)
class HostResult:
    request: OnboardRequest
    report: OnboardReport
    saved: str  # created / updated / unchanged / "not saved: why" / "" when onboarding failed


def parse_host(text: str, default_port: int = 80) -> tuple[str, int]:
    """``10.0.0.5``, ``10.0.0.5:8080``, ``[fe80::1]:80``, ``cam7.shop.local`` -> (host, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host, port_text = text, ""
    if not host:
        raise ValueError(f"expected HOST or HOST:PORT, found {text!r}")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"expected a port 1-65535 after {host!r}, found {port_text!r}")
    return host, int(port_text)


def make_request(
    host: str, username: str, password: str, env: Mapping[str, str], *, camera_id: str | None = None,
    name: str | None = None, grid: str | None = None,
) -> OnboardRequest:  # fmt: skip
    """``ValueError`` for a bad host, ``SecretNotSet`` for a ``${VAR}`` password whose variable is unset."""
    address, port = parse_host(host)
    target = OnvifTarget(address, port, username, password)
    who = CameraIdentity(camera_id or default_camera_id(target), name, grid, username, password)
    if password.startswith("${"):
        from shopwatch.core.config import CameraConfig

        probe = CameraConfig.model_validate(
            {"id": who.camera_id, "name": "x", "grid": "x", "host": address, "credentials": {"password": password}}
        )
        target = replace(target, password=resolve_password(probe, env).credentials.password.get_secret_value())
    return OnboardRequest(target, who)


def read_hosts(path: Path, env: Mapping[str, str] | None = None) -> list[OnboardRequest]:
    """Every row of a hosts CSV, or ``ConfigError`` with every bad row (nothing is onboarded then)."""
    env = os.environ if env is None else env
    problems: list[ConfigProblem] = []
    requests: list[OnboardRequest] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        unknown = set(reader.fieldnames or ()) - set(COLUMNS)
        if "host" not in (reader.fieldnames or ()) or unknown:
            found = ", ".join(reader.fieldnames or ()) or "nothing"
            raise ConfigError(
                str(path),
                [ConfigProblem("header", f"expected columns {', '.join(COLUMNS)} (host required), found {found}", 1)],
            )
        for number, row in enumerate(reader, start=2):
            if number > MAX_ROWS + 1:
                problems.append(ConfigProblem(f"row {number}", f"more than {MAX_ROWS} rows", number))
                break
            value = {k: (row.get(k) or "").strip() for k in COLUMNS}
            try:
                requests.append(
                    make_request(
                        value["host"],
                        value["username"],
                        value["password"],
                        env,
                        camera_id=value["id"] or None,
                        name=value["name"] or None,
                        grid=value["grid"] or None,
                    )  # fmt: skip
                )
            except (ValueError, SecretNotSet) as exc:
                problems.append(ConfigProblem(f"row {number}", str(exc), number))
    ids = [r.who.camera_id for r in requests]
    problems += [
        ConfigProblem("rows", f"camera id {i!r} appears more than once")
        for i in sorted({i for i in ids if ids.count(i) > 1})
    ]
    if problems:
        raise ConfigError(str(path), problems)
    return requests


async def onboard_many(
    requests: Sequence[OnboardRequest],
    repo: CameraRepository,
    settings: OnvifSettings,
    on_done: Callable[[HostResult], None] = lambda _result: None,
) -> list[HostResult]:
    """Onboard at most ``settings.onboard_parallel`` at once; results in the order of ``requests``."""
    gate = asyncio.Semaphore(settings.onboard_parallel)

    async def one(request: OnboardRequest) -> HostResult:
        async with gate:
            target = replace(request.target, allowed_hosts=tuple(settings.allowed_hosts))
            report = await onboard(target, timeout_s=settings.timeout_s, clock_tolerance_s=settings.clock_tolerance_s)
        saved = ""
        if report.outcome is OnboardOutcome.OK and report.findings is not None:
            try:
                saved = await asyncio.to_thread(save_onboarded, repo, request.target, report.findings, request.who)
            except (ValueError, ConfigError) as exc:
                saved = f"not saved: {exc}"
        result = HostResult(request, report, saved)
        on_done(result)
        return result

    return list(await asyncio.gather(*(one(r) for r in requests)))

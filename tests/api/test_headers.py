"""Security headers on every answer (``api.headers``) and the API description for admins only (``api.docs``);
the console in a real browser under that Content-Security-Policy reports no violation while it signs in, shows
the fleet, follows the live feed, loads an alert's picture and plays a live view."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from fastapi import FastAPI
from playwright.async_api import Browser, Page

from shopwatch.api.app import create_app
from shopwatch.api.services import Services
from shopwatch.core.config import Settings
from shopwatch.core.principal import Role
from shopwatch.incidents.service import IncidentService
from tests.api.test_console import CHROMIUM, WAIT_MS, browser, server, sign_in  # noqa: F401
from tests.incidents.peers import make_event

from .auth_fixtures import AuthKit
from .fakes import FakeFleet, jpeg_bytes

DOCS = ["/openapi.json", "/docs", "/redoc"]


def client_of(app: FastAPI, base: str = "http://t", **kwargs: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base, **kwargs)  # type: ignore[arg-type]


async def test_the_api_description_is_for_signed_in_admins_only(app: FastAPI, auth_kit: AuthKit) -> None:
    async with client_of(app) as c:
        for path in DOCS:
            assert (await c.get(path)).status_code == 401, path
            assert (await c.get(path, headers=auth_kit.headers("olga", Role.OPERATOR))).status_code == 403, path
            answer = await c.get(path, headers=auth_kit.headers("admin"))
            assert answer.status_code == 200, path
        schema = (await c.get("/openapi.json", headers=auth_kit.headers("admin"))).json()
        assert "/api/users" in schema["paths"] and "/docs" not in schema["paths"]


async def test_the_api_description_can_be_switched_off(fleet: FakeFleet, auth_kit: AuthKit) -> None:
    settings = Settings.model_validate({"api": {"security": {"docs": False}}})
    app = create_app(settings, Services(fleet, auth=auth_kit.auth, audit=auth_kit.audit))
    async with client_of(app, headers=auth_kit.headers("admin")) as c:
        for path in DOCS:
            assert (await c.get(path)).status_code == 404, path


@pytest.mark.parametrize("path", ["/healthz", "/console/", "/api/cameras", "/api/nope", "/metrics"])
async def test_every_answer_carries_the_security_headers_and_hsts_only_over_https(app: FastAPI, path: str) -> None:
    async with client_of(app) as plain, client_of(app, "https://t") as tls:
        for client in (plain, tls):
            headers = (await client.get(path, follow_redirects=True)).headers
            csp = headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe" not in csp
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["referrer-policy"] == "no-referrer"
            assert headers["x-frame-options"] == "DENY"
        assert "strict-transport-security" not in (await plain.get(path)).headers
        assert (await tls.get(path)).headers["strict-transport-security"].startswith("max-age=")


async def test_a_refusal_before_the_routes_carries_them_too(app: FastAPI) -> None:
    async with client_of(app) as c:
        big = b"x" * (300 * 1024)
        answer = await c.post("/api/auth/login", content=big, headers={"content-type": "application/json"})
    assert answer.status_code == 413 and answer.headers["x-content-type-options"] == "nosniff"


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (make deps installs Debian's)")
@pytest.mark.timeout(120)
async def test_the_console_works_under_the_content_security_policy(
    server: str,  # noqa: F811
    browser: Browser,  # noqa: F811
    auth_kit: AuthKit,
    incidents: IncidentService,
    fleet: FakeFleet,
) -> None:
    auth_kit.user("olga", Role.OPERATOR)
    page = await browser.new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    await page.add_init_script(
        "window.__csp = []; document.addEventListener('securitypolicyviolation',"
        " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    fleet.snapshots["cam-0001"] = jpeg_bytes(320, 180)
    await sign_in(page, server, "olga")
    await page.wait_for_selector("#wall-view", state="visible", timeout=WAIT_MS)  # the landing page
    tile = "document.querySelector('[data-camera=\"cam-0001\"] img')?.naturalWidth"  # tiles come with the cameras
    await until(page, tile)  # a blob: still
    await page.click("#show-work")
    await page.wait_for_selector("#app-view", state="visible", timeout=WAIT_MS)
    await page.wait_for_selector("#cameras tbody tr >> nth=6", timeout=WAIT_MS)
    await page.wait_for_selector("#live.on", timeout=WAIT_MS)  # the SSE feed is open
    stored = await incidents.ingest(make_event("cam-0002", time.time() - 5))
    row = page.locator(f"[data-event='{stored.id}']")
    await row.wait_for(timeout=WAIT_MS)
    await row.click()
    await until(page, "document.querySelector('#pictures img')?.naturalWidth")  # re-rendered meanwhile: no throw
    await page.click("#live-view-toggle")  # the MSE player and the page's live socket, under the policy
    await until(page, "document.querySelector('#live-view[data-live] video')")
    assert await page.evaluate("window.__csp") == [] and violations == []


async def until(page: Page, expression: str) -> None:
    """Poll ``expression`` from outside the page (``wait_for_function`` evals inside it, which the CSP forbids)."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while not await page.evaluate(expression):
        assert time.monotonic() < deadline, (expression, await page.evaluate("window.__csp"))
        await asyncio.sleep(0.1)

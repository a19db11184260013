"""The operator console: static files (HTML, CSS, ES modules, message catalogues) served at ``/console/``.

The files hold no data and no secret: everything the console shows comes from the authenticated API, with the
login cookie (``POST /api/auth/login`` sets it HttpOnly; the page never sees the token). Without a valid
login every API call answers 401 and the console shows its login form. ``/`` redirects to the console.
``/console/station.json`` tells the page the station's time zone (``api.timezone``): not a secret, and needed
to show times before anything else loads. The words are in ``static/messages/<language>.json`` (docs/CONSOLE.md)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).with_name("static")
MESSAGES = STATIC / "messages"
PATH = "/console"


def mount_console(app: FastAPI, timezone: str = "Asia/Shanghai") -> None:
    @app.get(f"{PATH}/station.json", include_in_schema=False)
    async def station() -> dict[str, str]:
        return {"timezone": timezone}

    app.mount(PATH, StaticFiles(directory=STATIC, html=True), name="console")

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse(f"{PATH}/")

"""The operator console: static files (HTML, CSS, ES modules, message catalogues) served at ``/console/``.

The files hold no data and no secret: everything the console shows comes from the authenticated API, with the
login cookie (``POST /api/auth/login`` sets it HttpOnly; the page never sees the token). Without a valid
login every API call answers 401 and the console shows its login form. ``/`` redirects to the console.
``/console/station.json`` tells the page the station's time zone (``api.timezone``): not a secret, and needed
to show times before anything else loads. ``/console/map.json`` and ``/console/map-image`` (signed-in callers
only) give the map its background (``api.console.map``). The words are in ``static/messages/<language>.json``
(docs/CONSOLE.md); third-party files in ``static/vendor/`` (their versions and hashes in ``vendor/VERSIONS``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from shopwatch.api.access.deps import authenticate
from shopwatch.core.console_config import ConsoleSettings
from shopwatch.core.errors import NotFound

STATIC = Path(__file__).with_name("static")
MESSAGES = STATIC / "messages"
PATH = "/console"
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}


def mount_console(app: FastAPI, timezone: str = "Asia/Shanghai", console: ConsoleSettings | None = None) -> None:
    settings = console or ConsoleSettings()

    @app.get(f"{PATH}/station.json", include_in_schema=False)
    async def station() -> dict[str, str]:
        return {"timezone": timezone}

    @app.get(f"{PATH}/map.json", include_in_schema=False, dependencies=[Depends(authenticate)])
    async def map_background() -> dict[str, Any]:
        image = settings.map
        if image.image is None or image.south_west is None or image.north_east is None:
            return {"image": None, "grids": {g: [[c.lat, c.lon] for c in cs] for g, cs in image.grids.items()}}
        corners = [[c.lat, c.lon] for c in (image.south_west, image.north_east)]
        return {"image": f"{PATH}/map-image", "bounds": corners}

    @app.get(f"{PATH}/map-image", include_in_schema=False, dependencies=[Depends(authenticate)])
    async def map_image() -> FileResponse:
        name = settings.map.image
        if name is None or not Path(name).is_file():
            raise NotFound("no map image: api.console.map.image is not set or its file cannot be read")
        return FileResponse(name, media_type=IMAGE_TYPES[Path(name).suffix.lower()])

    app.mount(PATH, StaticFiles(directory=STATIC, html=True), name="console")

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse(f"{PATH}/")

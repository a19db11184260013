"""What ``create_app`` adds around the routes to make the API safe to expose: bounded requests (``limits``).
One call, so the app's construction reads as what it serves."""

from __future__ import annotations

from fastapi import FastAPI

from shopwatch.api.limits import BoundedRequests
from shopwatch.core.config import Settings

CLIP_UPLOAD = "/api/talkback/clips"


def harden(app: FastAPI, settings: Settings) -> None:
    uploads = {CLIP_UPLOAD: int(settings.talkback.clip_max_mb * 1024 * 1024)}
    app.add_middleware(BoundedRequests, limits=settings.api.limits, uploads=uploads)

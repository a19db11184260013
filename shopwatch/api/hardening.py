"""What ``create_app`` adds around the routes to make the API safe to expose: bounded requests (``limits``),
``Origin`` checks on cookie-authenticated changes and WebSockets (``origins``), security headers
(``headers``) and the API description for admins only (``docs``). One call, so the app's
construction reads as what it serves. ``create_app`` turns FastAPI's open docs off."""

from __future__ import annotations

from fastapi import FastAPI

from shopwatch.api.docs import mount_docs
from shopwatch.api.headers import SecurityHeaders
from shopwatch.api.limits import BoundedRequests
from shopwatch.api.origins import OriginCheck
from shopwatch.core.config import Settings

CLIP_UPLOAD = "/api/talkback/clips"
TIP_UPLOAD = "/api/tips"


def harden(app: FastAPI, settings: Settings) -> None:
    tips = settings.incidents.tips
    # a tip's photos travel base64 in its JSON (4/3 of their size), plus the text
    tip_bytes = tips.max_photos * tips.max_photo_kib * 1024 * 4 // 3 + settings.api.limits.body_bytes
    uploads = {CLIP_UPLOAD: int(settings.talkback.clip_max_mb * 1024 * 1024), TIP_UPLOAD: tip_bytes}
    app.add_middleware(BoundedRequests, limits=settings.api.limits, uploads=uploads)
    security = settings.api.security
    app.add_middleware(OriginCheck, cookie_name=settings.auth.cookie_name, allowed_origins=security.allowed_origins)
    app.add_middleware(SecurityHeaders, hsts_max_age_s=settings.api.security.hsts_max_age_s)  # outermost: on 413s too
    if settings.api.security.docs:
        mount_docs(app)

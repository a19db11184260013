"""``/media/events/{id}/{name}``: an event's picture or clip through the signed URL sent in its alert.

Outside ``/api`` on purpose: a patrol phone opening a link from a chat group has no login. The signature
(HMAC over event id, picture name and expiry; ``incidents.alerts.UrlSigner``) is the credential: without a
valid, unexpired one the answer is 401."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import FileResponse

from shopwatch.api.incident_deps import ArchiveDep
from shopwatch.core.errors import NotFound
from shopwatch.incidents.alerts import CLIP_NAME, MEDIA_PREFIX

router = APIRouter(prefix=MEDIA_PREFIX, tags=["media"])


@router.get(
    "/{event_id}/{name}.{ext}",
    response_class=FileResponse,
    summary="An alert's picture or clip (signed URL)",
    responses={401: {"description": "Missing, wrong or expired signature."}, 404: {"description": "No such file."}},
)
async def signed_media(
    event_id: str,
    name: str,
    ext: str,
    archive: ArchiveDep,
    expires: Annotated[int | None, Query(ge=0, description="Expiry (epoch seconds), as signed.")] = None,
    sig: Annotated[str | None, Query(max_length=128, description="HMAC-SHA256 (hex).")] = None,
) -> FileResponse:
    # Missing parameters are a missing credential (401), not a malformed request.
    if (
        expires is None
        or sig is None
        or ext != ("mp4" if name == CLIP_NAME else "jpg")
        or not archive.signature_valid(event_id, name, expires, sig)
    ):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="expected a valid, unexpired signed URL",
            # RFC 9110 §11.6.1: a 401 names a scheme; the signature travels in the query (RFC 6750 §2.3 style)
            headers={"WWW-Authenticate": 'Bearer realm="signed-url"'},
        )
    event = await archive.event(event_id)
    relative = None if event is None else (event.clip if name == CLIP_NAME else event.snapshots.get(name))
    if relative is None:
        raise NotFound("the file is gone (retention) or never existed")
    return FileResponse(archive.file(relative), media_type="video/mp4" if name == CLIP_NAME else "image/jpeg")

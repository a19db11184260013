"""``/api/talkback/clips``: the clip library. Upload is the raw audio file as the request body (any format
FFmpeg reads), with the name in the query: ``POST /api/talkback/clips?name=...&filename=warning.mp3``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status

from shopwatch.api.operator import OperatorDep
from shopwatch.api.talkback_deps import ClipsDep
from shopwatch.api.talkback_schemas import ClipPublic, ClipUpdate
from shopwatch.core.errors import TooLarge

router = APIRouter(prefix="/talkback/clips", tags=["talkback"])

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such clip."}}


async def _read_bounded(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it passes ``limit`` bytes (never held whole when too big)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"expected at most {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"expected at most {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ClipPublic,
    responses={413: {"description": "File too large."}, 422: {"description": "Not usable audio."}},
    openapi_extra={"requestBody": {"content": {"application/octet-stream": {}}, "required": True}},
    summary="Upload an audio file (WAV, MP3, AAC, OGG, ...) as a clip; it is prepared for playback at once",
)
async def upload_clip(
    request: Request,
    clips: ClipsDep,
    operator: OperatorDep,
    name: Annotated[str, Query(min_length=1, max_length=100, description="Name shown to operators.")],
    filename: Annotated[str, Query(max_length=255, description="The file's original name.")] = "",
) -> ClipPublic:
    data = await _read_bounded(request, clips.max_bytes)
    return ClipPublic.of(await clips.add(name, filename, data, operator.name))


@router.get("", response_model=list[ClipPublic], summary="Every clip, by name")
async def list_clips(clips: ClipsDep) -> list[ClipPublic]:
    return [ClipPublic.of(c) for c in await clips.list()]


@router.get("/{clip_id}", response_model=ClipPublic, responses=_NOT_FOUND)
async def get_clip(clip_id: str, clips: ClipsDep) -> ClipPublic:
    return ClipPublic.of(await clips.get(clip_id))


@router.get(
    "/{clip_id}/file",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}, **_NOT_FOUND},
    summary="The file as it was uploaded",
)
async def get_clip_file(clip_id: str, clips: ClipsDep) -> Response:
    record, data = await clips.original(clip_id)
    safe = record.filename.encode("ascii", "replace").decode().replace('"', "_")
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{safe}"', "X-Clip-Checksum": record.checksum},
    )


@router.patch("/{clip_id}", response_model=ClipPublic, responses=_NOT_FOUND, summary="Rename a clip")
async def rename_clip(clip_id: str, body: ClipUpdate, clips: ClipsDep) -> ClipPublic:
    return ClipPublic.of(await clips.rename(clip_id, body.name))


@router.delete("/{clip_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_NOT_FOUND)
async def delete_clip(clip_id: str, clips: ClipsDep) -> Response:
    await clips.delete(clip_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

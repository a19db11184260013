"""``WS /api/cameras/{id}/talkback/live``: push-to-talk from a browser or client to the camera's speaker.

Query: ``format`` = ``pcm16`` (little-endian mono at ``rate`` Hz, 8000-48000) or ``pcmu``/``pcma`` (8 kHz),
``override`` (admins). The client sends binary messages of audio in any chunk size (20 ms is ideal) and may send
the text ``{"type": "end"}`` to finish while still listening. The server sends JSON text messages:

- ``{"type": "session", "session": {...}}`` once the speaker is taken (a clip playing there was stopped);
- ``{"type": "started", "codec": "PCMU", "protocol": "rtsp"}`` when the first packet went to the speaker;
- ``{"type": "ended", "session": {...}}`` when the session is over (outcome, seconds played), then closes (1000);
- ``{"type": "error", "status": 403|404|409|422|429, "detail": "...", "reasons": [...]}`` when refused (429: the
  caller already holds ``api.limits.streams_per_caller`` streams), then closes with 4000+status
  (404 also for a camera outside the caller's grids, as for one that does not exist).

Closing the socket ends the session cleanly: what is buffered (at most ``talkback.live_buffer_ms``) plays,
then the device session is torn down."""

from __future__ import annotations

import asyncio
import contextlib
import json
from http import HTTPStatus
from typing import Annotated

from fastapi import APIRouter, Query, WebSocket, status
from starlette.websockets import WebSocketDisconnect, WebSocketState

from shopwatch.api.errors import answer_or_internal
from shopwatch.api.operator import OperatorDep
from shopwatch.api.scope import ScopeDep
from shopwatch.api.services import Talk
from shopwatch.api.streams import WS_POLICY_VIOLATION, StreamGuardDep
from shopwatch.api.talkback_deps import TalkbackDep
from shopwatch.api.talkback_schemas import SessionPublic
from shopwatch.core.errors import ShopwatchError
from shopwatch.core.talkback_records import TalkSession
from shopwatch.talkback.live import MAX_RATE, MIN_RATE, LiveAudio, LiveFormat, LiveInput
from shopwatch.talkback.records import TalkRequest, UnknownCamera

router = APIRouter(tags=["talkback"])


async def _refuse(websocket: WebSocket, code: int, detail: str, reasons: tuple[str, ...] = ()) -> None:
    message: dict[str, object] = {"type": "error", "status": code, "detail": detail}
    if reasons:
        message["reasons"] = list(reasons)
    await websocket.send_json(message)
    await websocket.close(code=4000 + code, reason=HTTPStatus(code).phrase)


async def _receive(websocket: WebSocket, live: LiveAudio) -> str | None:
    """Feed the client's audio until it closes (None) or says it is done ("end"); bad audio is an error text."""
    while True:
        try:
            message = await websocket.receive()
        except WebSocketDisconnect:
            return None
        if message["type"] == "websocket.disconnect":
            return None
        data = message.get("bytes")
        if data is not None:
            try:
                live.push(data)
            except ValueError as exc:
                return str(exc)
            continue
        with contextlib.suppress(ValueError, TypeError):
            if json.loads(message.get("text") or "null").get("type") == "end":
                return "end"


@router.websocket("/cameras/{camera_id}/talkback/live")
async def live_talk(
    websocket: WebSocket,
    camera_id: str,
    service: TalkbackDep,
    operator: OperatorDep,
    scope: ScopeDep,
    guard: StreamGuardDep,
    format: Annotated[LiveFormat, Query(description="pcm16, pcmu or pcma.")] = "pcm16",  # noqa: A002
    rate: Annotated[int, Query(ge=MIN_RATE, le=MAX_RATE, description="PCM16 sample rate, Hz.")] = 8000,
    override: Annotated[bool, Query(description="Admin only: set aside consent and quiet hours.")] = False,
) -> None:
    await websocket.accept()
    try:
        lease = guard.take()  # a caller holding too many streams: the handler's 429, as a message
    except ShopwatchError as exc:
        refused = answer_or_internal(exc)
        await _refuse(websocket, refused.status, refused.detail, refused.reasons)
        return
    try:
        spec = LiveInput(format, rate)
    except ValueError as exc:
        lease.release()
        await _refuse(websocket, status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))
        return
    try:
        if not scope.sees_camera(camera_id):  # another grid's speaker: as if there were none
            raise UnknownCamera(camera_id)
        session, live = await service.open_live(camera_id, spec, TalkRequest(operator, override=override))
    except ShopwatchError as exc:  # the handler does not reach a WebSocket: the same answer, as a message
        lease.release()
        refused = answer_or_internal(exc)
        await _refuse(websocket, refused.status, refused.detail, refused.reasons)
        return
    try:
        served = await guard.run(_serve(websocket, service, session, live), lease)
    finally:
        live.end()  # whatever happened to the socket, the speaker gets its clean end
    if not served:  # the user was disabled, the token expired or the key revoked while talking
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(code=WS_POLICY_VIOLATION, reason="credentials no longer valid")


async def _serve(websocket: WebSocket, service: Talk, session: TalkSession, live: LiveAudio) -> None:
    public = SessionPublic.of(session, service.queue_position(session)).model_dump(mode="json")
    await websocket.send_json({"type": "session", "session": public})
    receiver = asyncio.create_task(_receive(websocket, live))
    started = asyncio.create_task(service.wait_started(session.id))
    finished = asyncio.create_task(service.wait_ended(session.id))
    client_gone = False
    problem: str | None = None
    try:
        pending: set[asyncio.Task[object]] = {receiver, started, finished}
        while finished in pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            if started in done and not client_gone:
                now = started.result()
                await websocket.send_json({"type": "started", "codec": now.codec, "protocol": now.protocol})
            if receiver in done:
                said = receiver.result()
                client_gone = said is None
                problem = said if said not in (None, "end") else None
                live.end()
        if not client_gone:
            if problem is not None:
                await websocket.send_json(
                    {"type": "error", "status": status.HTTP_422_UNPROCESSABLE_CONTENT, "detail": problem}
                )
            ended = SessionPublic.of(finished.result()).model_dump(mode="json")
            await websocket.send_json({"type": "ended", "session": ended})
            bad_audio = status.WS_1007_INVALID_FRAME_PAYLOAD_DATA
            await websocket.close(code=bad_audio if problem else status.WS_1000_NORMAL_CLOSURE)
    finally:
        for task in (receiver, started, finished):
            task.cancel()
        await asyncio.gather(receiver, started, finished, return_exceptions=True)
        if websocket.client_state is WebSocketState.CONNECTED and client_gone:
            with contextlib.suppress(RuntimeError):
                await websocket.close()

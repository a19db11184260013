"""One console page's live tiles over one WebSocket: each watched camera's H.264 as fragmented MP4 for Media
Source Extensions, remuxed here (``shopwatch.ingest.fmp4``), never re-encoded.

The client sends text ``{"watch": "<camera id>"}`` and ``{"unwatch": "<camera id>"}`` (at most ``max_tiles``
cameras at once). The server sends, per camera:

- text ``{"type": "live", "camera": id, "mime": "video/mp4; codecs=\\"avc1.…\\""}`` before a stream's init segment
  (again after the camera reconnected: the client starts a new ``MediaSource``);
- binary messages, ``[kind: 1 byte, 0 init / 1 media][id length: 1 byte][id: UTF-8][payload]``: the init segment,
  then one media segment per picture, from the newest keyframe the ingest holds;
- text ``{"type": "state", "camera": id, "state": "live" | <camera state>, "why": text | null}`` when the camera
  plays, and when it has given nothing for ``QUIET_S`` (offline and why, secrets masked);
- text ``{"type": "unsupported", "camera": id, "codec": "hevc"}``: not H.264 (Chromium plays no HEVC through
  MSE): the client shows still pictures instead;
- text ``{"type": "error", "camera": id | null, "status": 404 | 422 | 429, "detail": text}`` for a watch refused
  (another grid's camera is 404, as one that does not exist).

A browser that does not keep up never grows a queue: its camera's subscription drops to the next keyframe."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from starlette.websockets import WebSocket, WebSocketDisconnect

from shopwatch.api.services import Fleet
from shopwatch.core.principal import Principal
from shopwatch.core.redact import redact_text
from shopwatch.ingest.fmp4 import Fmp4Muxer, MuxError

KIND_INIT, KIND_MEDIA = 0, 1
QUIET_S = 1.0  # no picture for this long: the tile is told the camera's state
MAX_TILES = 16


def frame(kind: int, camera_id: str, payload: bytes) -> bytes:
    """A binary message: the kind, the camera id (length-prefixed) and the segment."""
    name = camera_id.encode()
    return bytes((kind, len(name))) + name + payload


@dataclass
class LiveSocket:
    """One page's socket: its watched cameras, each fed by a task; sends are serialised."""

    websocket: WebSocket
    fleet: Fleet
    principal: Principal
    audit: Callable[[str, str], Awaitable[None]]  # (camera id, grid): a live view began
    max_tiles: int = MAX_TILES
    feeds: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    _send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    sent_pictures: int = 0

    async def serve(self) -> None:
        """Until the client goes."""
        try:
            while True:
                try:
                    message = await self.websocket.receive()
                except WebSocketDisconnect:
                    return
                if message["type"] == "websocket.disconnect":
                    return
                await self._command(message.get("text"))
        finally:
            for task in self.feeds.values():
                task.cancel()
            await asyncio.gather(*self.feeds.values(), return_exceptions=True)

    async def _command(self, text: str | None) -> None:
        try:
            command = json.loads(text or "null")
            watch, unwatch = command.get("watch"), command.get("unwatch")
        except (ValueError, AttributeError):
            await self._send_json(
                {"type": "error", "camera": None, "status": 422, "detail": 'expected {"watch": id} or {"unwatch": id}'}
            )
            return
        if isinstance(unwatch, str):
            task = self.feeds.pop(unwatch, None)
            if task is not None:
                task.cancel()
        if isinstance(watch, str):
            await self._watch(watch)

    async def _watch(self, camera_id: str) -> None:
        if camera_id in self.feeds:
            return
        camera = self.fleet.camera(camera_id)
        if camera is None or not self.principal.can_see_grid(camera.grid):
            await self._error(camera_id, 404, f"camera {camera_id!r} is not registered")
            return
        if len(self.feeds) >= self.max_tiles:
            await self._error(camera_id, 429, f"expected at most {self.max_tiles} live tiles per page; unwatch one")
            return
        await self.audit(camera_id, camera.grid)
        self.feeds[camera_id] = asyncio.create_task(self._feed(camera_id))

    async def _feed(self, camera_id: str) -> None:
        try:
            subscription = self.fleet.watch_live(camera_id)
        except KeyError:  # removed since the lookup
            await self._error(camera_id, 404, f"camera {camera_id!r} is not registered")
            return
        muxer: Fmp4Muxer | None = None
        told: tuple[str, str | None] | None = None
        try:
            while True:
                try:
                    async with asyncio.timeout(QUIET_S):
                        items = await subscription.get()
                except TimeoutError:
                    told = await self._tell_state(camera_id, told)
                    continue
                for stream, unit, gap in items:
                    if stream is not None:
                        if stream.codec != "h264":
                            await self._send_json({"type": "unsupported", "camera": camera_id, "codec": stream.codec})
                            return
                        muxer = Fmp4Muxer(
                            width=stream.width, height=stream.height, time_base=stream.time_base,
                            extradata=stream.extradata,
                        )  # fmt: skip
                    if muxer is None:
                        continue
                    try:
                        segments = muxer.push(unit.data, unit.pts, unit.keyframe, arrival=unit.arrival, gap=gap)
                    except MuxError as exc:
                        await self._error(camera_id, 422, f"camera {camera_id!r}: {exc}")
                        return
                    for segment in segments:
                        if segment.kind == "init":
                            await self._send_json({"type": "live", "camera": camera_id, "mime": muxer.mime})
                            await self._send_bytes(frame(KIND_INIT, camera_id, segment.data))
                        else:
                            await self._send_bytes(frame(KIND_MEDIA, camera_id, segment.data))
                            self.sent_pictures += 1
                            if told != ("live", None):
                                told = ("live", None)
                                await self._send_json(
                                    {"type": "state", "camera": camera_id, "state": "live", "why": None}
                                )
        finally:
            subscription.close()

    async def _tell_state(self, camera_id: str, told: tuple[str, str | None] | None) -> tuple[str, str | None] | None:
        camera = self.fleet.camera(camera_id)
        health = self.fleet.health(camera_id)
        if camera is None:
            now: tuple[str, str | None] = ("unknown", None)
        elif not camera.enabled:
            now = ("disabled", None)
        elif health is None:
            now = ("unknown", None)
        else:
            why = redact_text(health.last_error, camera.secrets()) if health.last_error else None
            now = (health.state.value, why)
        if now[0] == "online" and told == ("live", None):
            return told  # a pause between pictures, not a change
        if now != told:
            await self._send_json({"type": "state", "camera": camera_id, "state": now[0], "why": now[1]})
        return now

    async def _error(self, camera_id: str, status: int, detail: str) -> None:
        await self._send_json({"type": "error", "camera": camera_id, "status": status, "detail": detail})

    async def _send_json(self, data: dict[str, object]) -> None:
        async with self._send_lock:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                await self.websocket.send_text(json.dumps(data, ensure_ascii=False))

    async def _send_bytes(self, data: bytes) -> None:
        async with self._send_lock:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):  # gone: the receive loop ends us
                await self.websocket.send_bytes(data)

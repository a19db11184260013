"""Talkback latency through the API against the GStreamer backchannel peer: the service, a real HTTP server
and WebSocket, the real RTSP backchannel link.

    python benchmarks/talkback_api_latency.py [--runs 20] [--frames 150]

Rows: API call -> first RTP packet sent, and -> first audio out of the peer (GStreamer holds ~200 ms first),
for a prepared clip and for cached TTS; WebSocket frame in -> RTP packet out for live audio. The functions
have the ``(peer, args) -> rows`` shape of ``talkback_latency.MEASUREMENTS`` so that benchmark can list them; the
peer and the table printer both use are in ``talkback_peer``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent))
from talkback_peer import Peer, Row, pct, peer_process, print_table  # noqa: E402

from shopwatch.api.app import create_app  # noqa: E402
from shopwatch.api.server import ApiServer  # noqa: E402
from shopwatch.api.services import Services  # noqa: E402
from shopwatch.auth.audit import AuditTrail  # noqa: E402
from shopwatch.auth.login import LoginService  # noqa: E402
from shopwatch.core.access_config import AuthSettings  # noqa: E402
from shopwatch.core.clock import SystemClock  # noqa: E402
from shopwatch.core.config import CameraConfig, Settings  # noqa: E402
from shopwatch.core.health import CameraHealth  # noqa: E402
from shopwatch.core.principal import Role  # noqa: E402
from shopwatch.core.talkback_config import TalkbackSettings  # noqa: E402
from shopwatch.core.talkback_records import TalkResult  # noqa: E402
from shopwatch.store.accounts import AccountRepository  # noqa: E402
from shopwatch.store.audit import AuditRepository  # noqa: E402
from shopwatch.store.db import create_engine_for, migrate  # noqa: E402
from shopwatch.talkback import audio, player  # noqa: E402
from shopwatch.talkback.audio import AudioSource  # noqa: E402
from shopwatch.talkback.build import build_talkback  # noqa: E402
from shopwatch.talkback.g711 import Codec  # noqa: E402
from shopwatch.talkback.service import SpeakerAccess, TalkbackService  # noqa: E402
from shopwatch.talkback.speakers.link import EncodedFrame, SpeakerLink  # noqa: E402
from shopwatch.talkback.target import TalkTarget  # noqa: E402


class StaticFleet:
    """The ``Fleet`` the API needs, over a fixed list of cameras (no ingest in this benchmark)."""

    def __init__(self, cameras: list[CameraConfig]) -> None:
        self._cameras = {c.id: c for c in cameras}

    def cameras(self) -> list[CameraConfig]:
        return list(self._cameras.values())

    def camera(self, camera_id: str) -> CameraConfig | None:
        return self._cameras.get(camera_id)

    def health(self, camera_id: str) -> CameraHealth | None:  # noqa: ARG002
        return None

    def all_health(self) -> dict[str, CameraHealth]:
        return {}

    async def snapshot_jpeg(self, camera_id: str, timeout_s: float) -> bytes:  # noqa: ARG002
        raise KeyError(camera_id)

    def request_activity(self, camera_id: str, reason: str) -> bool:  # noqa: ARG002
        return False


class TimedLink:
    """The real protocol link, with the loop time of every frame it sends."""

    def __init__(self, inner: SpeakerLink, sent: list[float]) -> None:
        self._inner = inner
        self.protocol = inner.protocol
        self._sent = sent

    async def open(self, codecs: tuple[Codec, ...]) -> Codec:
        return await self._inner.open(codecs)

    async def send(self, frame: EncodedFrame) -> None:
        await self._inner.send(frame)
        self._sent.append(asyncio.get_running_loop().time())

    async def flush(self) -> None:
        await self._inner.flush()

    async def close(self) -> None:
        await self._inner.close()


@dataclass
class Api:
    url: str
    service: TalkbackService
    client: httpx.AsyncClient
    sent: list[float]  # loop times of every RTP packet sent, all sessions
    headers: dict[str, str]  # an admin API key


@asynccontextmanager
async def running_api(peer: Peer) -> AsyncIterator[Api]:
    sent: list[float] = []

    async def timed_talk(target: TalkTarget, source: AudioSource, **options: object) -> TalkResult:
        link = TimedLink(player.open_link(target), sent)
        return await player.talk(target, source, link=link, **options)  # type: ignore[arg-type]

    camera = CameraConfig.model_validate(
        {"id": "shop", "name": "Shop", "grid": "g", "host": "127.0.0.1",
         "talkback": {"capable": True, "allowed": True, "url": peer.url("pcmu")}}
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as data:
        engine = create_engine_for(f"sqlite:///{data}/shopwatch.db")
        migrate(engine)
        service = build_talkback(
            StaticFleet([camera]), TalkbackSettings(), engine, Path(data), SystemClock(),
            access=SpeakerAccess(talk=timed_talk),
        )  # fmt: skip
        service.start()
        auth = LoginService(AccountRepository(engine), AuthSettings(), SystemClock())
        key = auth.accounts.create_key("benchmark", Role.ADMIN, None, "benchmark").plaintext  # uploads clips, talks
        audit = AuditTrail(AuditRepository(engine), SystemClock())
        services = Services(StaticFleet([camera]), talkback=service, auth=auth, audit=audit)
        server = ApiServer(create_app(Settings(), services), "127.0.0.1", 0)
        serving = asyncio.create_task(server.serve())
        try:
            headers = {"Authorization": f"Bearer {key}"}
            async with httpx.AsyncClient(base_url=server.url, timeout=10, headers=headers) as client:
                yield Api(server.url, service, client, sent, headers)
        finally:
            server.stop()
            await serving
            await service.close()
            engine.dispose()


async def _first_packet_rows(api: Api, peer: Peer, body: dict[str, object], runs: int, label: str) -> list[Row]:
    sent_ms: list[float] = []
    heard_ms: list[float] = []
    loop = asyncio.get_running_loop()
    for _ in range(runs):
        before = len(api.sent)
        called, called_mono = loop.time(), time.monotonic()
        response = await api.client.post("/api/cameras/shop/talkback", json=body)
        response.raise_for_status()
        session = await asyncio.wait_for(api.service.wait_ended(response.json()["id"]), 30)
        if session.error or len(api.sent) == before:
            raise RuntimeError(f"{label}: session ended {session.outcome}: {session.error}")
        sent_ms.append((api.sent[before] - called) * 1000)
        peer.conn.send(("first_audio_after", "pcmu", called_mono))
        at = await asyncio.to_thread(peer.conn.recv)
        if at is not None:
            heard_ms.append((at - called_mono) * 1000)
    rows = [Row(f"API POST ({label}) -> first RTP sent, p50 / p95",
                f"{pct(sent_ms, .5):.1f} / {pct(sent_ms, .95):.1f} ms", "<= 150 ms")]  # fmt: skip
    if heard_ms:
        rows.append(Row(f"API POST ({label}) -> first audio out of the peer (~200 ms hold incl.), p50 / p95",
                        f"{pct(heard_ms, .5):.1f} / {pct(heard_ms, .95):.1f} ms"))  # fmt: skip
    return rows


async def api_first_packet(peer: Peer, args: argparse.Namespace) -> list[Row]:
    """A prepared clip and a cached sentence, each started through the HTTP API."""
    async with running_api(peer) as api:
        upload = await api.client.post(
            "/api/talkback/clips", params={"name": "tone"}, content=_wav(audio.tone(440, 0.3))
        )
        upload.raise_for_status()
        clip = {"clip": upload.json()["id"]}
        await _first_packet_rows(api, peer, clip, 1, "warm-up")  # first talk: imports, G.711 tables; not timed
        rows = await _first_packet_rows(api, peer, clip, args.runs, "clip")
        text = {"text": "Stop posting cards.", "voice": "en"}
        await api.service.tts.speech(str(text["text"]), str(text["voice"]))  # cached before the requests
        rows += await _first_packet_rows(api, peer, text, args.runs, "cached TTS")
    return rows


async def ws_frame_to_rtp(peer: Peer, args: argparse.Namespace) -> list[Row]:
    """Live audio: a client sends one 20 ms frame per message at real-time pace; each frame's time from the
    client's send to its RTP packet leaving the server."""
    async with running_api(peer) as api:
        loop = asyncio.get_running_loop()
        url = api.url.replace("http://", "ws://") + "/api/cameras/shop/talkback/live?format=pcm16&rate=8000"
        frames = audio.frames(audio.tone(600, args.frames * 0.02))
        async with connect(url, proxy=None, additional_headers=api.headers) as ws:
            await ws.recv()  # session
            await ws.send(frames[0])
            await ws.recv()  # started: connected, first packet out
            await asyncio.sleep(0.2)
            offset = len(api.sent)
            client: list[float] = []
            start = loop.time()
            for i, frame in enumerate(frames[1:]):
                await asyncio.sleep(max(0.0, start + i * 0.02 - loop.time()))
                client.append(loop.time())
                await ws.send(frame)
            await ws.send(json.dumps({"type": "end"}))
            ended = json.loads(await ws.recv())
        added = [(api.sent[offset + i] - t) * 1000 for i, t in enumerate(client) if offset + i < len(api.sent)]
    dropped = ended["session"]["packets"] - 1 - len(client)
    return [
        Row("WebSocket frame in -> RTP out, p50 / p95", f"{pct(added, .5):.1f} / {pct(added, .95):.1f} ms", "<= 60 ms"),
        Row("WebSocket frames sent / packets out (after the first)", f"{len(client)} / {len(client) + dropped}"),
    ]


def _wav(pcm: bytes) -> bytes:
    import io
    import wave

    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(audio.SAMPLE_RATE)
        w.writeframes(pcm)
    return out.getvalue()


MEASUREMENTS = [api_first_packet, ws_frame_to_rtp]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--frames", type=int, default=150)
    args = parser.parse_args()
    rows: list[Row] = []
    with peer_process() as peer:
        for measure in MEASUREMENTS:
            rows += asyncio.run(measure(peer, args))
    print_table(rows)


if __name__ == "__main__":
    main()

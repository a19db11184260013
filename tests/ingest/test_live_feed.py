"""The live feed from a worker's packet ring to the API process, against a real simulated camera (GStreamer RTSP
server) through the real supervisor and worker process; and the bounded queue of one viewer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from fractions import Fraction
from pathlib import Path

import av
import pytest

from shopwatch.ingest.clip import StreamTemplate
from shopwatch.ingest.fmp4 import Fmp4Muxer
from shopwatch.ingest.live_feed import LiveHub, LivePackets, LiveUnit, WatchLive
from shopwatch.ingest.supervisor import Supervisor
from shopwatch.sim.clips import ClipSpec, generate_clip
from shopwatch.sim.rtsp_server import SimServer
from tests.ingest.test_supervisor import FAST, camera, wait_for

TEMPLATE = StreamTemplate("h264", 640, 360, None, Fraction(1, 90_000))


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_clip(ClipSpec("static", seconds=10), tmp_path_factory.mktemp("clips"))


@pytest.fixture
def sim(clip: Path) -> Iterator[SimServer]:
    with SimServer() as server:
        server.add_camera("cam-live", clip)
        yield server


@pytest.fixture
async def supervisor(request: pytest.FixtureRequest) -> AsyncIterator[Supervisor]:
    """The FFmpeg reader, or the one ``indirect`` parametrization names (``ingest.reader``)."""
    sup = Supervisor(FAST.model_copy(update={"reader": getattr(request, "param", "ffmpeg")}), log_level="warning")
    yield sup
    await sup.stop()


@pytest.mark.rtsp
@pytest.mark.parametrize("supervisor", ["ffmpeg", "native"], indirect=True)
async def test_a_watched_camera_plays_from_its_last_keyframe_without_re_encoding(
    sim: SimServer, supervisor: Supervisor, tmp_path: Path
) -> None:
    await supervisor.start([camera("cam-live", sim.url("cam-live"))])
    await wait_for(lambda: (h := supervisor.health("cam-live")) is not None and h.state.value == "online", 10.0)
    await asyncio.sleep(1.0)  # the ring holds a keyframe and some pictures after it
    opened = time.monotonic()
    subscription = supervisor.watch_live("cam-live")
    got: list[tuple[StreamTemplate | None, LiveUnit, bool]] = []
    first_at = None
    while sum(1 for _, unit, _ in got) < 36:  # 3 s at 12 fps
        async with asyncio.timeout(5):
            got += await subscription.get()
        first_at = first_at or time.monotonic() - opened
    subscription.close()
    assert first_at is not None and first_at < 1.0, f"the first picture took {first_at:.3f} s"  # from the ring
    template = got[0][0]
    assert template is not None and template.codec == "h264" and got[0][1].keyframe
    assert not any(gap for _, _, gap in got)
    muxer = Fmp4Muxer(width=template.width, height=template.height, time_base=template.time_base,
                      extradata=template.extradata)  # fmt: skip
    data = b""
    for _, unit, gap in got:
        data += b"".join(s.data for s in muxer.push(unit.data, unit.pts, unit.keyframe, arrival=unit.arrival, gap=gap))
    data += b"".join(s.data for s in muxer.flush())
    (tmp_path / "live.mp4").write_bytes(data)
    with av.open(str(tmp_path / "live.mp4")) as container:
        stream = container.streams.video[0]
        packets = [p for p in container.demux(stream) if p.size]
        frames = [f for p in packets for f in stream.codec_context.decode(p)]
    assert len(packets) == len(got) and len(frames) >= len(got) - 1  # the decoder may hold the last one
    assert (frames[0].width, frames[0].height) == (640, 360)
    steps = [b.pts - a.pts for a, b in zip(packets, packets[1:], strict=False)]
    # 12 fps on a 90 kHz clock, as the camera sent it: GStreamer's payloader rounds 1/12 s down to whole ticks
    # (7499.99997), so the RTP timestamps the native reader passes on step by 7499-7501; FFmpeg's demuxer gives 7500.
    assert set(steps) <= {7499, 7500, 7501} and abs(sum(steps) / len(steps) - 7500) < 1, steps
    # The watch ends with its last viewer: the worker is told at once.
    await wait_for(lambda: supervisor._live.watched() == [], 1.0)


async def test_a_slow_viewer_skips_to_the_next_keyframe_and_never_grows_a_queue() -> None:
    sent: list[WatchLive] = []
    hub = LiveHub(sent.append, max_units=20)
    slow = hub.subscribe("cam")
    fast = hub.subscribe("cam")
    assert [w.camera_id for w in sent] == ["cam"] and sent[0].seconds > 0

    def units(start: int, count: int) -> tuple[LiveUnit, ...]:
        return tuple(LiveUnit(bytes([i % 256]), i * 7500, i % 12 == 0, i / 12) for i in range(start, start + count))

    hub.deliver(LivePackets("cam", TEMPLATE, units(0, 6)))
    assert len(await fast.get()) == 6
    hub.deliver(LivePackets("cam", None, units(6, 14)))  # the slow viewer reads nothing meanwhile
    assert len(await fast.get()) == 14
    hub.deliver(LivePackets("cam", None, units(20, 16)))
    async with asyncio.timeout(1):
        got = await slow.get()
    # 20 waited when picture 20 came: all dropped, and what followed up to the next keyframe (24).
    assert [u.pts for _, u, _ in got] == [i * 7500 for i in range(24, 36)]
    assert got[0][1].keyframe and got[0][2] and not any(gap for _, _, gap in got[1:]), "restarts at a keyframe"
    assert slow.dropped == 24
    async with asyncio.timeout(1):
        assert len(await fast.get()) == 16  # the other viewer of the camera, which keeps up, lost nothing
    assert fast.dropped == 0
    # A third viewer of the watched camera starts at once, from its newest keyframe (24), not mid-GOP.
    late = hub.subscribe("cam")
    assert [w.camera_id for w in sent] == ["cam"], "the worker is not asked again"
    async with asyncio.timeout(1):
        assert [u.pts for _, u, _ in await late.get()] == [i * 7500 for i in range(24, 36)]
    for sub in (slow, fast, late):
        sub.close()
    assert sent[-1] == WatchLive("cam", 0.0)
    hub.close()

import pytest

from shopwatch.ingest.ring import PacketRing

FPS, GOP = 12, 24  # a keyframe every 2 s


def fill(ring: PacketRing[int], seconds: float, *, size: int = 100, key_size: int = 3000) -> None:
    """Packets numbered by frame index, at their capture times (t = index / FPS)."""
    for i in range(int(seconds * FPS)):
        key = i % GOP == 0
        ring.append(i, size=key_size if key else size, keyframe=key, time=i / FPS)


@pytest.mark.parametrize("preroll_s", [0.0, 1.0, 2.0, 4.0, 5.5])
def test_the_ring_reaches_back_to_the_newest_keyframe_before_the_preroll(preroll_s: float) -> None:
    ring: PacketRing[int] = PacketRing(preroll_s)
    fill(ring, 30)
    now = (30 * FPS - 1) / FPS
    entries = ring.entries()
    oldest = entries[0]
    assert oldest.keyframe
    assert oldest.time <= now - preroll_s  # reaches back at least preroll_s
    assert oldest.time > now - preroll_s - GOP / FPS  # ... but not a whole GOP more
    assert [e.packet for e in entries] == list(range(oldest.packet, 30 * FPS))  # nothing missing
    assert ring.dropped == 0


def test_decoding_can_start_at_the_keyframe_before_a_trigger() -> None:
    ring: PacketRing[int] = PacketRing(4.0)
    fill(ring, 20)
    # Motion at t = 18.9 s (mid-GOP): decoding starts at the keyframe of t = 18 s.
    entries = ring.from_keyframe_before(18.9)
    assert entries[0].packet == 18 * FPS and entries[0].keyframe
    assert entries[-1].packet == 20 * FPS - 1
    # A moment earlier than every keyframe kept: the oldest keyframe is the closest that decodes.
    assert ring.from_keyframe_before(0.0)[0].packet == ring.entries()[0].packet


def test_packets_since_last_keyframe() -> None:
    ring: PacketRing[int] = PacketRing(4.0)
    assert ring.packets_since_last_keyframe() == []
    fill(ring, 3.5)
    assert ring.packets_since_last_keyframe() == list(range(GOP, 42))


def test_without_any_keyframe_nothing_can_be_decoded() -> None:
    ring: PacketRing[int] = PacketRing(4.0)
    for i in range(10):
        ring.append(i, size=10, keyframe=False, time=i / FPS)
    assert ring.from_keyframe_before(100.0) == []
    assert ring.packets_since_last_keyframe() == []
    assert len(ring) == 10


@pytest.mark.parametrize(
    ("max_packets", "max_bytes", "expect_len", "expect_bytes_at_most"),
    [
        (50, 10**9, 50, 10**9),  # count cap
        (10**6, 20_000, None, 20_000),  # byte cap
    ],
)
def test_hard_caps_drop_the_oldest_and_count_it(
    max_packets: int, max_bytes: int, expect_len: int | None, expect_bytes_at_most: int
) -> None:
    ring: PacketRing[int] = PacketRing(60.0, max_packets=max_packets, max_bytes=max_bytes)
    fill(ring, 20)
    assert ring.dropped > 0
    assert ring.bytes <= expect_bytes_at_most
    if expect_len is not None:
        assert len(ring) == expect_len
    assert ring.entries()[-1].packet == 20 * FPS - 1
    assert len(ring) + ring.dropped == 20 * FPS
    # Keyframe bookkeeping survives the drops: what it offers still starts at a keyframe.
    entries = ring.from_keyframe_before(19.0)
    assert entries and entries[0].keyframe


def test_clear_forgets_everything() -> None:
    ring: PacketRing[int] = PacketRing(4.0)
    fill(ring, 5)
    ring.clear()
    assert len(ring) == 0 and ring.bytes == 0 and ring.from_keyframe_before(10) == []


def test_caps_must_be_positive() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        PacketRing(4.0, max_packets=0)


def test_a_batch_appended_at_once_is_the_same_as_one_by_one() -> None:
    one: PacketRing[int] = PacketRing(4.0)
    fill(one, 20)
    batched: PacketRing[int] = PacketRing(4.0)
    items = [(i, 3000 if i % GOP == 0 else 100, i % GOP == 0, i / FPS) for i in range(20 * FPS)]
    added = [e for start in range(0, len(items), 5) for e in batched.extend(items[start : start + 5])]
    assert [e.seq for e in added] == list(range(20 * FPS))
    assert batched.entries() == one.entries() and batched.bytes == one.bytes


def test_a_live_view_starts_at_the_last_keyframe_and_follows_by_seq() -> None:
    ring: PacketRing[int] = PacketRing(1.0)
    assert ring.from_last_keyframe() == []
    fill(ring, 3.5)
    start = ring.from_last_keyframe()
    assert [e.packet for e in start] == list(range(GOP, 42)) and start[0].keyframe
    assert ring.after(start[-1].seq) == []  # nothing new yet
    ring.append(42, size=100, keyframe=False, time=42 / FPS)
    assert [e.packet for e in ring.after(start[-1].seq) or []] == [42]
    # A reader that fell behind the ring (aged out, or the ring cleared by a reconnect) is told so.
    for i in range(43, 43 + 5 * FPS):
        ring.append(i, size=100, keyframe=i % GOP == 0, time=i / FPS)
    assert ring.after(start[-1].seq) is None
    last = ring.entries()[-1].seq
    ring.clear()
    assert ring.after(last) == []  # cleared, and nothing came since: nothing missed yet
    ring.append(1000, size=100, keyframe=True, time=100.0)
    assert ring.after(last) == [ring.entries()[0]]
    assert ring.after(last - 1) is None

"""One talker per speaker: grants, refusals naming the holder, the bounded queue, live preemption."""

from __future__ import annotations

import pytest

from shopwatch.talkback.arbiter import (
    Claim,
    ClaimKind,
    Granted,
    Preempting,
    Queued,
    SpeakerArbiter,
    SpeakerConflict,
)


def clip(n: int, camera: str = "cam-1", user: str = "alice") -> Claim:
    return Claim(f"c{n}", camera, ClaimKind.CLIP, user)


def live(n: int, camera: str = "cam-1", user: str = "op") -> Claim:
    return Claim(f"l{n}", camera, ClaimKind.LIVE, user)


def test_free_speakers_are_granted_and_speakers_are_independent() -> None:
    arbiter = SpeakerArbiter(queue_size=2)
    assert arbiter.request(clip(1), queue=False) == Granted()
    assert arbiter.request(clip(2, camera="cam-2"), queue=False) == Granted()
    assert arbiter.holder("cam-1") == clip(1)


def test_a_busy_speaker_refuses_or_queues_up_to_the_bound() -> None:
    arbiter = SpeakerArbiter(queue_size=2)
    arbiter.request(clip(1), queue=False)
    with pytest.raises(SpeakerConflict) as caught:
        arbiter.request(clip(2, user="bob"), queue=False)
    assert caught.value.holder == clip(1)
    assert caught.value.reason == "speaker of camera 'cam-1' is in use by a clip started by 'alice' (session c1)"
    assert arbiter.request(clip(3), queue=True) == Queued(1)
    assert arbiter.request(clip(4), queue=True) == Queued(2)
    with pytest.raises(SpeakerConflict, match=r"queue is full \(2 of 2 waiting\)"):
        arbiter.request(clip(5), queue=True)
    assert arbiter.release(clip(1)) == clip(3)
    assert arbiter.waiting("cam-1") == [clip(4)]


def test_live_preempts_a_clip_and_goes_before_the_queue() -> None:
    arbiter = SpeakerArbiter(queue_size=3)
    arbiter.request(clip(1), queue=False)
    arbiter.request(clip(2), queue=True)
    assert arbiter.request(live(1), queue=False) == Preempting(victim=clip(1))
    assert arbiter.holder("cam-1") == clip(1)  # until the clip has torn down
    with pytest.raises(SpeakerConflict) as caught:
        arbiter.request(live(2, user="op2"), queue=False)
    assert caught.value.reason == "speaker of camera 'cam-1' is held by live operator 'op' (session l1)"
    assert arbiter.release(clip(1)) == live(1)
    with pytest.raises(SpeakerConflict, match="held by live operator 'op'"):
        arbiter.request(live(2), queue=False)
    assert arbiter.release(live(1)) == clip(2)
    assert arbiter.release(clip(2)) is None
    assert arbiter.holder("cam-1") is None


def test_giving_up_while_waiting_and_releasing_twice() -> None:
    arbiter = SpeakerArbiter(queue_size=3)
    arbiter.request(clip(1), queue=False)
    arbiter.request(clip(2), queue=True)
    arbiter.request(live(1), queue=False)
    assert arbiter.release(live(1)) is None  # the live client left before it got the speaker
    assert arbiter.release(clip(2)) is None  # cancelled while queued
    assert arbiter.waiting("cam-1") == []
    assert arbiter.release(clip(1)) is None
    assert arbiter.release(clip(1)) is None
    assert arbiter.request(clip(3), queue=False) == Granted()


def test_queue_size_zero_refuses_every_wait() -> None:
    arbiter = SpeakerArbiter(queue_size=0)
    arbiter.request(clip(1), queue=False)
    with pytest.raises(SpeakerConflict, match=r"queue is full \(0 of 0 waiting\)"):
        arbiter.request(clip(2), queue=True)

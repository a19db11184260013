"""``MediaClock``: when a packet was *live*, from its timestamp, so a late packet does not pass for a flowing stream.

FFmpeg's RTP depacketizer holds the last packet of a picture until the next RTP packet shows the picture ended.
When the camera freezes (measured here with the simulated server under SIGSTOP), FFmpeg hands that held packet
over only when its read times out, ``read_timeout_s`` after the last real data: delivered now, received long ago.
Counting its delivery as a sign of life showed a frozen camera ``online`` again for a few seconds before the
read failed. A packet's presentation time says when it was live: on a flowing stream, arrival minus
presentation time (the lag) stays near its smallest value; a packet whose lag is larger by more than
``tolerance_s`` is late, and counts as heard at the time it would have arrived live.

Sans-IO and not thread-safe: owned by one reader thread, one instance per connection.
"""

from __future__ import annotations


class MediaClock:
    """Maps (arrival, presentation time) of packets to the time the stream was last heard live.

    A stream whose timestamps jump back (a camera's clock reset) makes every later packet look late: when late
    packets keep coming for longer than ``tolerance_s`` the stream is flowing at a new offset, and the clock
    rebases on it."""

    def __init__(self, tolerance_s: float) -> None:
        self._tolerance_s = tolerance_s
        self._lag: float | None = None  # smallest arrival - pts seen (the live offset)
        self._late_since: float | None = None  # arrival of the first of a run of late packets

    def heard(self, arrival: float, pts_s: float | None) -> float:
        """The time the packet that arrived at ``arrival`` (monotonic s) with presentation time ``pts_s`` was
        live: ``arrival`` for a packet on time, earlier for a late one."""
        if pts_s is None:
            return arrival
        lag = arrival - pts_s
        if self._lag is None or lag <= self._lag + self._tolerance_s:
            self._lag = lag if self._lag is None else min(self._lag, lag)
            self._late_since = None
            return arrival
        if self._late_since is None:
            self._late_since = arrival
        elif arrival - self._late_since > self._tolerance_s:  # late for that long: a new offset, not a hold-up
            self._lag, self._late_since = lag, None
            return arrival
        return self._lag + pts_s

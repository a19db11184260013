"""``MediaClock``: when a packet was *live*, from its timestamp, so a late packet does not pass for a flowing stream.

FFmpeg's RTP depacketizer holds the last packet of a picture until the next RTP packet shows the picture ended.
When the camera freezes (measured here with the simulated server under SIGSTOP), FFmpeg hands that held packet
over only when its read times out, ``read_timeout_s`` after the last real data: delivered now, received long ago.
Counting its delivery as a sign of life showed a frozen camera ``online`` again for a few seconds before the
read failed. So a packet that ends a silence longer than ``tolerance_s`` must show, by its presentation time,
that the camera's clock moved on about as long as the silence lasted; a held-back packet moved on by a frame
or so, and counts as heard when the packet before it was, plus that step. Only the step across a silence is
looked at: a stream whose timestamps drift or jump (a camera's clock reset, RTCP remapping) while packets flow
is always heard as they arrive.

Sans-IO and not thread-safe: owned by one reader thread, one instance per connection.
"""

from __future__ import annotations


class MediaClock:
    """Maps (arrival, presentation time) of a connection's packets, in order, to when each was heard live."""

    def __init__(self, tolerance_s: float) -> None:
        self._tolerance_s = tolerance_s
        self._arrival: float | None = None  # of the packet before
        self._pts_s: float | None = None
        self._heard: float = 0.0

    def heard(self, arrival: float, pts_s: float | None) -> float:
        """When the packet that arrived at ``arrival`` (monotonic s) with presentation time ``pts_s`` (s) was
        live: ``arrival``, except for a held-back packet after a silence."""
        heard = arrival
        if self._arrival is not None and pts_s is not None and self._pts_s is not None:
            silence = arrival - self._arrival
            step = pts_s - self._pts_s
            if silence > self._tolerance_s and step < silence - self._tolerance_s:
                heard = min(arrival, self._heard + max(0.0, step))
        self._arrival, self._heard = arrival, heard
        if pts_s is not None:
            self._pts_s = pts_s
        return heard

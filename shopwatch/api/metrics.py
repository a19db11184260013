"""Prometheus metrics read from the fleet and the talkback service at scrape time.

One registry per app (no global registry, so two apps in one process or one test never collide) and custom
collectors that turn ``fleet.all_health()`` (streams and ONVIF event subscriptions) and ``talkback.stats()``
into metric families when scraped: no bookkeeping per update. Labels carry camera ids, grids and states only,
never a URL or credential.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector

from shopwatch.api.cluster_metrics import ShardCollector, ShardCountsSource
from shopwatch.api.services import Fleet
from shopwatch.core.health import ActivityMode, CameraHealth, CameraState, EventsState
from shopwatch.talkback.records import TalkbackStats

# (metric name without _total, help, CameraHealth attribute) for the per-camera counters.
_COUNTERS: tuple[tuple[str, str, str], ...] = (
    ("shopwatch_camera_packets", "Packets read from the camera.", "packets_total"),
    ("shopwatch_camera_frames", "Frames decoded.", "frames_total"),
    ("shopwatch_camera_keyframes", "Keyframes decoded.", "keyframes_total"),
    ("shopwatch_camera_frames_dropped", "Decoded frames a slow consumer never took.", "frames_dropped"),
    ("shopwatch_camera_reconnects", "Reconnections after a failure.", "reconnects"),
    ("shopwatch_camera_activations", "Idle to active switches (activity gating).", "activations"),
    ("shopwatch_camera_internal_errors", "Reader errors that are shopwatch bugs (logged with a traceback).",
     "internal_errors"),
)


class FleetCollector:
    """A collector (``prometheus_client`` custom collector protocol) over the fleet's in-memory health."""

    def __init__(self, fleet: Fleet) -> None:
        self._fleet = fleet

    def collect(self) -> Iterator[Metric]:
        health = self._fleet.all_health()
        grids = {camera.id: camera.grid for camera in self._fleet.cameras()}
        yield _state_counts(health)
        yield _camera_up(grids, health)
        for name, help_text, attribute in _COUNTERS:
            counter = CounterMetricFamily(name, help_text, labels=["camera"])
            for camera_id, h in health.items():
                counter.add_metric([camera_id], float(getattr(h, attribute)))
            yield counter
        kbit = GaugeMetricFamily(
            "shopwatch_camera_kbit_per_second", "Stream bit rate over the last report.", labels=["camera"]
        )
        active = GaugeMetricFamily(
            "shopwatch_camera_active", "1 while every frame is decoded (activity), 0 when idle.", labels=["camera"]
        )
        for camera_id, h in health.items():
            kbit.add_metric([camera_id], h.kbit_per_s)
            active.add_metric([camera_id], 1.0 if h.mode is ActivityMode.ACTIVE else 0.0)
        yield kbit
        yield active
        yield _detector_dropped(health)
        yield from _onvif_events(health)


def _detector_dropped(health: dict[str, CameraHealth]) -> CounterMetricFamily:
    counter = CounterMetricFamily(
        "shopwatch_detector_dropped",
        "Frames sent for a person check that the node's detector dropped (queue full); their rules skipped them.",
        labels=["camera"],
    )
    for camera_id, h in health.items():
        if h.detection is not None:
            counter.add_metric([camera_id], float(h.detection.dropped))
    return counter


def _state_counts(health: dict[str, CameraHealth]) -> GaugeMetricFamily:
    counts = dict.fromkeys(CameraState, 0)
    for h in health.values():
        counts[h.state] += 1
    family = GaugeMetricFamily("shopwatch_cameras", "Cameras per connection state.", labels=["state"])
    for state, count in counts.items():
        family.add_metric([state.value], float(count))
    return family


def _camera_up(grids: dict[str, str], health: dict[str, CameraHealth]) -> GaugeMetricFamily:
    """1 when online. Every registered camera appears (0 before its first report); join on grid from here."""
    family = GaugeMetricFamily(
        "shopwatch_camera_up", "1 when packets are flowing (state online), else 0.", labels=["camera", "grid"]
    )
    for camera_id in sorted(grids.keys() | health.keys()):
        h = health.get(camera_id)
        up = 1.0 if h is not None and h.state is CameraState.ONLINE else 0.0
        family.add_metric([camera_id, grids.get(camera_id, "")], up)
    return family


def _onvif_events(health: dict[str, CameraHealth]) -> Iterator[Metric]:
    """Subscriptions per state (every state, 0 included) and the events each subscribed camera received."""
    counts = dict.fromkeys(EventsState, 0)
    motion = CounterMetricFamily("shopwatch_onvif_motion_events", "ONVIF motion events received.", labels=["camera"])
    tamper = CounterMetricFamily("shopwatch_onvif_tamper_events", "ONVIF tamper events received.", labels=["camera"])
    for camera_id, h in health.items():
        if h.events is None:
            continue
        counts[h.events.state] += 1
        motion.add_metric([camera_id], float(h.events.motion_events))
        tamper.add_metric([camera_id], float(h.events.tamper_events))
    family = GaugeMetricFamily(
        "shopwatch_onvif_subscriptions", "ONVIF PullPoint event subscriptions per state.", labels=["state"]
    )
    for state, count in counts.items():
        family.add_metric([state.value], float(count))
    yield family
    yield motion
    yield tamper


class TalkbackStatsSource(Protocol):
    def stats(self) -> TalkbackStats: ...


class TalkbackCollector:
    """Sessions, speaker queues, dropped live audio and the audit writer of the talkback service."""

    def __init__(self, talkback: TalkbackStatsSource) -> None:
        self._talkback = talkback

    def collect(self) -> Iterator[Metric]:
        stats = self._talkback.stats()
        sessions = GaugeMetricFamily(
            "shopwatch_talkback_sessions", "Talkback sessions holding (active) or waiting for (queued) a speaker.",
            labels=["state"],
        )  # fmt: skip
        sessions.add_metric(["active"], float(stats.active))
        sessions.add_metric(["queued"], float(stats.queued))
        yield sessions
        queue = GaugeMetricFamily(
            "shopwatch_talkback_speaker_queue_length", "Talks waiting for a speaker (speakers with any).",
            labels=["camera"],
        )  # fmt: skip
        for camera_id, length in sorted(stats.queue_lengths.items()):
            queue.add_metric([camera_id], float(length))
        yield queue
        yield CounterMetricFamily(
            "shopwatch_talkback_live_frames_dropped",
            "Live push-to-talk frames dropped because the client sent faster than the speaker plays.",
            value=float(stats.live_frames_dropped),
        )
        yield GaugeMetricFamily(
            "shopwatch_talkback_audit_pending", "Audit entries waiting to be written.", value=float(stats.audit_pending)
        )
        yield CounterMetricFamily(
            "shopwatch_talkback_audit_written", "Audit entries written.", value=float(stats.audit_written)
        )
        yield CounterMetricFamily(
            "shopwatch_talkback_audit_write_failures",
            "Audit entries the database refused (logged; the talk went on).",
            value=float(stats.audit_write_failures),
        )


def build_registry(
    fleet: Fleet, talkback: TalkbackStatsSource | None = None, shards: ShardCountsSource | None = None
) -> CollectorRegistry:
    """A fresh registry for one app: the fleet, the talkback service when there is one, the Ray shards when
    ingest runs on Ray, this process's CPU/memory."""
    registry = CollectorRegistry()
    registry.register(FleetCollector(fleet))
    if talkback is not None:
        registry.register(TalkbackCollector(talkback))
    if shards is not None:
        registry.register(ShardCollector(shards))
    ProcessCollector(registry=registry)
    return registry

"""Prometheus metrics read from the fleet at scrape time.

One registry per app (no global registry, so two apps in one process or one test never collide) and one custom
collector that turns ``fleet.all_health()`` into metric families when scraped: no bookkeeping per health update.
Labels carry camera ids and grids only, never a URL or credential.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector

from shopwatch.core.health import ActivityMode, CameraHealth, CameraState
from shopwatch.core.services import Fleet

# (metric name without _total, help, CameraHealth attribute) for the per-camera counters.
_COUNTERS: tuple[tuple[str, str, str], ...] = (
    ("shopwatch_camera_packets", "Packets read from the camera.", "packets_total"),
    ("shopwatch_camera_frames", "Frames decoded.", "frames_total"),
    ("shopwatch_camera_keyframes", "Keyframes decoded.", "keyframes_total"),
    ("shopwatch_camera_frames_dropped", "Decoded frames a slow consumer never took.", "frames_dropped"),
    ("shopwatch_camera_reconnects", "Reconnections after a failure.", "reconnects"),
    ("shopwatch_camera_activations", "Idle to active switches (activity gating).", "activations"),
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


def build_registry(fleet: Fleet) -> CollectorRegistry:
    """A fresh registry for one app: the fleet collector and this process's CPU/memory."""
    registry = CollectorRegistry()
    registry.register(FleetCollector(fleet))
    ProcessCollector(registry=registry)
    return registry

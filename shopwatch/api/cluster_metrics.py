"""Metrics of the scale-out (``serve --ray``): the ingest shards by what they are doing, read from the head's
supervisor at scrape time. A shard without a slot waits in Ray for a node to take it; its cameras' health says
so, and this gauge lets an alert rule see it without reading every camera."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from prometheus_client.core import GaugeMetricFamily, Metric

from shopwatch.cluster.census import ShardCounts


class ShardCountsSource(Protocol):
    def shard_counts(self) -> ShardCounts: ...


class ShardCollector:
    def __init__(self, source: ShardCountsSource) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        counts = self._source.shard_counts()
        shards = GaugeMetricFamily(
            "shopwatch_shards",
            "Ingest shards (serve --ray) per state: running their assignment, answering in trouble (the reason is in"
            " their cameras' health), or no_process (not answering: restarting, waiting for a slot, unreachable).",
            labels=["state"],
        )
        shards.add_metric(["running"], float(counts.running))
        shards.add_metric(["troubled"], float(counts.troubled))
        shards.add_metric(["no_process"], float(counts.no_process))
        yield shards
        yield GaugeMetricFamily(
            "shopwatch_shards_without_slot",
            "Ingest shards without a running process for which the cluster's live nodes offer no free ingest_slot.",
            value=float(counts.without_slot),
        )

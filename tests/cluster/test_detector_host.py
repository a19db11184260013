"""A node's person detector without Ray (the detector actor's body): a model path missing on the node is told
through its endpoint (the shards' health then names it); with the real model, the endpoint's client is answered
by the node detector's process, which ``close`` stops."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from shopwatch.cluster.detector_host import DetectorEndpoint, DetectorHost, DetectorSpec
from shopwatch.core.detect_config import DetectSettings
from shopwatch.models.detector import DetectorUnavailable
from tests.cluster.helpers import wait_for
from tests.models.model_path import test_model

NODE = "0123456789abcdef" * 3


def spec(model: Path) -> DetectorSpec:
    return DetectorSpec("detector-0123456789ab", NODE, DetectSettings(model=str(model)), "warning", "warning")


def test_a_model_path_missing_on_the_node_is_told_by_the_endpoint(tmp_path: Path) -> None:
    host = DetectorHost(spec(tmp_path / "nowhere.xml"))
    wait_for(lambda: host.endpoint().problem != "starting", 10, "the host's verdict")
    endpoint = host.endpoint()
    assert endpoint.client is None and endpoint.model_pid is None
    assert endpoint.problem == (
        f"detector-0123456789ab on node 0123456789ab: person model not found: {tmp_path / 'nowhere.xml'}"
        " (detect.model or --model names a file or folder)"
    )
    host.close()


def _answers(endpoint: DetectorEndpoint) -> bool:
    assert endpoint.client is not None
    try:
        [people] = endpoint.client.detect([np.zeros((360, 640, 3), np.uint8)])
    except DetectorUnavailable:
        return False
    return people is not None and len(people) == 0  # a black picture: nobody


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_the_endpoints_client_is_answered_by_the_node_detector_process_until_closed() -> None:
    host = DetectorHost(spec(test_model()))
    try:
        wait_for(lambda: host.endpoint().client is not None, 10, "the node detector started")
        endpoint = host.endpoint()
        assert endpoint.problem is None and endpoint.pid == os.getpid()
        assert endpoint.model_pid is not None and endpoint.model_pid != os.getpid()
        wait_for(lambda: _answers(host.endpoint()), 120, "the model answering through the endpoint's client")
    finally:
        host.close()
    assert not Path(f"/proc/{endpoint.model_pid}").exists(), "the model's process stopped and reaped"

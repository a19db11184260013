import threading

from shopwatch.ingest.snapshot import SnapshotStore


def test_a_request_is_answered_by_the_next_published_picture() -> None:
    store = SnapshotStore()
    store.publish("old", now=1.0)
    generation = store.request()
    assert store.wanted
    publisher = threading.Timer(0.05, lambda: store.publish("fresh", now=2.0))
    publisher.start()
    picture = store.wait_newer(generation, timeout_s=5.0)
    publisher.join()
    assert picture is not None and picture.frame == "fresh" and picture.time == 2.0
    assert not store.wanted


def test_waiting_is_bounded() -> None:
    store = SnapshotStore()
    generation = store.request()
    assert store.wait_newer(generation, timeout_s=0.02) is None
    assert store.latest() is None

"""The tips table on SQLite and PostgreSQL: stored and read back whole, a confirmation that creates its incident
and joins the attached events in one transaction (once only), and the per-tipster record."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from shopwatch.core.incident_records import Incident
from shopwatch.core.tip_records import Tip
from shopwatch.store.events import EventRepository
from shopwatch.store.tips import TipRepository
from tests.store.test_events import make_event

T0 = datetime(2026, 11, 3, 21, 30, tzinfo=UTC)


def tip(n: int, tipster: str, **changes: object) -> Tip:
    base = Tip(
        id=f"tip{n:04d}", type="card_posting", text="门口贴卡", status="candidate", filed_at=T0 + timedelta(minutes=n),
        seen_at=T0, filed_by=tipster, tipster=tipster, lat=39.9, lon=116.4, camera_id="cam-1", address="长街1号",
        place_from="address", grid="g1", photos=["1.jpg"], nearby={"cameras": [{"id": "cam-1"}], "events": []},
        incident_id=None, decided_by=None, decided_at=None, note="", led_to_case=False,
    )  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


def test_tips_stored_confirmed_and_counted(engine: Engine) -> None:
    events = EventRepository(engine)
    events.add(make_event(1), [])
    repo = TipRepository(engine)
    first = tip(1, "vol-li", nearby={"cameras": [{"id": "cam-1"}], "events": [{"id": "ev0001"}]})
    repo.add(first)
    repo.add(tip(2, "vol-li"))
    repo.add(tip(3, "key:bridge/张三"))
    assert repo.get("tip0001") == first
    assert [t.id for t in repo.find(tipster="vol-li")] == ["tip0002", "tip0001"]
    incident = Incident("inc1", "card_posting", T0, T0, {"tip": "tip0001", "events": ["ev0001"]})
    values = {"status": "confirmed", "incident_id": "inc1", "decided_by": "wang", "decided_at": T0, "note": ""}
    assert repo.confirm("tip0001", values, incident) is True
    assert repo.confirm("tip0001", values, replace(incident, id="inc2")) is False  # decided already: no incident
    assert events.incident("inc2") is None and events.incident("inc1") is not None
    event = events.get("ev0001")
    assert event is not None and event.incident_id == "inc1"
    assert repo.decide("tip0002", {"status": "closed", "decided_by": "wang", "decided_at": T0, "note": "重复"})
    assert repo.mark_case("tip0001", True)
    assert repo.stats() == [
        {"tipster": "key:bridge/张三", "filed": 1, "confirmed": 0, "led_to_case": 0},
        {"tipster": "vol-li", "filed": 2, "confirmed": 1, "led_to_case": 1},
    ]

"""Search on SQLite and PostgreSQL over the hand-made street (tests/incidents/search_fixture.py): the cameras along
长街 between 22:00 and 23:00 answered with their events and the tips about the street in time order; an event at
23:01, one 300 m off the street and a tip 300 m off are left out; by a circle, by the street's line, by text;
grid scoping; types and statuses of either kind; pages by cursor with nothing lost or repeated."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import Engine

from shopwatch.core.directory import CameraRoster
from shopwatch.incidents.linking import Place
from shopwatch.incidents.search import EventSearch, SearchAnswer, SearchRequest
from shopwatch.incidents.search_place import Circle, Corridor, SearchPlace
from shopwatch.store.events import EventRepository
from shopwatch.store.search import Filters, Key, Kind
from shopwatch.store.tips import TipRepository
from tests.incidents.search_fixture import ALONG_THE_STREET, cameras, local, store_street

WINDOW = Filters(since=local(22, 0), until=local(23, 0))
STREET = SearchPlace(shape=Corridor((Place(39.9, 116.3995), Place(39.9, 116.4025)), 60.0))
ALONG = SearchPlace(camera_ids=frozenset({"s1", "s2", "s3"}), street="长街")


@pytest.fixture
def search(engine: Engine) -> EventSearch:
    store_street(EventRepository(engine), TipRepository(engine))
    return EventSearch(engine, CameraRoster(cameras()))


def ids(answer: SearchAnswer) -> list[str]:
    return [(f.event.id if f.event else f.tip.id) for f in answer.results]  # type: ignore[union-attr]


@pytest.mark.parametrize("place", [STREET, ALONG], ids=["the street's line", "its name"])
def test_along_the_street_between_22_and_23_in_time_order(search: EventSearch, place: SearchPlace) -> None:
    answer = search.search_now(SearchRequest(place, WINDOW))
    assert ids(answer) == ALONG_THE_STREET  # not ev-d (23:01), ev-e (300 m off), tip-2 (300 m off), ev-f, tip-3
    assert answer.next_cursor is None
    assert [c.id for c, _ in answer.cameras] == ["s1", "s2", "s3"]  # not the lane's, not the far one
    first = answer.results[0]
    assert first.camera is not None and first.camera.id == "s1" and first.key == Key(local(22, 5), Kind.EVENT, "ev-a")
    if place is STREET:
        assert first.distance_m == pytest.approx(0.0, abs=0.01)
        tip = answer.results[1]
        assert tip.tip is not None and tip.distance_m == pytest.approx(11.1, abs=0.1)  # 0.0001° of latitude


def test_a_circle_around_a_shop(search: EventSearch) -> None:
    circle = SearchPlace(shape=Circle(Place(39.9, 116.4010), 100.0))  # s2; s1 and s3 are 85 m away, lane 300 m
    answer = search.search_now(SearchRequest(circle, WINDOW))
    assert ids(answer) == ALONG_THE_STREET
    assert [(c.id, round(d or 0)) for c, d in answer.cameras] == [("s2", 0), ("s1", 85), ("s3", 85)]
    wide = search.search_now(SearchRequest(replace(circle, shape=Circle(Place(39.9, 116.4010), 301.0)), WINDOW))
    assert ids(wide) == ["ev-a", "tip-1", "ev-e", "ev-b", "ev-g", "tip-2", "ev-c", "tip-4"]


def test_grid_scoping_and_own_tips(search: EventSearch) -> None:
    north = search.search_now(SearchRequest(STREET, replace(WINDOW, grids=frozenset({"north"}))))
    assert ids(north) == ["ev-a", "tip-1", "ev-b", "ev-g"]
    assert {c.id for c, _ in north.cameras} == {"s1", "s2"}  # s3 is south's
    nothing = search.search_now(SearchRequest(STREET, replace(WINDOW, grids=frozenset())))
    assert ids(nothing) == [] and nothing.cameras == []
    patrol = SearchRequest(STREET, replace(WINDOW, grids=frozenset({"south"})), own_tips_of="vol-li")
    assert ids(search.search_now(patrol)) == ["tip-1", "ev-c"]  # its grid's events, the tips it filed


def test_types_statuses_and_kinds(search: EventSearch) -> None:
    def found(**more: object) -> list[str]:
        kinds = more.pop("kinds", frozenset(Kind))
        return ids(search.search_now(SearchRequest(STREET, replace(WINDOW, **more), kinds)))  # type: ignore[arg-type]

    assert found(types=frozenset({"loitering"})) == ["ev-b"]
    assert found(types=frozenset({"hazard"})) == ["tip-4"]
    assert found(types=frozenset({"card_posting"})) == ["ev-a", "tip-1", "ev-g", "ev-c"]
    assert found(statuses=frozenset({"new", "candidate"})) == ["ev-a", "tip-1", "ev-c", "tip-4"]
    assert found(statuses=frozenset({"resolved"})) == ["ev-g"]
    assert found(kinds=frozenset({Kind.TIP})) == ["tip-1", "tip-4"]
    every_time = ["ev-f", "ev-a", "ev-b", "ev-g", "ev-c", "ev-d"]
    assert found(kinds=frozenset({Kind.EVENT}), since=None, until=None) == every_time


def test_pages_by_cursor_lose_and_repeat_nothing(search: EventSearch) -> None:
    pages, after = [], None
    for _ in range(5):
        answer = search.search_now(SearchRequest(STREET, replace(WINDOW, limit=2, after=after)))
        pages.append(ids(answer))
        if answer.next_cursor is None:
            break
        after = Key.decode(answer.next_cursor)
    assert pages == [["ev-a", "tip-1"], ["ev-b", "ev-g"], ["ev-c", "tip-4"]]

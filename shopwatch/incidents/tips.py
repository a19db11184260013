"""Tips from people become incident candidates: the place is resolved (a position, the photo's EXIF position, a
camera, or an address matched to the registry's addresses and shop names; unmatched is kept and flagged
"place unresolved", never refused), the photos are cleaned, and the cameras within ``tips.radius_m`` with
their events within ``tips.window_s`` of the tip's time (links to their clips) are attached. An operator
then confirms it (a new incident), merges it into an existing incident, or closes it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from shopwatch.core.config import CameraConfig
from shopwatch.core.directory import CameraDirectory
from shopwatch.core.errors import Conflict, Invalid, NotFound
from shopwatch.core.incident_records import Incident
from shopwatch.core.private_files import DIR_MODE, private_file
from shopwatch.core.tip_records import PlaceFrom, Tip, TipStatus
from shopwatch.core.tips_config import TipsSettings
from shopwatch.incidents.linking import Place, distance_m
from shopwatch.incidents.tip_photos import CleanPhoto, clean_photo
from shopwatch.store.events import EventQuery, EventRepository
from shopwatch.store.tips import TipRepository

TIPS_DIR = "tips"


@dataclass(frozen=True, slots=True)
class TipIn:
    """What a tipster sends, checked for shape by the API."""

    type: str
    text: str
    seen_at: datetime
    lat: float | None = None
    lon: float | None = None
    camera_id: str | None = None
    address: str = ""
    photos: Sequence[tuple[str, bytes]] = ()  # (name, bytes) as sent


@dataclass(frozen=True, slots=True)
class ResolvedPlace:
    place_from: PlaceFrom
    place: Place | None
    camera: CameraConfig | None  # the camera named or matched (its grid)


def _normal(text: str) -> str:
    return "".join(text.split()).casefold()


def match_address(address: str, cameras: Sequence[CameraConfig]) -> CameraConfig | None:
    """The camera whose address, shop name or camera name contains what was typed (spaces and case ignored),
    or is contained in it; the one closest in length wins (an exact match first: "1 Long Street" is not
    "11 Long Street")."""
    wanted = _normal(address)
    if len(wanted) < 2:
        return None
    best: tuple[int, CameraConfig] | None = None
    for camera in cameras:
        for name in (camera.address, camera.merchant.name, camera.name):
            known = _normal(name)
            if len(known) >= 2 and (wanted in known or known in wanted):
                gap = abs(len(known) - len(wanted))
                if best is None or gap < best[0]:
                    best = (gap, camera)
    return best[1] if best else None


def resolve_place(tip: TipIn, gps: tuple[float, float] | None, cameras: Sequence[CameraConfig]) -> ResolvedPlace:
    def at(camera: CameraConfig) -> Place | None:
        return Place(camera.location.lat, camera.location.lon) if camera.location else None

    if tip.lat is not None and tip.lon is not None:
        return ResolvedPlace(PlaceFrom.LOCATION, Place(tip.lat, tip.lon), None)
    if tip.camera_id:
        named = next((c for c in cameras if c.id == tip.camera_id), None)
        if named is not None:
            return ResolvedPlace(PlaceFrom.CAMERA, at(named), named)
    if tip.address:
        matched = match_address(tip.address, cameras)
        if matched is not None:
            return ResolvedPlace(PlaceFrom.ADDRESS, at(matched), matched)
    if gps is not None:
        return ResolvedPlace(PlaceFrom.PHOTO, Place(*gps), None)
    return ResolvedPlace(PlaceFrom.UNRESOLVED, None, None)


def nearby_cameras(place: Place, cameras: Sequence[CameraConfig], radius_m: float) -> list[tuple[CameraConfig, float]]:
    found = [(c, distance_m(place, Place(c.location.lat, c.location.lon))) for c in cameras if c.location is not None]
    return sorted(((c, d) for c, d in found if d <= radius_m), key=lambda cd: cd[1])


class TipDesk:
    def __init__(
        self,
        settings: TipsSettings,
        tips: TipRepository,
        events: EventRepository,
        fleet: CameraDirectory,
        data_dir: Path,
        now: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self._tips = tips
        self._events = events
        self._fleet = fleet
        self._dir = data_dir / TIPS_DIR
        self._now = now

    def now(self) -> datetime:
        return self._now()

    def check_photos(self, photos: Sequence[tuple[str, bytes]]) -> list[CleanPhoto]:
        """Every photo cleaned, or the first problem raised before anything is stored."""
        if len(photos) > self.settings.max_photos:
            raise Invalid(f"expected at most {self.settings.max_photos} photos, found {len(photos)}")
        limit = self.settings.max_photo_kib * 1024
        return [clean_photo(data, limit, name) for name, data in photos]

    async def file(self, tip: TipIn, filed_by: str, tipster: str) -> Tip:
        photos = await asyncio.to_thread(self.check_photos, tip.photos)
        cameras = self._fleet.cameras()
        gps = next((p.gps for p in photos if p.gps is not None), None)
        where = resolve_place(tip, gps, cameras)
        tip_id = uuid.uuid4().hex
        nearby, grid = await asyncio.to_thread(self._nearby, where, tip.seen_at, cameras)
        record = Tip(
            id=tip_id, type=tip.type, text=tip.text, status=TipStatus.CANDIDATE.value, filed_at=self._now(),
            seen_at=tip.seen_at, filed_by=filed_by, tipster=tipster,
            lat=where.place.lat if where.place else None, lon=where.place.lon if where.place else None,
            camera_id=tip.camera_id or (where.camera.id if where.camera else None), address=tip.address,
            place_from=where.place_from.value, grid=grid, photos=[], nearby=nearby, incident_id=None,
            decided_by=None, decided_at=None, note="", led_to_case=False,
        )  # fmt: skip
        names = await asyncio.to_thread(self._save_photos, tip_id, photos)
        record = replace(record, photos=names)
        await asyncio.to_thread(self._tips.add, record)
        return record

    def _save_photos(self, tip_id: str, photos: Sequence[CleanPhoto]) -> list[str]:
        names = []
        folder = self._dir / tip_id
        if photos:
            folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        for n, photo in enumerate(photos):
            name = f"{n + 1}.{photo.suffix}"
            (folder / name).write_bytes(photo.data)
            private_file(folder / name)
            names.append(name)
        return names

    def photo_path(self, tip: Tip, name: str) -> Path:
        if name not in tip.photos:
            raise NotFound(f"tip {tip.id} has no photo {name!r}")
        return self._dir / tip.id / name

    def _nearby(
        self, where: ResolvedPlace, seen_at: datetime, cameras: Sequence[CameraConfig]
    ) -> tuple[dict[str, Any], str | None]:
        if where.place is None:
            grid = where.camera.grid if where.camera else None
            close = [(where.camera, 0.0)] if where.camera else []
        else:
            close = nearby_cameras(where.place, cameras, self.settings.radius_m)
            grid = where.camera.grid if where.camera else (close[0][0].grid if close else None)
        if not close:
            return {"cameras": [], "events": []}, grid
        window = timedelta(seconds=self.settings.window_s)
        page = self._events.query(
            EventQuery(
                camera_ids=frozenset(c.id for c, _ in close), since=seen_at - window, until=seen_at + window,
                limit=self.settings.max_events,
            )
        )  # fmt: skip
        events = [
            {"id": e.id, "camera_id": e.camera_id, "type": e.type, "time": e.start.isoformat(),
             "clip": f"/api/events/{e.id}/clip.mp4" if e.clip else None,
             "snapshot": f"/api/events/{e.id}/snapshots/actor.jpg" if "actor" in e.snapshots else None}
            for e in page.events
        ]  # fmt: skip
        cams = [{"id": c.id, "name": c.name, "distance_m": round(d, 1)} for c, d in close]
        return {"cameras": cams, "events": events}, grid

    async def get(self, tip_id: str) -> Tip:
        tip = await asyncio.to_thread(self._tips.get, tip_id)
        if tip is None:
            raise NotFound(f"no tip {tip_id!r}")
        return tip

    async def find(self, tipster: str | None, status: str | None, limit: int) -> Sequence[Tip]:
        return await asyncio.to_thread(lambda: self._tips.find(tipster=tipster, status=status, limit=limit))

    async def decide(self, tip_id: str, decision: str, by: str, note: str, incident_id: str | None) -> Tip:
        """``confirm`` (a new incident with the attached events), ``merge`` into ``incident_id``, or ``close``."""
        tip = await self.get(tip_id)
        if tip.status != TipStatus.CANDIDATE.value:
            raise Conflict(f"tip {tip_id} was already decided ({tip.status})")
        values: dict[str, Any] = {"decided_by": by, "decided_at": self._now(), "note": note}
        if decision == "confirm":
            incident = Incident(
                uuid.uuid4().hex, tip.type, tip.seen_at, tip.seen_at,
                {"tip": tip.id, "text": tip.text, "events": [e["id"] for e in tip.nearby.get("events", [])]},
            )  # fmt: skip
            values |= {"status": TipStatus.CONFIRMED.value, "incident_id": incident.id}
            done = await asyncio.to_thread(self._tips.confirm, tip_id, values, incident)
        elif decision == "merge":
            if not incident_id or await asyncio.to_thread(self._events.incident, incident_id) is None:
                raise NotFound(f"no incident {incident_id!r} to merge the tip into")
            values |= {"status": TipStatus.MERGED.value, "incident_id": incident_id}
            done = await asyncio.to_thread(self._tips.decide, tip_id, values)
        else:
            values |= {"status": TipStatus.CLOSED.value}
            done = await asyncio.to_thread(self._tips.decide, tip_id, values)
        if not done:
            raise Conflict(f"tip {tip_id} was decided meanwhile")
        return await self.get(tip_id)

    async def mark_case(self, tip_id: str, led_to_case: bool) -> Tip:
        await self.get(tip_id)
        await asyncio.to_thread(self._tips.mark_case, tip_id, led_to_case)
        return await self.get(tip_id)

    async def stats(self, tipster: str | None) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self._tips.stats, tipster)

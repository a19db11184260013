"""Reads and writes what detection learnt per camera (``core.learnt``): calibrations and ignored spots.

Every write is one transaction that also bumps ``registry_state.revision``: the running service notices it on
its next registry poll and hands the cameras, with what they learnt, to the workers (no restart)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, Engine, RowMapping, delete, insert, select, update

from shopwatch.core.learnt import IgnoredSpot, Learnt, NormBox, ZoneCalibration
from shopwatch.store.db import write_transaction
from shopwatch.store.learnt_tables import CalibrationRow, IgnoredSpotRow
from shopwatch.store.tables import RegistryState

_SPOTS = IgnoredSpotRow.__table__
_CALIBRATIONS = CalibrationRow.__table__


def _spot(row: RowMapping) -> IgnoredSpot:
    return IgnoredSpot(
        id=row["id"], zone=row["zone"], box=(row["x1"], row["y1"], row["x2"], row["y2"]), event_id=row["event_id"],
        created_by=row["created_by"], created_at=row["created_at"],
    )  # fmt: skip


def _bump(conn: Connection) -> None:
    """A change the workers must learn: the registry revision they poll goes up."""
    conn.execute(update(RegistryState).where(RegistryState.id == 1).values(revision=RegistryState.revision + 1))


def new_spots(
    zone: str, boxes: Sequence[NormBox], taught_by: tuple[str | None, str], at: datetime
) -> list[IgnoredSpot]:
    """Ignored spots to store on ``zone``; ``taught_by`` is (event id, user)."""
    event_id, user = taught_by
    return [
        IgnoredSpot(id=uuid.uuid4().hex, zone=zone, box=box, event_id=event_id, created_by=user, created_at=at)
        for box in boxes
    ]


def write_spots(conn: Connection, camera_id: str, spots: Sequence[IgnoredSpot]) -> None:
    """Store ``spots`` of ``camera_id`` in the caller's transaction (with the false positive that taught them) and
    bump the registry revision, so the camera's worker learns them on its next poll."""
    if not spots:
        return
    conn.execute(
        insert(IgnoredSpotRow),
        [
            {"id": s.id, "camera_id": camera_id, "zone": s.zone, "x1": s.box[0], "y1": s.box[1], "x2": s.box[2],
             "y2": s.box[3], "event_id": s.event_id, "created_by": s.created_by, "created_at": s.created_at}
            for s in spots
        ],
    )  # fmt: skip
    _bump(conn)


class LearntRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # -- reads ---------------------------------------------------------------------------------------------

    def all(self) -> dict[str, Learnt]:
        """What every camera learnt, by camera id (cameras that learnt nothing are absent)."""
        calibrations: dict[str, list[ZoneCalibration]] = {}
        spots: dict[str, list[IgnoredSpot]] = {}
        with self._engine.connect() as conn:
            for row in conn.execute(select(_CALIBRATIONS).order_by("zone", "band")).mappings():
                calibrations.setdefault(row["camera_id"], []).append(ZoneCalibration.model_validate(row["doc"]))
            for row in conn.execute(select(_SPOTS).order_by("created_at", "id")).mappings():
                spots.setdefault(row["camera_id"], []).append(_spot(row))
        return {
            camera: Learnt(calibrations=tuple(calibrations.get(camera, ())), spots=tuple(spots.get(camera, ())))
            for camera in calibrations.keys() | spots.keys()
        }

    def of(self, camera_id: str) -> Learnt:
        return self.all().get(camera_id, Learnt())

    def spots(self, camera_id: str) -> list[IgnoredSpot]:
        query = select(_SPOTS).where(_SPOTS.c.camera_id == camera_id).order_by("created_at", "id")
        with self._engine.connect() as conn:
            return [_spot(row) for row in conn.execute(query).mappings()]

    # -- writes --------------------------------------------------------------------------------------------

    def save_calibrations(self, camera_id: str, calibrations: Sequence[ZoneCalibration]) -> None:
        """Store a camera's new calibrations, each replacing the one of its zone and band; all or nothing."""
        with write_transaction(self._engine) as conn:
            for cal in calibrations:
                key = (
                    (CalibrationRow.camera_id == camera_id) & (CalibrationRow.zone == cal.zone)
                    & (CalibrationRow.band == cal.band)
                )  # fmt: skip
                conn.execute(delete(CalibrationRow).where(key))
                conn.execute(
                    insert(CalibrationRow).values(
                        camera_id=camera_id, zone=cal.zone, band=cal.band, measured_at=cal.measured_at,
                        doc=cal.model_dump(mode="json"),
                    )
                )  # fmt: skip
            if calibrations:
                _bump(conn)

    def add_spots(
        self, camera_id: str, zone: str, boxes: Sequence[NormBox], taught_by: tuple[str | None, str], at: datetime
    ) -> list[IgnoredSpot]:
        """New ignored spots on ``camera_id``'s ``zone``; ``taught_by`` is (event id, user)."""
        spots = new_spots(zone, boxes, taught_by, at)
        if spots:
            with write_transaction(self._engine) as conn:
                write_spots(conn, camera_id, spots)
        return spots

    def delete_spots(self, camera_id: str, spot_id: str | None = None) -> int:
        """Remove one spot of the camera (``spot_id``) or all of them; returns how many went."""
        where = IgnoredSpotRow.camera_id == camera_id
        if spot_id is not None:
            where = where & (IgnoredSpotRow.id == spot_id)
        with write_transaction(self._engine) as conn:
            gone = conn.execute(delete(IgnoredSpotRow).where(where)).rowcount
            if gone:
                _bump(conn)
        return int(gone)

"""The camera registry: cameras imported from CSV, onboarded over ONVIF or changed through the API, kept in the
database.

Passwords are stored encrypted (``store.secret_box``: ``fernet:<token>`` under a key outside the database); this
module is the one place that reads and writes the column, so every caller sees the password as it was given,
inline or a ``${SHOPWATCH_...}`` reference. A reference is resolved from the environment only when a record
becomes the ``CameraConfig`` a worker connects with (``get``/``list``); ``records()`` gives the given form, for
display, without resolving it.

Every write is one transaction and bumps ``registry_state.revision`` once when it changed anything, so the
running service can poll ``revision()`` cheaply and reload only when needed."""

from __future__ import annotations

import builtins
import os
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import SecretStr, ValidationError
from sqlalchemy import Connection, Engine, RowMapping, delete, insert, select, update

from shopwatch.core.clock import Clock, SystemClock
from shopwatch.core.config import CameraConfig
from shopwatch.core.env_refs import env_reference, outside_prefix
from shopwatch.core.errors import ConfigError, ConfigProblem
from shopwatch.store.db import write_transaction
from shopwatch.store.secret_box import SecretBox, secrets_of
from shopwatch.store.tables import CameraRow, RegistryState

_IN_CHUNK = 500  # ids per IN (...) list; SQLite limits bound parameters per statement


class Source(StrEnum):
    """Where a registry record came from."""

    YAML = "yaml"
    CSV = "csv"
    ONVIF = "onvif"
    API = "api"


class SecretNotSet(ConfigError):
    """A stored password refers to an environment variable that is not set, or that may not be referenced
    (``why``: outside the ``SHOPWATCH_`` prefix)."""

    def __init__(self, camera_id: str, variable: str, why: str | None = None) -> None:
        self.camera_id = camera_id
        self.variable = variable
        problem = ConfigProblem("credentials.password", why or f"environment variable {variable} is not set")
        super().__init__(f"camera {camera_id!r}", [problem])


@dataclass(frozen=True)
class UpsertResult:
    """Ids of the cameras a write created, changed, and found already as given."""

    created: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


@dataclass(frozen=True)
class CameraRecord:
    """A registry row as stored: ``camera`` carries the password as given (maybe an unresolved reference)."""

    camera: CameraConfig
    source: Source
    created_at: datetime
    updated_at: datetime

    def resolved(self, env: Mapping[str, str]) -> CameraConfig:
        return resolve_password(self.camera, env)


def resolve_password(camera: CameraConfig, env: Mapping[str, str]) -> CameraConfig:
    """``camera`` with a ``${SHOPWATCH_...}`` password replaced by the variable's value; ``SecretNotSet`` if
    unset or outside the prefix (``core.env_refs``)."""
    name = env_reference(camera.credentials.password.get_secret_value())
    if name is None:
        return camera
    if (refused := outside_prefix(name)) is not None:
        raise SecretNotSet(camera.id, name, refused)
    if name not in env:
        raise SecretNotSet(camera.id, name)
    credentials = camera.credentials.model_copy(update={"password": SecretStr(env[name])})
    return camera.model_copy(update={"credentials": credentials})


# CameraConfig fields kept one column each (nested models as JSON documents); credentials are split in two.
_CONFIG_COLUMNS = (
    "id", "name", "address", "grid", "vendor", "host", "port", "onvif_port", "transport", "enabled",
    "merchant", "location", "streams", "talkback", "onvif", "detection",
)  # fmt: skip


def _row_values(camera: CameraConfig) -> dict[str, Any]:
    """The columns of one camera (everything but source and timestamps), the password in the clear: ``_sealed``
    encrypts it for the database."""
    doc = camera.model_dump(mode="json", exclude={"credentials"})
    missing = doc.keys() - set(_CONFIG_COLUMNS)
    if missing:  # a field added to CameraConfig needs a column and a migration, not silent loss
        raise RuntimeError(f"CameraConfig fields without a registry column: {', '.join(sorted(missing))}")
    return {
        **{key: doc[key] for key in _CONFIG_COLUMNS},
        "username": camera.credentials.username,
        "password": camera.credentials.password.get_secret_value(),
    }


def _sealed(values: dict[str, Any], box: SecretBox) -> dict[str, Any]:
    return {**values, "password": box.seal(values["password"])}


def _opened(row: RowMapping, box: SecretBox) -> dict[str, Any]:
    """A stored row with its password decrypted (``SecretKeyError`` naming the key when it cannot be)."""
    return {**row, "password": box.open(row["password"])}


def _camera_from_row(row: Mapping[str, Any]) -> CameraConfig:
    doc = {key: row[key] for key in _CONFIG_COLUMNS}
    doc["credentials"] = {"username": row["username"], "password": row["password"]}
    try:
        return CameraConfig.model_validate(doc)
    except ValidationError as exc:  # a row written by an older version that the current model refuses
        problems = [ConfigProblem(".".join(map(str, e["loc"])), e["msg"]) for e in exc.errors()]
        raise ConfigError(f"registry camera {row['id']!r}", problems) from None


def _record_from_row(row: Mapping[str, Any]) -> CameraRecord:
    return CameraRecord(_camera_from_row(row), Source(row["source"]), row["created_at"], row["updated_at"])


def _source(value: str) -> Source:
    try:
        return Source(value)
    except ValueError:
        expected = ", ".join(s.value for s in Source)
        raise ValueError(f"expected a registry source ({expected}), found {value!r}") from None


def _deep_merge(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


class CameraRepository:
    """Reads and writes the camera registry. ``env`` resolves password references (default: os.environ).

    The one place the password column is read and written: passwords are sealed with the engine's key
    (``store.secret_box``) on the way in and opened on the way out, so no caller ever sees the stored form."""

    def __init__(self, engine: Engine, clock: Clock | None = None, env: Mapping[str, str] | None = None) -> None:
        self._engine = engine
        self._clock = clock or SystemClock()
        self._env = env
        self._box = secrets_of(engine)

    @property
    def secrets(self) -> SecretBox:
        """The key of the stored passwords (``shopwatch secrets rotate``)."""
        return self._box

    # -- reads ---------------------------------------------------------------------------------------------

    def revision(self) -> int:
        """A number that grows with every committed change to the registry."""
        with self._engine.connect() as conn:
            value = conn.scalar(select(RegistryState.revision).where(RegistryState.id == 1))
        if value is None:
            raise RuntimeError("registry_state has no row: run migrate() before using the registry")
        return int(value)

    def records(self, grid: str | None = None, enabled: bool | None = None) -> builtins.list[CameraRecord]:
        """Stored records ordered by id, passwords decrypted but references unresolved (for listing)."""
        query = select(CameraRow.__table__).order_by(CameraRow.id)
        if grid is not None:
            query = query.where(CameraRow.grid == grid)
        if enabled is not None:
            query = query.where(CameraRow.enabled == enabled)
        with self._engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [_record_from_row(_opened(row, self._box)) for row in rows]

    def record(self, camera_id: str) -> CameraRecord | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(CameraRow.__table__).where(CameraRow.id == camera_id)).mappings().first()
        return None if row is None else _record_from_row(_opened(row, self._box))

    def list(self, grid: str | None = None, enabled: bool | None = None) -> builtins.list[CameraConfig]:
        """Cameras ordered by id, ready to connect with (password references resolved; ``SecretNotSet``)."""
        env = os.environ if self._env is None else self._env
        return [rec.resolved(env) for rec in self.records(grid=grid, enabled=enabled)]

    def get(self, camera_id: str) -> CameraConfig | None:
        rec = self.record(camera_id)
        return None if rec is None else rec.resolved(os.environ if self._env is None else self._env)

    # -- writes --------------------------------------------------------------------------------------------

    def _write(self) -> AbstractContextManager[Connection]:
        return write_transaction(self._engine)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock.wall(), tz=UTC)

    @staticmethod
    def _bump(conn: Connection) -> None:
        conn.execute(update(RegistryState).where(RegistryState.id == 1).values(revision=RegistryState.revision + 1))

    def upsert_many(self, cameras: Sequence[CameraConfig], source: str) -> UpsertResult:
        """Create or update cameras by id, all in one transaction (all or nothing)."""
        src = _source(source)
        ids = [cam.id for cam in cameras]
        if len(set(ids)) != len(ids):
            twice = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"expected each camera id once in one write, found {', '.join(twice)} repeated")
        created: builtins.list[str] = []
        updated: builtins.list[str] = []
        unchanged: builtins.list[str] = []
        now = self._now()
        inserts: builtins.list[dict[str, Any]] = []
        with self._write() as conn:
            existing = self._existing(conn, ids)
            for cam in cameras:
                values = {**_row_values(cam), "source": src.value}
                old = existing.get(cam.id)
                if old is None:
                    inserts.append({**_sealed(values, self._box), "created_at": now, "updated_at": now})
                    created.append(cam.id)
                elif all(old[k] == v for k, v in values.items()):
                    unchanged.append(cam.id)
                else:
                    sealed = _sealed(values, self._box)
                    conn.execute(update(CameraRow).where(CameraRow.id == cam.id).values(**sealed, updated_at=now))
                    updated.append(cam.id)
            if inserts:
                conn.execute(insert(CameraRow), inserts)
            if created or updated:
                self._bump(conn)
        return UpsertResult(tuple(created), tuple(updated), tuple(unchanged))

    def _existing(self, conn: Connection, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start : start + _IN_CHUNK]
            query = select(CameraRow.__table__).where(CameraRow.id.in_(chunk))
            found.update({row["id"]: _opened(row, self._box) for row in conn.execute(query).mappings()})
        return found

    def merge(self, camera_id: str, changes: Mapping[str, Any], source: str) -> CameraRecord:
        """Apply a partial change shaped like ``CameraConfig`` (``{"streams": {"detect": url}}``) to a stored
        camera, keeping every field the change does not name. ``KeyError`` for an unknown id; the merged
        camera is validated (``ConfigError`` naming the fields) before anything is written."""
        src = _source(source)
        with self._write() as conn:
            stored = conn.execute(select(CameraRow.__table__).where(CameraRow.id == camera_id)).mappings().first()
            if stored is None:
                raise KeyError(camera_id)
            row = _opened(stored, self._box)
            current = _camera_from_row(row)
            doc = _deep_merge(_stored_doc(current), changes)
            try:
                camera = CameraConfig.model_validate(doc)
            except ValidationError as exc:
                problems = [ConfigProblem(".".join(map(str, e["loc"])), e["msg"]) for e in exc.errors()]
                raise ConfigError(f"change to camera {camera_id!r}", problems) from None
            if camera.id != camera_id:
                raise ValueError(f"a merge cannot rename camera {camera_id!r} (found id {camera.id!r})")
            values = {**_row_values(camera), "source": src.value}
            if any(row[k] != v for k, v in values.items()):
                sealed = _sealed(values, self._box)
                conn.execute(
                    update(CameraRow).where(CameraRow.id == camera_id).values(**sealed, updated_at=self._now())
                )
                self._bump(conn)
            stored = conn.execute(select(CameraRow.__table__).where(CameraRow.id == camera_id)).mappings().one()
            return _record_from_row(_opened(stored, self._box))

    def reseal_all(self, batch: int = 100) -> int:
        """Encrypt every stored password again with the first key (``shopwatch secrets rotate``); the number of
        rows rewritten. Each batch is one transaction and a row is rewritten only if unchanged since it was read,
        so a crash or a concurrent edit leaves every row whole, under the old key or the new one."""
        done = 0
        after = ""
        while True:
            with self._write() as conn:
                query = (
                    select(CameraRow.id, CameraRow.password)
                    .where(CameraRow.id > after)
                    .order_by(CameraRow.id)
                    .limit(batch)
                )
                rows = conn.execute(query).all()
                for camera_id, stored in rows:
                    if stored == "" or (self._box.is_sealed(stored) and self._box.sealed_with_first_key(stored)):
                        continue
                    fresh = self._box.reseal(stored)
                    changed = update(CameraRow).where(CameraRow.id == camera_id, CameraRow.password == stored)
                    done += conn.execute(changed.values(password=fresh)).rowcount
            if len(rows) < batch:
                return done
            after = rows[-1][0]

    def unopened(self) -> builtins.list[str]:
        """Ids of cameras whose stored password the first key alone does not open (or is stored in clear)."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(CameraRow.id, CameraRow.password).order_by(CameraRow.id)).all()
        return [
            camera_id
            for camera_id, stored in rows
            if stored != "" and not (self._box.is_sealed(stored) and self._box.sealed_with_first_key(stored))
        ]

    def delete(self, camera_id: str) -> bool:
        """Remove a camera; False when there was none with this id."""
        with self._write() as conn:
            gone = conn.execute(delete(CameraRow).where(CameraRow.id == camera_id)).rowcount
            if gone:
                self._bump(conn)
        return bool(gone)


def _stored_doc(camera: CameraConfig) -> dict[str, Any]:
    """The camera as a plain dict, password included as stored (model_dump would mask it)."""
    doc = camera.model_dump(mode="json")
    doc["credentials"]["password"] = camera.credentials.password.get_secret_value()
    return doc

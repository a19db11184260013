"""Where the running service gets its cameras: the YAML config file merged with the registry database
(CSV imports, later ONVIF onboarding). A camera defined in the YAML file wins over a registry record with the
same id. ``poll()`` notices an edited config file or a changed registry revision and returns the new set.

What each camera's detection learnt (calibrations, ignored spots: ``store.learnt``) is attached to its
``detection.learnt`` here, whichever side the camera came from; those writes bump the registry revision too."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from shopwatch.core.config import CameraConfig, Settings
from shopwatch.core.config_loader import load_settings
from shopwatch.core.errors import ConfigError
from shopwatch.core.learnt import Learnt
from shopwatch.store.cameras import CameraRepository, SecretNotSet
from shopwatch.store.learnt import LearntRepository

log = logging.getLogger(__name__)


def registry_cameras(repo: CameraRepository, env: Mapping[str, str]) -> list[CameraConfig]:
    """Every registry camera with its password resolved; a camera whose ``${VAR}`` is unset is left out (and
    logged), so one missing secret never keeps the other cameras from running."""
    cameras = []
    for record in repo.records():
        try:
            cameras.append(record.resolved(env))
        except SecretNotSet as exc:
            log.error("camera %s is not started: %s", record.camera.id, exc)
    return cameras


def merge_cameras(yaml_cameras: list[CameraConfig], registry: list[CameraConfig]) -> list[CameraConfig]:
    merged = {cam.id: cam for cam in registry}
    merged.update({cam.id: cam for cam in yaml_cameras})
    return [merged[k] for k in sorted(merged)]


def with_learnt(cameras: list[CameraConfig], learnt: Mapping[str, Learnt]) -> list[CameraConfig]:
    """``cameras`` with each one's ``detection.learnt`` set to what it learnt (nothing: the empty default)."""
    out = []
    for camera in cameras:
        mine = learnt.get(camera.id, Learnt())
        if camera.detection.learnt != mine:
            detection = camera.detection.model_copy(update={"learnt": mine})
            camera = camera.model_copy(update={"detection": detection})
        out.append(camera)
    return out


class CameraSource:
    def __init__(
        self,
        settings: Settings,
        config_path: Path | None,
        repo: CameraRepository,
        learnt: LearntRepository | None = None,
    ) -> None:
        self.settings = settings
        self._path = config_path
        self._repo = repo
        self._learnt = learnt
        self._mtime = self._stat()
        self._revision = repo.revision()
        self._cameras = self._merged()

    def _merged(self) -> list[CameraConfig]:
        cameras = merge_cameras(self.settings.cameras, registry_cameras(self._repo, os.environ))
        return cameras if self._learnt is None else with_learnt(cameras, self._learnt.all())

    def cameras(self) -> list[CameraConfig]:
        return list(self._cameras)

    def _stat(self) -> float | None:
        try:
            return self._path.stat().st_mtime_ns if self._path else None
        except OSError:
            return None

    def poll(self) -> list[CameraConfig] | None:
        """The new camera set if the config file or the registry changed since the last call, else None.

        An invalid edit of the config file is logged with every problem and ignored: the running set stays."""
        changed = False
        mtime = self._stat()
        if mtime != self._mtime and self._path is not None:
            self._mtime = mtime
            try:
                settings = load_settings(self._path, os.environ)
            except ConfigError as exc:
                log.error("config edit ignored, the running configuration stays: %s", exc)
            else:
                if settings.model_dump(exclude={"cameras"}) != self.settings.model_dump(exclude={"cameras"}):
                    log.warning("settings other than cameras changed in %s: they apply after a restart", self._path)
                self.settings = self.settings.model_copy(update={"cameras": settings.cameras})
                changed = True
        revision = self._repo.revision()
        if revision != self._revision:
            self._revision = revision
            changed = True
        if not changed:
            return None
        cameras = self._merged()
        if cameras == self._cameras:
            return None
        self._cameras = cameras
        return self.cameras()

"""A fleet of simulated shop cameras: ids, clips, mounts on a simulated RTSP server, and a matching shopwatch config.

Cameras are ``cam-01`` .. ``cam-NN`` (zero-padded to the width of N, at least 2). Most show a static shop
front; every ``walker_every``-th one has a person walking past. Cameras of the same kind share a few clips
(``seeds`` distinct ones), so a fleet of 1,000 needs at most ``2 * seeds`` files on disk. With ``scenes_dir``
(clips written by ``shopwatch sim scenes``) the cameras play those clips instead, camera i the i-th clip in
name order, cycling when there are more cameras than clips.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from shopwatch.sim.clips import ClipKind, ClipSpec, generate_clip


class CameraServer(Protocol):
    """What a fleet mounts its cameras on: ``SimServer`` (GStreamer) or ``LightServer`` (``light_rtsp.py``)."""

    def add_camera(
        self, camera_id: str, clip: Path, *, username: str | None = None, password: str | None = None
    ) -> str: ...


# A street of shops near People's Square, Shanghai: cameras are spread along it, east to west. The names are
# Chinese first (the command room reads Chinese), English second for visitors.
_STREET = ("南京东路", "Nanjing Road East")
_DISTRICT = ("上海市黄浦区", "Huangpu, Shanghai")
_ORIGIN_LAT, _ORIGIN_LON = 31.2345, 121.4700
_STEP_LON = 0.00025  # about 24 m between shops
GRIDS = ("南京东路一网格", "南京东路二网格", "南京东路三网格", "南京东路四网格")
_SHOPS = (
    ("老王面馆", "Lao Wang Noodles"),
    ("小李水果", "Xiao Li Fruit"),
    ("金凤凰珠宝", "Golden Phoenix Jewellery"),
    ("欢乐家便利店", "Happy Family Mart"),
    ("红灯笼茶馆", "Red Lantern Tea House"),
    ("明星大药房", "Bright Star Pharmacy"),
    ("玉园饺子馆", "Jade Garden Dumplings"),
    ("朝阳手机维修", "Sunrise Mobile Repair"),
    ("双喜面包房", "Double Happiness Bakery"),
    ("春风理发店", "Spring Breeze Barber"),
    ("东海海鲜", "East Sea Seafood"),
    ("招财猫便利店", "Lucky Cat Convenience"),
)


def shop_names(index: int) -> tuple[str, str, str]:
    """Camera ``index``'s shop name, camera name prefix and address, Chinese first and English second."""
    zh, en = _SHOPS[(index - 1) % len(_SHOPS)]
    number = 100 + 2 * index
    address = f"{_DISTRICT[0]}{_STREET[0]}{number}号 ({number} {_STREET[1]}, {_DISTRICT[1]})"
    return f"{zh} {en}", f"{zh} #{index} {en}", address


@dataclass(frozen=True)
class FleetOptions:
    cameras: int
    walker_every: int = 5  # every N-th camera has a walker; 0: none
    seeds: int = 3  # distinct clips per kind
    clip_seconds: float = 20.0
    username: str | None = None  # every camera requires this login when set
    password: str | None = None
    scenes_dir: Path | None = None  # serve these scenario clips (``shopwatch sim scenes``) instead
    fps: int = 12  # frames per second of the generated clips (GOP 2 s); fewer let more cameras fit one host

    def __post_init__(self) -> None:
        if not 1 <= self.cameras <= 9999:
            raise ValueError(f"cameras must be 1-9999, found {self.cameras}")
        if self.walker_every < 0 or not 1 <= self.seeds <= 16:
            raise ValueError(
                f"expected walker_every >= 0 and 1 <= seeds <= 16, found {self.walker_every}, {self.seeds}"
            )
        if not 1 <= self.fps <= 30:
            raise ValueError(f"fps must be 1-30, found {self.fps}")


class SimFleet:
    """Which camera shows what, where its clip is, and how shopwatch should be configured to read it."""

    def __init__(self, options: FleetOptions, clips_dir: Path) -> None:
        self.options = options
        self.clips_dir = clips_dir
        width = max(2, len(str(options.cameras)))
        self.camera_ids = [f"cam-{i:0{width}d}" for i in range(1, options.cameras + 1)]
        self._indexes = {cam: i for i, cam in enumerate(self.camera_ids, start=1)}
        self._clips: dict[ClipSpec, Path] = {}
        self._scenes = sorted(options.scenes_dir.glob("*.mp4")) if options.scenes_dir is not None else []
        if options.scenes_dir is not None and not self._scenes:
            raise FileNotFoundError(f"expected scenario clips (*.mp4) in {options.scenes_dir}, found none")

    def kind_of(self, camera_id: str) -> ClipKind:
        index = self._index(camera_id)
        every = self.options.walker_every
        return "walker" if every and index % every == 0 else "static"

    def spec_of(self, camera_id: str) -> ClipSpec:
        seed = self._index(camera_id) % self.options.seeds
        fps = self.options.fps
        return ClipSpec(
            kind=self.kind_of(camera_id), fps=fps, gop=2 * fps, seconds=self.options.clip_seconds, seed=seed
        )

    def scene_of(self, camera_id: str) -> Path | None:
        """The scenario clip (MP4) the camera plays, or None for a generated shop front."""
        if not self._scenes:
            return None
        return self._scenes[(self._index(camera_id) - 1) % len(self._scenes)]

    def label_of(self, camera_id: str) -> str:
        """What the camera shows, for people: the scene's name or the clip kind."""
        scene = self.scene_of(camera_id)
        return f"scene {scene.stem}" if scene is not None else self.kind_of(camera_id)

    def clip_of(self, camera_id: str) -> Path:
        """The camera's clip, generated (or found in ``clips_dir``) on first use."""
        scene = self.scene_of(camera_id)
        if scene is not None:
            from shopwatch.sim.scenes.writer import annexb  # here: the scene package loads OpenCV

            return annexb(scene, self.clips_dir / "scenes" / f"{scene.stem}.h264")
        spec = self.spec_of(camera_id)
        if spec not in self._clips:
            self._clips[spec] = generate_clip(spec, self.clips_dir)
        return self._clips[spec]

    def mount(self, server: CameraServer) -> dict[str, str]:
        """Add every camera to a started server; returns camera id -> URL (without credentials)."""
        return {
            cam: server.add_camera(
                cam, self.clip_of(cam), username=self.options.username, password=self.options.password
            )
            for cam in self.camera_ids
        }

    def camera_config(self, camera_id: str, host: str, port: int) -> dict[str, Any]:
        """One entry of the ``cameras`` section, as plain data (see ``shopwatch.core.config.CameraConfig``)."""
        index = self._index(camera_id)
        shop, camera, address = shop_names(index)
        entry: dict[str, Any] = {
            "id": camera_id,
            "name": f"{camera} ({self.label_of(camera_id)})",
            "merchant": {"name": shop, "phone": f"+86 21 5550 {index:04d}"},
            "address": address,
            "grid": GRIDS[(index - 1) * len(GRIDS) // len(self.camera_ids)],
            "location": {
                # shops on both sides of the street, a few metres apart
                "lat": round(_ORIGIN_LAT + (0.00006 if index % 2 else -0.00006), 6),
                "lon": round(_ORIGIN_LON + index * _STEP_LON, 6),
            },
            "vendor": "generic",
            "host": host,
            "port": port,
            "streams": {"detect": f"rtsp://{host}:{port}/{camera_id}"},
        }
        if self.options.username:
            entry["credentials"] = {"username": self.options.username, "password": self.options.password or ""}
        return entry

    def settings_data(self, host: str, port: int) -> dict[str, Any]:
        """A config document with the ``cameras`` section only; merge other sections into it as needed."""
        return {"cameras": [self.camera_config(cam, host, port) for cam in self.camera_ids]}

    def write_config(self, path: Path, host: str, port: int) -> Path:
        """Write ``settings_data`` as YAML (atomically) to ``path``; it loads with ``load_settings``."""
        text = (
            f"# Simulated camera fleet: {len(self.camera_ids)} cameras on rtsp://{host}:{port}/\n"
            "# Written by `shopwatch sim`; regenerate rather than edit.\n"
        )
        text += yaml.safe_dump(self.settings_data(host, port), sort_keys=False, allow_unicode=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def _index(self, camera_id: str) -> int:
        try:
            return self._indexes[camera_id]
        except KeyError:
            raise KeyError(
                f"expected a camera id {self.camera_ids[0]}..{self.camera_ids[-1]}, found {camera_id!r}"
            ) from None

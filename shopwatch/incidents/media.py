"""An event's pictures and clip as files under the data dir: ``events/<day>/<event id>/<name>.jpg`` and
``clip.mp4``. The database holds the paths relative to the data dir, so the directory can move.

Blocking file work: call it from a thread."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from shopwatch.core.events import Event

EVENTS_DIR = "events"


@dataclass(frozen=True, slots=True)
class StoredMedia:
    snapshots: dict[str, str]  # name -> path relative to the data dir
    clip: str | None
    size_bytes: int


class MediaStore:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()

    def event_dir(self, event_id: str, start: datetime) -> Path:
        return self.data_dir / EVENTS_DIR / start.astimezone(UTC).strftime("%Y-%m-%d") / event_id

    def save(self, event: Event) -> StoredMedia:
        """Write the snapshots and move the clip (cut by ingest under the data dir) next to them. A clip that
        is gone already (a worker restarted) is recorded as missing, not an error."""
        folder = self.event_dir(event.id, datetime.fromtimestamp(event.start, UTC))
        folder.mkdir(parents=True, exist_ok=True)
        snapshots: dict[str, str] = {}
        size = 0
        for name, jpeg in sorted(event.snapshots.items()):
            if not name.isidentifier():
                continue  # names come from the rules ("actor", "before", "after"); never a path
            path = folder / f"{name}.jpg"
            path.write_bytes(jpeg)
            snapshots[name] = self._relative(path)
            size += len(jpeg)
        clip: str | None = None
        if event.clip_path:
            source = Path(event.clip_path)
            if source.is_file():
                target = folder / f"clip{source.suffix or '.mp4'}"
                shutil.move(source, target)
                clip = self._relative(target)
                size += target.stat().st_size
        return StoredMedia(snapshots, clip, size)

    def path(self, relative: str) -> Path:
        """The file for a stored relative path; refuses anything that leaves the events directory."""
        path = (self.data_dir / relative).resolve()
        if not path.is_relative_to(self.data_dir / EVENTS_DIR):
            raise ValueError(f"expected a path under {EVENTS_DIR}/, found {relative!r}")
        return path

    def remove(self, event_id: str, start: datetime) -> None:
        shutil.rmtree(self.event_dir(event_id, start), ignore_errors=True)

    def _relative(self, path: Path) -> str:
        return path.relative_to(self.data_dir).as_posix()

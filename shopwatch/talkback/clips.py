"""The clip library: recorded warnings uploaded once, decoded ahead of time so playback starts at once.

An upload (WAV, MP3, AAC, OGG, anything FFmpeg reads) is decoded and resampled to 8 kHz mono PCM16 when it
arrives, in a thread; both the file as uploaded and the prepared PCM are kept under
``<data_dir>/talkback/clips`` (``<id>.orig`` and ``<id>.pcm``), the catalogue (name, duration, checksum) in the
database. Playing a clip is then one file read: no decoder on the path to the first packet."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath, PureWindowsPath

from shopwatch.core.clock import Clock
from shopwatch.core.errors import Invalid, NotFound
from shopwatch.store.talkback import ClipRecord, TalkbackRepository
from shopwatch.talkback.audio import duration_s, pcm_from_file
from shopwatch.talkback.errors import AudioDecodeError

log = logging.getLogger(__name__)

NAME_MAX = 100
_ID_RE = re.compile(r"^[0-9a-f]{16}$")  # ids are ours; anything else never reaches the file system


class ClipRejected(Invalid):
    """An upload that cannot become a clip: empty, too large, too long, not audio."""


class UnknownClip(NotFound, KeyError):
    def __init__(self, clip_id: str) -> None:
        super().__init__(clip_id)
        self.clip_id = clip_id

    def __str__(self) -> str:
        return f"clip {self.clip_id!r} is not in the library"


def clean_filename(filename: str) -> str:
    """The last path component of a client-supplied name (either separator), bounded; "" if none."""
    base = PureWindowsPath(PurePosixPath(filename).name).name
    return base.strip()[:255]


class ClipLibrary:
    def __init__(
        self,
        directory: Path,
        store: TalkbackRepository,
        clock: Clock,
        *,
        max_bytes: int,
        max_seconds: float,
    ) -> None:
        self.directory = directory
        self._store = store
        self._clock = clock
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds

    async def add(self, name: str, filename: str, data: bytes, user: str) -> ClipRecord:
        """Decode and store an uploaded file; ``ClipRejected`` says why one cannot be used."""
        name = name.strip()
        if not 1 <= len(name) <= NAME_MAX:
            raise ClipRejected(f"expected a clip name of 1 to {NAME_MAX} characters, found {len(name)}")
        if not data:
            raise ClipRejected("expected an audio file, found an empty upload")
        if len(data) > self.max_bytes:
            raise ClipRejected(f"expected at most {self.max_bytes} bytes, found {len(data)}")
        clip_id = uuid.uuid4().hex[:16]
        filename = clean_filename(filename) or f"{clip_id}.audio"
        try:
            pcm = await asyncio.to_thread(self._store_files, clip_id, data)
        except AudioDecodeError as exc:
            raise ClipRejected(f"{filename!r}: {exc}") from None
        record = ClipRecord(
            id=clip_id,
            name=name,
            filename=filename,
            duration_s=round(duration_s(pcm), 3),
            checksum=hashlib.sha256(data).hexdigest(),
            size_bytes=len(data),
            created_at=datetime.fromtimestamp(self._clock.wall(), UTC),
            created_by=user,
        )
        try:
            await asyncio.to_thread(self._store.add_clip, record)
        except BaseException:
            await asyncio.to_thread(self._remove_files, clip_id)
            raise
        log.info("clip %s %r added by %s: %.1f s", clip_id, name, user, record.duration_s)
        return record

    def _store_files(self, clip_id: str, data: bytes) -> bytes:
        self.directory.mkdir(parents=True, exist_ok=True)
        original = self.directory / f"{clip_id}.orig"
        original.write_bytes(data)
        try:
            pcm = pcm_from_file(original, max_seconds=self.max_seconds)
            tmp = self.directory / f"{clip_id}.tmp"
            tmp.write_bytes(pcm)
            tmp.replace(self.directory / f"{clip_id}.pcm")
        except BaseException:
            original.unlink(missing_ok=True)
            raise
        return pcm

    def _remove_files(self, clip_id: str) -> None:
        for suffix in (".orig", ".pcm", ".tmp"):
            (self.directory / f"{clip_id}{suffix}").unlink(missing_ok=True)

    async def get(self, clip_id: str) -> ClipRecord:
        record = await asyncio.to_thread(self._store.clip, clip_id)
        if record is None:
            raise UnknownClip(clip_id)
        return record

    async def list(self) -> list[ClipRecord]:
        return await asyncio.to_thread(self._store.clips)

    async def rename(self, clip_id: str, name: str) -> ClipRecord:
        name = name.strip()
        if not 1 <= len(name) <= NAME_MAX:
            raise ClipRejected(f"expected a clip name of 1 to {NAME_MAX} characters, found {len(name)}")
        record = await asyncio.to_thread(self._store.rename_clip, clip_id, name)
        if record is None:
            raise UnknownClip(clip_id)
        return record

    async def delete(self, clip_id: str) -> None:
        if not await asyncio.to_thread(self._store.delete_clip, clip_id):
            raise UnknownClip(clip_id)
        await asyncio.to_thread(self._remove_files, clip_id)

    async def pcm(self, clip_id: str) -> bytes:
        """The prepared 8 kHz PCM16 of a clip (``UnknownClip`` if it is not in the library)."""
        if not _ID_RE.match(clip_id):
            raise UnknownClip(clip_id)
        try:
            return await asyncio.to_thread((self.directory / f"{clip_id}.pcm").read_bytes)
        except FileNotFoundError:
            raise UnknownClip(clip_id) from None

    async def original(self, clip_id: str) -> tuple[ClipRecord, bytes]:
        """The catalogue entry and the file as it was uploaded."""
        record = await self.get(clip_id)
        if not _ID_RE.match(clip_id):
            raise UnknownClip(clip_id)
        try:
            return record, await asyncio.to_thread((self.directory / f"{clip_id}.orig").read_bytes)
        except FileNotFoundError:
            raise UnknownClip(clip_id) from None

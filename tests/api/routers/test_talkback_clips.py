"""/api/talkback/clips: upload any common audio file, list, rename, download, delete; bad uploads refused."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from shopwatch.core.principal import Role
from shopwatch.talkback import audio
from tests.talkback.spectrum import peak_hz
from tests.talkback.test_audio import write_tone_file

from .talkback_env import TalkEnv, wav_tone

FORMATS = [
    ("warning.wav", "wav", "pcm_s16le", 44100, "stereo"),
    ("warning.mp3", "mp3", "libmp3lame", 48000, "stereo"),
    ("warning.m4a", "ipod", "aac", 44100, "mono"),
    ("warning.ogg", "ogg", "libopus", 48000, "mono"),
]



@pytest.fixture(autouse=True)
def _as_admin(env: TalkEnv) -> None:
    """Managing the clip library is an admin's job: these tests sign in as one."""
    env.client.headers.update(env.auth.headers("admin"))


@pytest.mark.parametrize(("name", "fmt", "codec", "rate", "layout"), FORMATS)
async def test_common_audio_files_become_clips_prepared_for_playback(
    env: TalkEnv, tmp_path: Path, name: str, fmt: str, codec: str, rate: int, layout: str
) -> None:
    data = write_tone_file(tmp_path / name, fmt, codec, rate, layout, seconds=1.5, hz=440).read_bytes()
    response = await env.client.post(
        "/api/talkback/clips",
        params={"name": "请勿张贴", "filename": f"C:\\Users\\op\\{name}"},
        content=data,
        headers=env.auth.headers("alice", Role.ADMIN),
    )

    assert response.status_code == 201, response.text
    clip = response.json()
    assert (clip["name"], clip["filename"], clip["created_by"], clip["size_bytes"]) == (
        "请勿张贴", name, "alice", len(data)
    )
    assert clip["checksum"] == hashlib.sha256(data).hexdigest()
    assert clip["duration_s"] == pytest.approx(1.5, abs=0.06)
    pcm = await env.service.library.pcm(clip["id"])  # prepared ahead: 8 kHz PCM on disk
    assert peak_hz(pcm) == pytest.approx(440, abs=5)
    assert audio.duration_s(pcm) == pytest.approx(clip["duration_s"], abs=0.001)

    downloaded = await env.client.get(f"/api/talkback/clips/{clip['id']}/file")
    assert downloaded.content == data
    assert downloaded.headers["content-disposition"] == f'attachment; filename="{name}"'


async def test_list_rename_delete(env: TalkEnv) -> None:
    first, second = await env.upload(0.2, "b-closing"), await env.upload(0.2, "a-warning")
    listed = (await env.client.get("/api/talkback/clips")).json()
    assert [c["id"] for c in listed] == [second, first]

    renamed = await env.client.patch(f"/api/talkback/clips/{first}", json={"name": "0-first"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "0-first"
    assert (await env.client.get(f"/api/talkback/clips/{first}")).json()["name"] == "0-first"
    assert (await env.client.delete(f"/api/talkback/clips/{first}")).status_code == 204
    assert (await env.client.get(f"/api/talkback/clips/{first}")).status_code == 404
    assert (await env.client.delete(f"/api/talkback/clips/{first}")).status_code == 404
    assert (await env.play_clip("cam-0002", first)).status_code == 404
    assert [c["id"] for c in (await env.client.get("/api/talkback/clips")).json()] == [second]
    assert (await env.client.patch("/api/talkback/clips/nope", json={"name": "x"})).status_code == 404


@pytest.mark.parametrize(
    ("content", "params", "status", "detail"),
    [
        (b"", {"name": "x"}, 422, "expected an audio file, found an empty upload"),
        (b"this is not audio at all" * 10, {"name": "x", "filename": "notes.txt"}, 422, "'notes.txt': "),
        (b"RIFF", {}, 422, None),  # no name
    ],
)
async def test_bad_uploads_say_why(
    env: TalkEnv, content: bytes, params: dict[str, str], status: int, detail: str | None
) -> None:
    response = await env.client.post("/api/talkback/clips", params=params, content=content)
    assert response.status_code == status
    if detail is not None:
        assert str(response.json()["detail"]).startswith(detail)
    assert (await env.client.get("/api/talkback/clips")).json() == []
    assert not any(p.suffix == ".orig" for p in env.service.library.directory.glob("*"))


async def test_too_large_and_too_long_uploads_are_refused(env: TalkEnv) -> None:
    env.service.library.max_bytes = 10_000
    too_large = await env.client.post("/api/talkback/clips", params={"name": "x"}, content=bytes(10_001))
    assert too_large.status_code == 413
    assert too_large.json() == {"detail": "expected at most 10000 bytes", "kind": "too_large"}  # the one handler's
    env.service.library.max_bytes = 10_000_000
    env.service.library.max_seconds = 1.0
    too_long = await env.client.post(
        "/api/talkback/clips", params={"name": "x", "filename": "long.wav"}, content=wav_tone(440, 2.0)
    )
    assert too_long.status_code == 422
    assert "longer than the 1 s allowed" in too_long.json()["detail"]

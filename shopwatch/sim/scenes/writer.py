"""Write one scene: ``NAME.mp4`` (H.264 like a camera substream), ``NAME.camera.yaml`` (zones and rules) and
``NAME.json`` (ground truth), each atomically (temporary file, then rename), so a reader never sees half a clip.

The MP4 is encoded with the simulated cameras' x264 settings (``shopwatch.sim.clips.x264_options``: fixed GOP,
no B-frames, one thread) at the scene's CRF and muxed with FFmpeg's ``bitexact`` flags, so the same seed gives
the same bytes.
``annexb`` remuxes a clip (no re-encode) into the raw H.264 the simulated RTSP server loops.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import yaml
from av.codec.context import Flags

from shopwatch.sim.clips import x264_options
from shopwatch.sim.scenes import truth
from shopwatch.sim.scenes.render import FPS, Drawn, Scene, render

GOP = 2 * FPS


def write_scene(scene: Scene, seed: int, out_dir: Path) -> Path:
    """Render, encode and describe ``scene``; returns the JSON path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tracks: truth.Tracks = []
    _atomic(out_dir / f"{scene.name}.mp4", lambda tmp: _encode(scene, seed, tmp, tracks))
    camera = {"zones": scene.front.zones(), "rules": scene.rules}
    camera_text = f"# Zones and rules of scenario clip {scene.name} (shopwatch sim scenes).\n"
    camera_text += yaml.safe_dump(camera, sort_keys=False, default_flow_style=None, width=200)
    _atomic(out_dir / f"{scene.name}.camera.yaml", lambda tmp: tmp.write_text(camera_text, encoding="utf-8"))
    document = truth.ground_truth(scene, seed, tracks)
    json_path = out_dir / f"{scene.name}.json"
    _atomic(json_path, lambda tmp: tmp.write_text(_dumps(document), encoding="utf-8"))
    return json_path


def _dumps(document: dict[str, Any]) -> str:
    """Indented JSON with each box on one line: readable, and diffable between seeds."""
    actors = document.pop("actors")
    text = json.dumps(document, indent=1)
    rows = ",\n".join(json.dumps(actor, separators=(",", ":")) for actor in actors)
    return text[:-2] + ',\n "actors": [\n' + rows + "\n ]\n}\n"


def _encode(scene: Scene, seed: int, path: Path, tracks: list[list[Drawn | None]]) -> None:
    with av.open(str(path), mode="w", format="mp4", options={"fflags": "+bitexact"}) as container:
        stream = container.add_stream("libx264", rate=FPS, options={**x264_options(GOP), "crf": str(scene.crf)})
        stream.width, stream.height = 640, 360
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = GOP
        stream.codec_context.max_b_frames = 0
        stream.codec_context.flags |= Flags.bitexact
        for pts, (rgb, drawn) in enumerate(render(scene, seed)):
            tracks.append(drawn)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
            frame.pts = pts
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def annexb(mp4: Path, target: Path) -> Path:
    """``mp4`` remuxed to raw H.264 (Annex B, SPS/PPS before every keyframe) at ``target``, if not there yet."""
    if target.exists() and target.stat().st_mtime_ns >= mp4.stat().st_mtime_ns:
        return target

    def remux(tmp: Path) -> None:
        with av.open(str(mp4)) as source, av.open(str(tmp), mode="w", format="h264") as sink:
            video = source.streams.video[0]
            out = sink.add_stream_from_template(video)
            for packet in source.demux(video):
                if packet.dts is None:
                    continue
                packet.stream = out
                sink.mux(packet)

    target.parent.mkdir(parents=True, exist_ok=True)
    _atomic(target, remux)
    return target


def _atomic(target: Path, write: Callable[[Path], object]) -> None:
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=target.suffix)
    os.close(fd)
    try:
        write(Path(name))
        os.replace(name, target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise

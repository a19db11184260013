"""Ground truth of a rendered scene: the events its camera's rules must report, and every person's box.

Events follow from what was drawn, through the rules' own definitions, so the truth cannot drift from the
pictures:

- ``card_posting``: one per visit that leaves cards (a run of standing and reaching between two walks).
  ``start_s``/``end_s``: the actor stops at the facade / turns to walk on. ``box``: the actor when the first
  card is put up. ``patches``: each card left, as drawn.
- ``loitering``: a run of frames with the person's feet (bottom centre of the box) inside a rule zone lasting
  at least ``dwell_s``; ``start_s``/``end_s`` span the run, ``box`` is the person when the dwell is reached.
- ``intrusion``: a run of frames with the feet inside a rule zone while the camera's local time is within
  ``hours``; ``box`` is the person one second into the run (or at its end if shorter).

``actors`` lists, per person, the frame range they are drawn in and a box per frame (null where out of the
picture) with ``inside``: the whole figure is in the picture (a detector can be expected to see it).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from shopwatch.sim.scenes import script
from shopwatch.sim.scenes.render import FPS, Drawn, Scene
from shopwatch.sim.scenes.shopfront import HEIGHT, WIDTH, Box

Tracks = list[list[Drawn | None]]  # [frame][actor]


def norm(box: tuple[float, float, float, float] | Box) -> list[float]:
    x0, y0, x1, y1 = box
    return [round(x0 / WIDTH, 4), round(y0 / HEIGHT, 4), round(x1 / WIDTH, 4), round(y1 / HEIGHT, 4)]


def ground_truth(scene: Scene, seed: int, tracks: Tracks) -> dict[str, Any]:
    events: list[dict[str, Any]] = []
    rules = scene.rules
    plans = [script.plan(actor, scene.front.view) for actor in scene.actors]
    if "card_posting" in rules:
        events += _card_posting(plans, tracks)
    if "loitering" in rules:
        rule = rules["loitering"]
        dwell = float(rule["dwell_s"])  # type: ignore[arg-type]
        for actor, run in _runs(scene, tracks, rule["zones"]):  # type: ignore[arg-type]
            if (run[-1] + 1 - run[0]) / FPS >= dwell:
                at = run[0] + round(dwell * FPS) - 1
                events.append(_event("loitering", run, tracks[at][actor]))
    if "intrusion" in rules:
        rule = rules["intrusion"]
        start, end = _hours(str(rule["hours"]))
        for actor, run in _runs(scene, tracks, rule["zones"]):  # type: ignore[arg-type]
            after_hours = [f for f in run if _within(_clock(scene, f), start, end)]
            for sub in _split(after_hours):
                events.append(_event("intrusion", sub, tracks[sub[min(len(sub) - 1, FPS)]][actor]))
    events.sort(key=lambda e: (e["start_s"], e["type"]))
    return {
        "name": scene.name,
        "seed": seed,
        "fps": FPS,
        "width": WIDTH,
        "height": HEIGHT,
        "duration_s": scene.seconds,
        "crf": scene.crf,
        "start_time": scene.start_time.isoformat(timespec="seconds"),
        "tags": list(scene.tags),
        "events": events,
        "actors": _actors(tracks, len(scene.actors)),
    }


def _card_posting(plans: list[script.Plan], tracks: Tracks) -> list[dict[str, Any]]:
    events = []
    for index, p in enumerate(plans):
        for start_s, end_s, left in script.visits(p):
            frame = min(len(tracks) - 1, int(left[0][0] * FPS))
            drawn = tracks[frame][index]
            assert drawn is not None, f"actor {index} is not in the picture when posting at {left[0][0]:.2f} s"
            events.append(
                {
                    "type": "card_posting",
                    "start_s": round(start_s, 2),
                    "end_s": round(end_s, 2),
                    "box": norm(drawn.box),
                    "patches": [norm(item.box) for _, item in left],
                }
            )
    return events


def _event(kind: str, run: list[int], drawn: Drawn | None) -> dict[str, Any]:
    assert drawn is not None
    return {
        "type": kind,
        "start_s": round(run[0] / FPS, 2),
        "end_s": round((run[-1] + 1) / FPS, 2),
        "box": norm(drawn.box),
    }


def feet(drawn: Drawn) -> tuple[float, float]:
    x0, _, x1, y1 = drawn.box
    return ((x0 + x1) / 2 / WIDTH, y1 / HEIGHT)


def zone_polygons(scene: Scene, names: list[str]) -> list[list[list[float]]]:
    polygons = {str(z["name"]): z["polygon"] for z in scene.front.zones()}
    return [polygons[name] for name in names]  # type: ignore[misc]


def inside_polygon(point: tuple[float, float], polygon: list[list[float]]) -> bool:
    """Even-odd rule; points on an edge count as inside for the rectangles used here."""
    x, y = point
    result = False
    for (x0, y0), (x1, y1) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            result = not result
    return result


def _runs(scene: Scene, tracks: Tracks, zones: list[str]) -> list[tuple[int, list[int]]]:
    """(actor, frames) for each run of consecutive frames with the actor's feet inside one of ``zones``."""
    polygons = zone_polygons(scene, zones)
    out: list[tuple[int, list[int]]] = []
    for actor in range(len(scene.actors)):
        frames = [
            f
            for f, row in enumerate(tracks)
            if (drawn := row[actor]) is not None and any(inside_polygon(feet(drawn), p) for p in polygons)
        ]
        out += [(actor, run) for run in _split(frames)]
    return out


def _split(frames: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for f in frames:
        if runs and f == runs[-1][-1] + 1:
            runs[-1].append(f)
        else:
            runs.append([f])
    return runs


def _hours(text: str) -> tuple[time, time]:
    start, end = text.split("-")
    return time.fromisoformat(start), time.fromisoformat(end)


def _within(now: time, start: time, end: time) -> bool:
    return start <= now < end if start <= end else now >= start or now < end


def _clock(scene: Scene, frame: int) -> time:
    moment: datetime = scene.start_time + timedelta(seconds=frame / FPS)
    return moment.time()


def _actors(tracks: Tracks, count: int) -> list[dict[str, Any]]:
    out = []
    for actor in range(count):
        frames = [f for f, row in enumerate(tracks) if row[actor] is not None]
        if not frames:
            continue
        first, last = frames[0], frames[-1]
        rows = [tracks[f][actor] for f in range(first, last + 1)]
        out.append(
            {
                "id": actor,
                "first_frame": first,
                "boxes": [None if d is None else norm(d.box) for d in rows],
                "inside": [d is not None and d.inside for d in rows],
            }
        )
    return out

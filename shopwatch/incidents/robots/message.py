"""The Chinese text of a robot message, from the alert payloads of the deliveries it carries (pure).

One delivery: a title with the type and the shop, then the address and grid, the time (the station's zone,
24 h), the picture (a signed link) and a link to the console. Several (a burst merged into a digest): one
line each with the same facts, as many as fit the robot's size limit; the rest go in the next message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from shopwatch.incidents.robots.wire import Message, TextRun, markdown

TYPE_NAMES = {"card_posting": "贴卡", "loitering": "徘徊", "intrusion": "闯入"}
REASON_NAMES = {"alert": "告警", "escalation": "升级告警"}


@dataclass(frozen=True, slots=True)
class Style:
    zone: ZoneInfo
    console_url: str  # e.g. https://shopwatch.example (the console is at /console/)

    def local_time(self, iso_time: str, with_date: bool = True) -> str:
        moment = datetime.fromisoformat(iso_time.replace("Z", "+00:00")).astimezone(self.zone)
        return moment.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%m-%d %H:%M:%S")

    def console_link(self, event_id: str) -> str:
        return f"{self.console_url.rstrip('/')}/console/?event={event_id}"


def type_name(payload: dict[str, Any]) -> str:
    kind = str(payload.get("type", ""))
    return TYPE_NAMES.get(kind, kind)


def shop(payload: dict[str, Any]) -> str:
    merchant = payload.get("merchant") or {}
    camera = payload.get("camera") or {}
    return str(merchant.get("name") or camera.get("name") or camera.get("id") or "未知摄像头")


def _picture(payload: dict[str, Any]) -> str | None:
    snapshots = payload.get("snapshots") or {}
    if not snapshots:
        return None
    return str(snapshots.get("actor") or next(iter(snapshots.values())))


def single(payload: dict[str, Any], style: Style) -> Message:
    reason = REASON_NAMES.get(str(payload.get("reason")), "告警")
    lines: list[tuple[TextRun, ...]] = [
        (TextRun(f"地址：{payload.get('address') or '未登记'}（网格 {payload.get('grid', '')}）"),),
        (TextRun(f"时间：{style.local_time(str(payload['time']))}"),),
    ]
    if (payload.get("incident") or {}).get("text"):
        lines.append((TextRun(f"关联：{payload['incident']['text']}"),))
    links = [TextRun("打开控制台", style.console_link(str(payload["event_id"])))]
    picture = _picture(payload)
    if picture:
        links.insert(0, TextRun("查看图片", picture))
        links.insert(1, TextRun(" · "))
    lines.append(tuple(links))
    return Message(f"【{type_name(payload)}{reason}】{shop(payload)}", tuple(lines))


def digest_line(index: int, payload: dict[str, Any], style: Style) -> tuple[TextRun, ...]:
    spans = [
        TextRun(f"{index}. {style.local_time(str(payload['time']), with_date=False)} {type_name(payload)} · "
             f"{shop(payload)} · {payload.get('address') or '未登记'}（{payload.get('grid', '')}） "),
    ]  # fmt: skip
    picture = _picture(payload)
    if picture:
        spans += [TextRun("图片", picture), TextRun(" ")]
    spans.append(TextRun("控制台", style.console_link(str(payload["event_id"]))))
    return tuple(spans)


def pack(payloads: Sequence[dict[str, Any]], style: Style, limit_bytes: int) -> tuple[Message, int]:
    """The message for as many of ``payloads`` (in order, at least one) as fit ``limit_bytes``, and how many."""
    if len(payloads) == 1:
        return single(payloads[0], style), 1
    lines: list[tuple[TextRun, ...]] = []
    taken = 0
    for i, payload in enumerate(payloads):
        candidate = Message(_digest_title(payloads[: i + 1]), (*lines, digest_line(i + 1, payload, style)))
        if taken and len(markdown(candidate).encode()) > limit_bytes:
            break
        lines.append(digest_line(i + 1, payload, style))
        taken = i + 1
    if taken == 1:
        return single(payloads[0], style), 1
    return Message(_digest_title(payloads[:taken]), tuple(lines)), taken


def _digest_title(payloads: Sequence[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for p in payloads:
        counts[type_name(p)] = counts.get(type_name(p), 0) + 1
    parts = "，".join(f"{name} {n} 条" for name, n in counts.items())
    return f"【告警汇总】{len(payloads)} 条（{parts}）"

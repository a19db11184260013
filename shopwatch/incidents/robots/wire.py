"""The three group robots' requests and answers, as bytes and values (no I/O).

- WeCom (企业微信群机器人, developer.work.weixin.qq.com/document/path/91770): ``POST <url>?key=<key>`` with
  ``{"msgtype": "markdown", "markdown": {"content": ...}}`` (content ≤ 4096 bytes) or ``{"msgtype": "image",
  "image": {"base64": ..., "md5": <hex md5 of the picture before base64>}}`` (≤ 2 MB, JPG/PNG). No signature:
  the key in the URL is the secret.
- DingTalk (钉钉自定义机器人, open.dingtalk.com "自定义机器人安全设置" 加签): ``POST
  <url>?access_token=<token>&timestamp=<ms>&sign=<urlencode(base64(HMAC-SHA256(secret, "<ms>\\n<secret>")))>``
  with ``{"msgtype": "markdown", "markdown": {"title": ..., "text": ...}}``; the timestamp must be within an hour.
- Feishu/Lark (飞书自定义机器人, open.feishu.cn "自定义机器人使用指南" 签名校验): ``POST <url>/<token>`` with
  ``{"timestamp": "<s>", "sign": base64(HMAC-SHA256(key="<s>\\n<secret>", msg=b"")), "msg_type": "post",
  "content": {"post": {"zh_cn": {"title": ..., "content": [[{"tag": "text"|"a", ...}]]}}}}``.

All three answer HTTP 200 with an error code in the JSON body when they refuse (WeCom/DingTalk ``errcode``,
e.g. 45009 / 130101 for too many messages; Feishu ``code``, e.g. 11232 / 9499): that is a failed delivery."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from shopwatch.core.community_config import RobotKind

# Bytes of message text each robot takes (WeCom's markdown content is limited to 4096 bytes; DingTalk and Feishu
# refuse request bodies past about 20 KB): a digest is cut to fit.
TEXT_LIMIT = {RobotKind.WECOM: 4000, RobotKind.DINGTALK: 16_000, RobotKind.FEISHU: 16_000}
IMAGE_LIMIT = 2 * 1024 * 1024  # WeCom: a picture of at most 2 MB before base64
IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")  # WeCom: JPEG or PNG
# Error codes that mean "too many messages": the robot's minute is used up.
RATE_LIMITED = {RobotKind.WECOM: {45009}, RobotKind.DINGTALK: {130101}, RobotKind.FEISHU: {9499, 11232}}


@dataclass(frozen=True, slots=True)
class TextRun:
    text: str
    href: str | None = None


@dataclass(frozen=True, slots=True)
class Message:
    """What a robot shows: a title and lines of text and links (each vendor renders it its own way)."""

    title: str
    lines: tuple[tuple[TextRun, ...], ...]


@dataclass(frozen=True, slots=True)
class RobotRequest:
    url: str  # carries the key or token: never logged, never stored
    body: bytes


def _json(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def markdown(message: Message) -> str:
    def span(s: TextRun) -> str:
        return f"[{s.text}]({s.href})" if s.href else s.text

    return "\n".join([f"### {message.title}", *("".join(span(s) for s in line) for line in message.lines)])


def wecom_request(url: str, key: str, message: Message) -> RobotRequest:
    body = {"msgtype": "markdown", "markdown": {"content": markdown(message)}}
    return RobotRequest(f"{url}?{urlencode({'key': key})}", _json(body))


def wecom_image(url: str, key: str, picture: bytes) -> RobotRequest:
    """A picture message: the JPEG/PNG itself, base64, with the MD5 of the bytes before encoding."""
    if len(picture) > IMAGE_LIMIT:
        raise ValueError(f"expected a picture of at most {IMAGE_LIMIT} bytes for WeCom, found {len(picture)}")
    if not picture.startswith(IMAGE_MAGIC):
        raise ValueError(f"expected a JPEG or PNG picture for WeCom, found one starting {picture[:8]!r}")
    md5 = hashlib.md5(picture, usedforsecurity=False).hexdigest()  # WeCom's integrity check, not security
    image = {"base64": base64.b64encode(picture).decode(), "md5": md5}
    return RobotRequest(f"{url}?{urlencode({'key': key})}", _json({"msgtype": "image", "image": image}))


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """base64(HMAC-SHA256(key=secret, msg="<timestamp>\\n<secret>")); URL-encoded when put in the query."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def dingtalk_request(url: str, token: str, secret: str, timestamp_ms: int, message: Message) -> RobotRequest:
    query: dict[str, str | int] = {"access_token": token}
    if secret:
        query |= {"timestamp": timestamp_ms, "sign": dingtalk_sign(secret, timestamp_ms)}
    body = {"msgtype": "markdown", "markdown": {"title": message.title, "text": markdown(message)}}
    return RobotRequest(f"{url}?{urlencode(query)}", _json(body))


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """base64(HMAC-SHA256(key="<timestamp>\\n<secret>", msg=b"")): Feishu's key is the string, the message empty."""
    return base64.b64encode(hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()).decode()


def feishu_request(url: str, token: str, secret: str, timestamp_s: int, message: Message) -> RobotRequest:
    def element(s: TextRun) -> dict[str, str]:
        return {"tag": "a", "text": s.text, "href": s.href} if s.href else {"tag": "text", "text": s.text}

    post = {"zh_cn": {"title": message.title, "content": [[element(s) for s in line] for line in message.lines]}}
    body: dict[str, Any] = {"msg_type": "post", "content": {"post": post}}
    if secret:
        body = {"timestamp": str(timestamp_s), "sign": feishu_sign(secret, timestamp_s), **body}
    return RobotRequest(f"{url.rstrip('/')}/{quote(token, safe='')}", _json(body))


@dataclass(frozen=True, slots=True)
class RobotAnswer:
    ok: bool
    code: int | None  # the vendor's error code, when it sent one
    detail: str
    rate_limited: bool = False


def parse_answer(kind: RobotKind, body: bytes) -> RobotAnswer:
    """What an HTTP 200 answer says: ``ok`` only with an error code of 0."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return RobotAnswer(False, None, f"expected a JSON answer, found {body[:80]!r}")
    if not isinstance(doc, dict):
        return RobotAnswer(False, None, f"expected a JSON object, found {type(doc).__name__}")
    if kind is RobotKind.FEISHU:  # newer answers say "code"/"msg", older ones "StatusCode"/"StatusMessage"
        code, text = doc.get("code", doc.get("StatusCode")), doc.get("msg", doc.get("StatusMessage", ""))
    else:
        code, text = doc.get("errcode"), doc.get("errmsg", "")
    if not isinstance(code, int):
        return RobotAnswer(False, None, f"expected an error code in the answer, found {str(doc)[:80]!r}")
    if code == 0:
        return RobotAnswer(True, 0, "")
    return RobotAnswer(False, code, f"errcode {code}: {str(text)[:120]}", code in RATE_LIMITED[kind])

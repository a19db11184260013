"""Fake group-chat robot servers on loopback, one per vendor, each checking the request as the vendor documents
it and answering as the vendor does (HTTP 200 with an error code in the body). The signatures are recomputed
here from the vendors' documented recipes, independently of shopwatch's code:

- WeCom (developer.work.weixin.qq.com/document/path/91770): ``?key=`` must be the robot's key; ``msgtype``
  text/markdown/image; markdown content at most 4096 bytes; an image's md5 is of the bytes before base64.
- DingTalk (open.dingtalk.com, 自定义机器人 加签): ``?access_token=&timestamp=<ms>&sign=`` where sign is
  urlencode(base64(HMAC-SHA256(secret, "<ms>\\n<secret>"))), the timestamp within an hour of the server's clock;
  markdown needs ``title`` and ``text``. Errors: 310000 (sign), 130101 (too fast).
- Feishu (open.feishu.cn, 自定义机器人 签名校验): body ``timestamp`` (seconds) and ``sign`` =
  base64(HMAC-SHA256(key="<ts>\\n<secret>", msg="")), within an hour; ``msg_type`` post. Errors: 19021 (sign),
  11232 (too fast)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.incidents.peers import free_port

EVENT_ID = re.compile(r"\?event=([\w-]+)")


@dataclass
class Received:
    kind: str
    at: float  # the server's clock when it came
    doc: dict[str, Any]

    @property
    def text(self) -> str:
        return json.dumps(self.doc, ensure_ascii=False)

    @property
    def event_ids(self) -> list[str]:
        return EVENT_ID.findall(self.text)


@dataclass
class RobotServers:
    """One aiohttp server with the three vendors' paths; ``refuse`` holds error codes to answer next."""

    key: str
    secret: str
    now: Callable[[], float]
    received: list[Received] = field(default_factory=list)
    refused: list[tuple[str, int]] = field(default_factory=list)
    refuse: list[int] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/cgi-bin/webhook/send", self._wecom)
        app.router.add_post("/robot/send", self._dingtalk)
        app.router.add_post("/open-apis/bot/v2/hook/{token}", self._feishu)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        self.port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _answer(self, kind: str, doc: dict[str, Any], code: int, ok_shape: dict[str, Any]) -> web.Response:
        if code == 0 and self.refuse:
            code = self.refuse.pop(0)
        if code != 0:
            self.refused.append((kind, code))
            key = "code" if kind == "feishu" else "errcode"
            return web.json_response({key: code, ("msg" if kind == "feishu" else "errmsg"): "refused"})
        self.received.append(Received(kind, self.now(), doc))
        return web.json_response(ok_shape)

    async def _wecom(self, request: web.Request) -> web.Response:
        ok = {"errcode": 0, "errmsg": "ok"}
        if request.query.get("key") != self.key:
            return web.json_response({"errcode": 93000, "errmsg": "invalid webhook url"})
        doc = await request.json()
        code = 0
        if doc.get("msgtype") == "markdown":
            if len(doc["markdown"]["content"].encode()) > 4096:
                code = 40058
        elif doc.get("msgtype") == "image":
            raw = base64.b64decode(doc["image"]["base64"])
            if hashlib.md5(raw).hexdigest() != doc["image"]["md5"] or len(raw) > 2 * 1024 * 1024:
                code = 40009
        elif doc.get("msgtype") != "text":
            code = 40008
        return self._answer("wecom", doc, code, ok)

    async def _dingtalk(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("access_token") != self.key:
            return web.json_response({"errcode": 300001, "errmsg": "token is not exist"})
        timestamp, sign = q.get("timestamp", ""), q.get("sign", "")  # aiohttp has URL-decoded the sign
        expected = base64.b64encode(
            hmac.new(self.secret.encode(), f"{timestamp}\n{self.secret}".encode(), hashlib.sha256).digest()
        ).decode()
        doc = await request.json()
        fresh = timestamp.isdigit() and abs(int(timestamp) / 1000 - self.now()) <= 3600
        code = 0 if fresh and hmac.compare_digest(sign, expected) else 310000
        if code == 0 and not (doc.get("msgtype") == "markdown" and doc["markdown"].get("title")
                              and doc["markdown"].get("text")):  # fmt: skip
            code = 40035
        return self._answer("dingtalk", doc, code, {"errcode": 0, "errmsg": "ok"})

    async def _feishu(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.key:
            return web.json_response({"code": 19001, "msg": "param invalid: incoming webhook access token invalid"})
        doc = await request.json()
        timestamp = str(doc.get("timestamp", ""))
        key = f"{timestamp}\n{self.secret}".encode()
        expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
        fresh = timestamp.isdigit() and abs(int(timestamp) - self.now()) <= 3600
        code = 0 if fresh and hmac.compare_digest(str(doc.get("sign", "")), expected) else 19021
        if code == 0 and doc.get("msg_type") != "post":
            code = 9499
        return self._answer("feishu", doc, code, {"code": 0, "msg": "success", "data": {}})

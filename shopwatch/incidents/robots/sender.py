"""The robot channel: sends the outbox's deliveries to WeCom, DingTalk and Feishu robots, one token bucket per
robot, merging the deliveries that are waiting for one robot into one digest message.

Every delivery is still its own outbox row: ``send`` returns (the row becomes ``delivered``) only once the
message that carries it was accepted (HTTP 200 and error code 0), and raises ``DeliveryError`` otherwise, so
the outbox retries it. Sends that arrive together (the dispatcher launches the due rows at once) join one
message. When the robot's bucket is empty the waiting sends fail with ``retry_after_s`` set to when the next
token comes, so their rows come due together then and go out as one digest: nothing is dropped, no robot gets
more than ``per_minute`` messages in any minute, and no dispatcher slot is held while waiting.

WeCom shows a picture only as a message of its own (``msgtype: image``): after a message that carries one event
with a snapshot is accepted, the picture follows (JPEG/PNG, at most 2 MB), when the robot's bucket has a message
left for it: an image is a message. A digest carries the pictures' signed links only, and a picture that finds
the bucket empty, or is refused, is left out (logged): its link is in the text, and the delivery, the text, was
already accepted."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import aiohttp

from shopwatch.core.clock import Clock
from shopwatch.core.community_config import Robot, RobotKind
from shopwatch.core.incident_records import Delivery
from shopwatch.incidents.robots.message import Style, pack
from shopwatch.incidents.robots.rate import TokenBucket
from shopwatch.incidents.robots.wire import (
    TEXT_LIMIT,
    Message,
    RobotRequest,
    dingtalk_request,
    feishu_request,
    parse_answer,
    wecom_image,
    wecom_request,
)
from shopwatch.incidents.senders import DeliveryError

log = logging.getLogger(__name__)

RobotLookup = Callable[[str, str], Robot | None]  # (group, target "<group>/<robot>") -> the robot's settings
PictureSource = Callable[[str], bytes | None]  # event id -> its snapshot's bytes, None without one (blocking)


@dataclass(slots=True)
class _Gate:
    """One robot's bucket and the sends waiting for its next message."""

    bucket: TokenBucket
    waiting: list[tuple[Delivery, asyncio.Future[None]]] = field(default_factory=list)
    flusher: asyncio.Task[None] | None = None


def robot_request(robot: Robot, message: Message, wall_s: float) -> RobotRequest:
    key, secret = robot.key.get_secret_value(), robot.secret.get_secret_value()
    if robot.kind is RobotKind.WECOM:
        return wecom_request(robot.send_url, key, message)
    if robot.kind is RobotKind.DINGTALK:
        return dingtalk_request(robot.send_url, key, secret, int(wall_s * 1000), message)
    return feishu_request(robot.send_url, key, secret, int(wall_s), message)


class RobotSender:
    def __init__(
        self, lookup: RobotLookup, style: Style, timeout_s: float, clock: Clock, pictures: PictureSource | None = None
    ) -> None:
        self._lookup = lookup
        self._pictures = pictures
        self._style = style
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._clock = clock
        self._gates: dict[str, _Gate] = {}
        self._session: aiohttp.ClientSession | None = None
        self.messages = 0  # messages accepted by robots
        self.merged = 0  # deliveries that went out inside a digest with others
        self.pictures = 0  # pictures accepted by WeCom robots
        self.pictures_left_out = 0  # pictures not sent: no message left in the robot's minute, or refused

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout, trust_env=True)
        return self._session

    async def send(self, delivery: Delivery) -> None:
        robot = self._lookup(delivery.team, delivery.target)
        if robot is None:
            raise DeliveryError(f"robot {delivery.target} is no longer configured", permanent=True)
        gate = self._gates.get(delivery.target)
        if gate is None:
            gate = self._gates[delivery.target] = _Gate(
                TokenBucket.full(robot.burst, robot.per_minute, self._clock.monotonic())
            )
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        gate.waiting.append((delivery, done))
        if gate.flusher is None or gate.flusher.done():
            # started after the sends launched with this one, so they are all waiting when it runs
            gate.flusher = asyncio.create_task(self._flush(delivery.target, robot, gate))
        await done

    async def _flush(self, target: str, robot: Robot, gate: _Gate) -> None:
        try:
            await self._flush_all(target, robot, gate)
        except Exception:  # a task boundary: a bug here must not leave the waiting sends hanging
            log.exception("robot %s: sending failed unexpectedly", target)
            batch, gate.waiting = gate.waiting, []
            _settle(batch, lambda: DeliveryError(f"robot {target}: internal error"))

    async def _flush_all(self, target: str, robot: Robot, gate: _Gate) -> None:
        while gate.waiting:
            wait = gate.bucket.wait(self._clock.monotonic())
            if wait > 0:
                batch, gate.waiting = gate.waiting, []
                reason = f"robot {target}: {robot.per_minute} messages a minute reached; next digest in {wait:.1f} s"
                _settle(batch, partial(DeliveryError, reason, retry_after_s=wait))
                return
            gate.bucket.take(self._clock.monotonic())
            message, count = pack([d.payload for d, _ in gate.waiting], self._style, TEXT_LIMIT[robot.kind])
            batch, gate.waiting = gate.waiting[:count], gate.waiting[count:]
            try:
                await self._post(target, robot, message)
            except DeliveryError as exc:
                _settle(batch, partial(DeliveryError, str(exc), permanent=exc.permanent))
                continue
            self.messages += 1
            self.merged += count if count > 1 else 0
            _settle(batch, None)
            if count == 1 and robot.kind is RobotKind.WECOM and self._pictures is not None:
                await self._picture(target, robot, gate, batch[0][0])

    async def _picture(self, target: str, robot: Robot, gate: _Gate, delivery: Delivery) -> None:
        event_id = str(delivery.payload.get("event_id", ""))
        assert self._pictures is not None
        picture = await asyncio.to_thread(self._pictures, event_id)
        if picture is None:
            return
        try:
            request = wecom_image(robot.send_url, robot.key.get_secret_value(), picture)
            if not gate.bucket.take(self._clock.monotonic()):
                raise DeliveryError(f"robot {target}: no message left this minute")
            await self._exchange(target, robot, request)
        except (ValueError, DeliveryError) as exc:
            self.pictures_left_out += 1
            log.info("robot %s: the picture of event %s is left out (its link is in the text): %s", target, event_id,
                     exc)  # fmt: skip
            return
        self.messages += 1
        self.pictures += 1

    async def _post(self, target: str, robot: Robot, message: Message) -> None:
        await self._exchange(target, robot, robot_request(robot, message, self._clock.wall()))

    async def _exchange(self, target: str, robot: Robot, request: RobotRequest) -> None:
        headers = {"Content-Type": "application/json; charset=utf-8"}
        try:
            async with self._client().post(
                request.url, data=request.body, headers=headers, allow_redirects=False
            ) as answer:
                status, body = answer.status, await answer.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            # the exception text may quote the URL, which carries the key: name the type only
            raise DeliveryError(f"robot {target}: {type(exc).__name__}") from None
        if status != 200:
            retry = status in (408, 429) or status >= 500
            raise DeliveryError(f"robot {target} answered HTTP {status}", permanent=not retry)
        verdict = parse_answer(robot.kind, body)
        if not verdict.ok:
            if verdict.rate_limited:
                self._gates[target].bucket.drain(self._clock.monotonic())
            log.info("robot %s refused a message: %s", target, verdict.detail)
            raise DeliveryError(f"robot {target} refused: {verdict.detail}")

    async def close(self) -> None:
        for gate in self._gates.values():
            if gate.flusher is not None:
                gate.flusher.cancel()
            batch, gate.waiting = gate.waiting, []
            _settle(batch, lambda: DeliveryError("the robot sender is closing"))
        if self._session is not None:
            await self._session.close()


def _settle(batch: list[tuple[Delivery, asyncio.Future[None]]], error: Callable[[], DeliveryError] | None) -> None:
    for _, done in batch:
        if done.done():  # its send was cancelled (the dispatcher closing)
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error())

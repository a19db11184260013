"""Long streams (the event stream, MJPEG live views, live talk) are bounded per caller and end when their
credential stops working.

A request is authenticated once, when it starts; a stream may then last an hour. So every stream holds a slot of
its caller's (at most ``streams_per_caller`` at once: one user or key cannot hold the API's connections, live
decodes or speakers hostage) and asks the login service every ``recheck_s`` whether the credential it started
with still names an enabled user, an unexpired token or an unrevoked key; once not, the stream ends (an HTTP
body simply stops before its next write, a WebSocket is closed with 1008, policy violation)."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends
from starlette.requests import HTTPConnection

from shopwatch.api.access.deps import LoginServiceDep, PrincipalDep, presented_credential
from shopwatch.api.deps import ContextDep
from shopwatch.api.stream_slots import StreamLease, StreamSlots
from shopwatch.core.api_limits_config import RequestLimits
from shopwatch.core.clock import Clock, SystemClock
from shopwatch.core.principal import Principal

T = TypeVar("T")
WS_POLICY_VIOLATION = 1008


async def until_invalid(still_valid: Callable[[], Awaitable[bool]], interval_s: float) -> None:
    """Return once ``still_valid`` answers False, asking every ``interval_s``."""
    while True:
        await asyncio.sleep(interval_s)
        if not await still_valid():
            return


async def _guarded(
    chunks: AsyncIterator[T],
    lease: StreamLease,
    still_valid: Callable[[], Awaitable[bool]],
    interval_s: float,
    clock: Clock,
) -> AsyncIterator[T]:
    """``chunks`` until they end or, checked before a chunk once ``interval_s`` has passed, the credential goes.
    Checked between chunks, in the response's own task: the streams wrapped here write at least every
    ``KEEPALIVE_S`` (events, 15 s) or ``REPEAT_S`` (live view, 1 s), so the end comes within one gap and one
    interval (15 + 10 s by default) without a second task reading the request beside the response."""
    next_check = clock.monotonic() + interval_s
    try:
        async for chunk in chunks:
            if clock.monotonic() >= next_check:
                if not await still_valid():
                    return
                next_check = clock.monotonic() + interval_s
            yield chunk
    finally:
        lease.release()
        closer = getattr(chunks, "aclose", None)
        if closer is not None:
            await closer()


@dataclass
class StreamGuard:
    principal: Principal
    credential: str | None
    still_valid: Callable[[], Awaitable[bool]]
    limits: RequestLimits
    slots: StreamSlots
    clock: Clock = field(default_factory=SystemClock)

    def take(self) -> StreamLease:
        """One of the caller's slots; 429 when none is free."""
        who = f"{self.principal.kind.value}:{self.principal.id}"
        return self.slots.take(who, self.limits.streams_per_caller)  # TooManyStreams: the handler's 429

    def _watch(self) -> Coroutine[Any, Any, None]:
        return until_invalid(self.still_valid, self.limits.recheck_s)

    def stream(self, chunks: AsyncIterator[T]) -> AsyncIterator[T]:
        """``chunks`` in one of the caller's slots (429 now when none is free), ending when the credential goes."""
        lease = self.take()
        guarded = _guarded(chunks, lease, self.still_valid, self.limits.recheck_s, self.clock)
        weakref.finalize(guarded, lease.release)  # a body never iterated (the client left first) gives it back
        return guarded

    async def run(self, work: Coroutine[Any, Any, None], lease: StreamLease) -> bool:
        """Run ``work`` (a WebSocket's service) in ``lease`` (taken before the handshake is accepted, so a
        refusal is the handshake's 429); False: cancelled because the credential went (the caller then closes
        the socket with ``WS_POLICY_VIOLATION``). The lease is given back either way."""
        task = asyncio.ensure_future(work)
        watch = asyncio.ensure_future(self._watch())
        try:
            await asyncio.wait({task, watch}, return_when=asyncio.FIRST_COMPLETED)
            if task.done():
                task.result()
                return True
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return False
        finally:
            for pending in (task, watch):
                pending.cancel()
            lease.release()


def stream_guard(
    conn: HTTPConnection, principal: PrincipalDep, auth: LoginServiceDep, context: ContextDep
) -> StreamGuard:
    credential = presented_credential(conn, auth.settings.cookie_name)

    async def still_valid() -> bool:
        return credential is not None and await asyncio.to_thread(auth.authenticate, credential) is not None

    return StreamGuard(principal, credential, still_valid, context.settings.api.limits, context.stream_slots)


StreamGuardDep = Annotated[StreamGuard, Depends(stream_guard)]

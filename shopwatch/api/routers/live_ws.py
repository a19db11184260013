"""``WS /api/live``: the console's live tiles, every watched camera over one socket (``shopwatch.api.live_socket``
has the protocol). Watching is reading: the socket needs ``view_cameras``, not a write permission. Like every
stream it holds one of the caller's stream slots (429 at the handshake when none is free) and is closed with
1008 once its credential stops working; the Origin of a browser's handshake is checked by the app's hardening.
Each camera watched is audited as ``camera.live`` (``via: mse``), as a live view is; another grid's camera is
answered as one that does not exist."""

from __future__ import annotations

import contextlib

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from shopwatch.api.access.deps import AuditDep, PrincipalDep, client_address
from shopwatch.api.deps import FleetDep
from shopwatch.api.live_socket import LiveSocket
from shopwatch.api.streams import WS_POLICY_VIOLATION, StreamGuardDep

router = APIRouter(tags=["cameras"])


@router.websocket("/live")
async def live_tiles(
    websocket: WebSocket, fleet: FleetDep, principal: PrincipalDep, audit: AuditDep, guard: StreamGuardDep
) -> None:
    lease = guard.take()  # before the handshake: a caller holding too many streams is refused with 429
    try:
        await websocket.accept()
    except BaseException:
        lease.release()
        raise
    address = client_address(websocket)

    async def audited(camera_id: str, grid: str) -> None:
        await audit.record(principal, "camera.live", camera_id, {"grid": grid, "via": "mse"}, address)

    served = await guard.run(LiveSocket(websocket, fleet, principal, audited).serve(), lease)
    if not served:  # the user was disabled, the token expired or the key revoked while watching
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(code=WS_POLICY_VIOLATION, reason="credentials no longer valid")

"""Talkback sessions: speak through a camera's speaker (clip or text), list, cancel, broadcast, audit.

A caller scoped to grids (``scope``) talks through, sees and cancels only its grids' speakers and sessions: the
others answer 404 (an unknown camera or session), are left out of lists and of the audit, and a broadcast names
them in its results as unknown cameras (by list) or never addresses them (by grid). Live push-to-talk is
``talkback_live``; the clip library is ``talkback_clips``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from shopwatch.api.errors import answer_or_internal
from shopwatch.api.operator import OperatorDep
from shopwatch.api.scope import Scope, ScopeDep
from shopwatch.api.services import Talk
from shopwatch.api.talkback_deps import TalkbackDep
from shopwatch.api.talkback_schemas import (
    AuditPublic,
    BroadcastCreate,
    BroadcastItem,
    BroadcastPublic,
    SessionList,
    SessionPublic,
    TalkCreate,
)
from shopwatch.core.talkback_records import Outcome, TalkSession
from shopwatch.store.talkback import AuditQuery
from shopwatch.talkback.records import Sound, TalkRequest, UnknownCamera, UnknownSession

router = APIRouter(tags=["talkback"])

_REFUSED: dict[int | str, dict[str, Any]] = {
    403: {"description": "Refused by policy: no consent, quiet hours, no speaker; the detail says which."},
    404: {"description": "Unknown camera or clip."},
    409: {"description": "The speaker is busy; the detail names who holds it."},
    422: {"description": "Bad input, or text that cannot be spoken."},
}


def _sound(body: TalkCreate) -> Sound:
    if body.clip is not None:
        return Sound.clip(body.clip)
    assert body.text is not None
    return Sound.speech(body.text, body.voice)


def _aware(moment: datetime | None) -> datetime | None:
    """A time given without a zone is taken as UTC."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _public(service: Talk, session: TalkSession) -> SessionPublic:
    return SessionPublic.of(session, service.queue_position(session))


def _visible_session(service: Talk, scope: Scope, session_id: str) -> TalkSession:
    """The session, if the caller sees its camera; ``UnknownSession`` otherwise (a 404 like a missing one)."""
    session = service.session(session_id)
    if not scope.sees_camera(session.camera_id):
        raise UnknownSession(session_id)
    return session


@router.post(
    "/cameras/{camera_id}/talkback",
    status_code=status.HTTP_201_CREATED,
    response_model=SessionPublic,
    responses=_REFUSED,
    summary="Play a clip or spoken text through the camera's speaker",
)
async def start_talk(
    camera_id: str, body: TalkCreate, service: TalkbackDep, operator: OperatorDep, scope: ScopeDep
) -> SessionPublic:
    request = TalkRequest(operator, queue=body.queue, override=body.override)
    if not scope.sees_camera(camera_id):
        raise UnknownCamera(camera_id)
    session = await service.play(camera_id, _sound(body), request)
    return _public(service, session)


@router.get("/talkback/sessions", response_model=SessionList, summary="Active, queued and recent sessions")
async def list_sessions(service: TalkbackDep, scope: ScopeDep) -> SessionList:
    active, recent = service.sessions()
    return SessionList(
        active=[_public(service, s) for s in active if scope.sees_camera(s.camera_id)],
        recent=[_public(service, s) for s in recent if scope.sees_camera(s.camera_id)],
    )


@router.get("/talkback/sessions/{session_id}", response_model=SessionPublic, responses={404: {}})
async def get_session(session_id: str, service: TalkbackDep, scope: ScopeDep) -> SessionPublic:
    return _public(service, _visible_session(service, scope, session_id))


@router.delete(
    "/talkback/{session_id}",
    response_model=SessionPublic,
    responses={404: {"description": "No such session."}},
    summary="Stop a session now (playing or queued); answers once the speaker is released",
)
async def cancel_session(session_id: str, service: TalkbackDep, scope: ScopeDep) -> SessionPublic:
    _visible_session(service, scope, session_id)
    return _public(service, await service.cancel(session_id))


@router.post(
    "/talkback/broadcast",
    response_model=BroadcastPublic,
    responses={404: {"description": "Unknown clip."}, 422: _REFUSED[422]},
    summary="Play one clip or text on many cameras (a list, a grid); one result per camera",
)
async def broadcast(
    body: BroadcastCreate, service: TalkbackDep, operator: OperatorDep, scope: ScopeDep
) -> BroadcastPublic:
    request = TalkRequest(operator, queue=body.queue, override=body.override)
    listed = set(body.cameras)
    # A grid outside the caller's scope adds no camera; a listed camera outside it is refused as unknown.
    addressed = [c for c in service.cameras_in(body.cameras, body.grid) if c in listed or scope.sees_camera(c)]
    broadcast_id, played = await service.broadcast(
        [c for c in addressed if scope.sees_camera(c)], _sound(body), request
    )
    outcomes = dict(played)
    results = [(c, outcomes[c] if c in outcomes else UnknownCamera(c)) for c in addressed]
    items: list[BroadcastItem] = []
    for camera_id, outcome in results:
        if isinstance(outcome, TalkSession):
            items.append(BroadcastItem(camera_id=camera_id, status=201, session=_public(service, outcome), error=None))
        else:
            refused = answer_or_internal(outcome)
            items.append(BroadcastItem(camera_id=camera_id, status=refused.status, session=None, error=refused.detail))
    started = sum(1 for i in items if i.session is not None)
    return BroadcastPublic(broadcast_id=broadcast_id, started=started, refused=len(items) - started, results=items)


@router.get("/talkback/audit", response_model=list[AuditPublic], summary="Every talk attempt, newest first")
async def audit(
    service: TalkbackDep,
    scope: ScopeDep,
    camera: Annotated[str | None, Query(max_length=63, description="Only this camera.")] = None,
    user: Annotated[str | None, Query(max_length=128, description="Only this operator.")] = None,
    outcome: Annotated[Outcome | None, Query(description="Only this outcome.")] = None,
    since: Annotated[datetime | None, Query(description="Requested at or after (ISO 8601).")] = None,
    until: Annotated[datetime | None, Query(description="Requested before (ISO 8601).")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[AuditPublic]:
    query = AuditQuery(camera, user, outcome, _aware(since), _aware(until), limit, offset, scope.cameras())
    return [AuditPublic.of(e) for e in await service.audit_entries(query)]

"""``/api/tips``: tips from people (volunteers, grid workers, a chat bridge's key) and the operator's decision.

Anyone who may file tips (tipster, patrol, operator, admin) files with ``POST`` and sees their own; operators and
admins see every tip of their grids with who filed it, decide (confirm into an incident, merge, close) and mark
which led to a case. Everyone else's tips answer 404, as if absent."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import FileResponse

from shopwatch.api.access.deps import PrincipalDep, require
from shopwatch.api.deps import ContextDep, FleetDep, present
from shopwatch.api.services import Fleet
from shopwatch.api.tip_schemas import MAX_TEXT, TipCase, TipCreate, TipDecision, TipLimits, TipPublic, TipsterStats
from shopwatch.core.errors import Invalid, NotFound
from shopwatch.core.principal import Permission, Principal, PrincipalKind
from shopwatch.core.tip_records import Tip, TipStatus
from shopwatch.incidents.tips import TipDesk, TipIn

router = APIRouter(prefix="/tips", tags=["tips"])
_WORK = [Depends(require(Permission.WORK_EVENTS))]


def get_tips(context: ContextDep) -> TipDesk:
    return present(context.services.tips, "the tip desk")


TipsDep = Annotated[TipDesk, Depends(get_tips)]


def _works(principal: Principal) -> bool:
    return principal.has(Permission.WORK_EVENTS)


def tipster_of(principal: Principal, reporter: str | None) -> str:
    """Who saw it: the user; for a chat bridge's key, the volunteer it names (under the key's name)."""
    if reporter is None:
        return principal.name
    if principal.kind is not PrincipalKind.KEY:
        raise Invalid("expected no reporter: only a chat bridge's API key files tips for someone else")
    return f"{principal.name}/{reporter}"


def _visible(tip: Tip, principal: Principal) -> bool:
    if _works(principal):
        return principal.grids is None or (tip.grid is not None and tip.grid in principal.grids)
    return tip.filed_by == principal.name


def public_tip(tip: Tip, principal: Principal, fleet: Fleet) -> TipPublic:
    """The tip as this caller may see it: who filed it for operators and admins only; for a caller scoped to
    grids, only the nearby cameras and events of its grids (a tip near a grid's edge reaches into the next)."""
    public = TipPublic.of(tip, identity=_works(principal))
    if principal.grids is None:
        return public

    def sees(camera_id: str) -> bool:
        camera = fleet.camera(camera_id)
        return camera is not None and principal.can_see_grid(camera.grid)

    nearby = {
        "cameras": [c for c in tip.nearby.get("cameras", []) if sees(c["id"])],
        "events": [e for e in tip.nearby.get("events", []) if sees(e["camera_id"])],
    }
    return public.model_copy(update={"nearby": nearby})


@router.post("", response_model=TipPublic, status_code=status.HTTP_201_CREATED, summary="File a tip")
async def file_tip(body: TipCreate, tips: TipsDep, principal: PrincipalDep, fleet: FleetDep) -> TipPublic:
    tipster = tipster_of(principal, body.reporter)
    seen_at = body.seen_at or tips.now()
    if seen_at.tzinfo is None:
        raise Invalid("expected seen_at with a zone (Z or +08:00)")
    if (body.lat is None) != (body.lon is None):
        raise Invalid("expected both lat and lon, or neither")
    tip = await tips.file(
        TipIn(
            type=body.type.value,
            text=body.text,
            seen_at=seen_at,
            lat=body.lat,
            lon=body.lon,
            camera_id=body.camera_id,
            address=body.address,
            photos=[(p.name, p.raw()) for p in body.photos],
        ),  # fmt: skip
        filed_by=principal.name,
        tipster=tipster,
    )
    return public_tip(tip, principal, fleet)


@router.get("", response_model=list[TipPublic], summary="Tips, newest first (a tipster: its own)")
async def list_tips(
    tips: TipsDep,
    principal: PrincipalDep,
    fleet: FleetDep,
    status_: Annotated[TipStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[TipPublic]:
    found = await tips.find(None, status_.value if status_ else None, limit if _works(principal) else 500)
    return [public_tip(t, principal, fleet) for t in found if _visible(t, principal)][:limit]


@router.get("/limits", response_model=TipLimits, summary="What one tip may carry (the phone page sizes photos by it)")
async def tip_limits(tips: TipsDep) -> TipLimits:
    settings = tips.settings
    return TipLimits(max_photos=settings.max_photos, max_photo_bytes=settings.max_photo_kib * 1024, max_text=MAX_TEXT)


@router.get("/stats", response_model=list[TipsterStats], summary="Per tipster: filed, confirmed, led to a case")
async def tip_stats(tips: TipsDep, principal: PrincipalDep) -> list[TipsterStats]:
    rows = await tips.stats(None)
    if not (_works(principal) and principal.grids is None):  # a tipster (or a chat bridge): its own records
        rows = [r for r in rows if r["tipster"] == principal.name or r["tipster"].startswith(f"{principal.name}/")]
    return [TipsterStats(**r) for r in rows]


async def _tip(tips: TipDesk, tip_id: str, principal: Principal) -> Tip:
    tip = await tips.get(tip_id)
    if not _visible(tip, principal):
        raise NotFound(f"no tip {tip_id!r}")
    return tip


@router.get("/{tip_id}", response_model=TipPublic, responses={404: {"description": "No such tip (or not yours)."}})
async def get_tip(tip_id: str, tips: TipsDep, principal: PrincipalDep, fleet: FleetDep) -> TipPublic:
    return public_tip(await _tip(tips, tip_id, principal), principal, fleet)


@router.get("/{tip_id}/photos/{name}", response_class=FileResponse, summary="A tip's photo (no metadata)")
async def tip_photo(tip_id: str, name: str, tips: TipsDep, principal: PrincipalDep) -> FileResponse:
    path = tips.photo_path(await _tip(tips, tip_id, principal), name)
    media = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}[path.suffix.lstrip(".")]
    return FileResponse(path, media_type=media, headers={"Cache-Control": "private, no-store"})


@router.post("/{tip_id}/decision", response_model=TipPublic, dependencies=_WORK, summary="Confirm, merge or close")
async def decide_tip(
    tip_id: str, body: TipDecision, tips: TipsDep, principal: PrincipalDep, fleet: FleetDep
) -> TipPublic:
    await _tip(tips, tip_id, principal)
    tip = await tips.decide(tip_id, body.decision, principal.name, body.note, body.incident_id)
    return public_tip(tip, principal, fleet)


@router.post("/{tip_id}/case", response_model=TipPublic, dependencies=_WORK, summary="Mark: it led to a case")
async def mark_case(tip_id: str, body: TipCase, tips: TipsDep, principal: PrincipalDep, fleet: FleetDep) -> TipPublic:
    await _tip(tips, tip_id, principal)
    return public_tip(await tips.mark_case(tip_id, body.led_to_case), principal, fleet)

"""``/api/deliveries``: the outbox, every alert's delivery state (pending with its last error and next
attempt, delivered, failed), newest first.

A caller scoped to grids sees its grids' deliveries only (others answer 404), and its counts are of those."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from shopwatch.api.incident_deps import ArchiveDep, Caller, CallerDep
from shopwatch.api.incident_schemas import DeliveryList, DeliveryPublic
from shopwatch.core.errors import NotFound
from shopwatch.core.incident_records import Delivery, DeliveryState
from shopwatch.store.outbox import DeliveryQuery

router = APIRouter(prefix="/deliveries", tags=["deliveries"])


def _sees(caller: Caller, delivery: Delivery) -> bool:
    return caller.sees(str(delivery.payload.get("grid", "")))


@router.get("", response_model=DeliveryList, summary="Alert deliveries and their state")
async def list_deliveries(
    archive: ArchiveDep,
    caller: CallerDep,
    state: Annotated[DeliveryState | None, Query(description="Only this state.")] = None,
    event: Annotated[str | None, Query(max_length=32, description="Only this event's.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DeliveryList:
    query = DeliveryQuery(event_id=event, state=state, limit=limit, grids=caller.grids)
    found = await archive.deliveries(query)
    counts = await archive.delivery_counts(caller.grids)
    return DeliveryList(counts=counts, deliveries=[DeliveryPublic.of(d) for d in found])


@router.get("/{delivery_id}", response_model=DeliveryPublic, responses={404: {"description": "No such delivery."}})
async def get_delivery(delivery_id: str, archive: ArchiveDep, caller: CallerDep) -> DeliveryPublic:
    found = await archive.delivery(delivery_id)
    if found is None or not _sees(caller, found):
        raise NotFound(f"no delivery {delivery_id!r}")
    return DeliveryPublic.of(found)

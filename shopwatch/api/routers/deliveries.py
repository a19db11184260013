"""``/api/deliveries``: the outbox, every alert's delivery state (pending with its last error and next
attempt, delivered, failed), newest first."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from shopwatch.api.incident_deps import CallerDep, IncidentsDep
from shopwatch.api.incident_schemas import DeliveryList, DeliveryPublic
from shopwatch.store.outbox import DeliveryQuery, DeliveryState

router = APIRouter(prefix="/deliveries", tags=["deliveries"])


@router.get("", response_model=DeliveryList, summary="Alert deliveries and their state")
async def list_deliveries(
    service: IncidentsDep,
    caller: CallerDep,
    state: Annotated[DeliveryState | None, Query(description="Only this state.")] = None,
    event: Annotated[str | None, Query(max_length=32, description="Only this event's.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DeliveryList:
    found = await asyncio.to_thread(service.outbox.find, DeliveryQuery(event_id=event, state=state, limit=limit))
    visible = [d for d in found if caller.grids is None or caller.sees(str(d.payload.get("grid", "")))]
    counts = await asyncio.to_thread(service.outbox.counts)
    return DeliveryList(counts=counts, deliveries=[DeliveryPublic.of(d) for d in visible])


@router.get("/{delivery_id}", response_model=DeliveryPublic, responses={404: {"description": "No such delivery."}})
async def get_delivery(delivery_id: str, service: IncidentsDep, caller: CallerDep) -> DeliveryPublic:
    found = await asyncio.to_thread(service.outbox.get, delivery_id)
    if found is None or not caller.sees(str(found.payload.get("grid", ""))):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no delivery {delivery_id!r}")
    return DeliveryPublic.of(found)

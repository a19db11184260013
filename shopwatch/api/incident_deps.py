"""The incidents services as route dependencies (``IncidentsDep`` moves events along, ``ArchiveDep`` reads), and who
is calling as the incident routes see it.

``Caller`` is the one place that knows where the caller comes from: its name (recorded on transitions), the
grids it may see (None: all; a patrol's key or login: its grids) and whether it may work events beyond
acknowledging them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from shopwatch.api.access.deps import PrincipalDep
from shopwatch.api.deps import ContextDep, present
from shopwatch.api.services import Workflow
from shopwatch.core.principal import Permission
from shopwatch.incidents.archive import EventArchive


def get_incidents(context: ContextDep) -> Workflow:
    return present(context.services.incidents, "the incident store")


def get_archive(context: ContextDep) -> EventArchive:
    return present(context.services.archive, "the incident store")


IncidentsDep = Annotated[Workflow, Depends(get_incidents)]
ArchiveDep = Annotated[EventArchive, Depends(get_archive)]


@dataclass(frozen=True, slots=True)
class Caller:
    name: str
    grids: frozenset[str] | None  # None: every grid
    may_work: bool  # dispatch, resolve, mark false positive (acknowledging needs only sight of the event)

    def sees(self, grid: str) -> bool:
        return self.grids is None or grid in self.grids

    def scope(self, asked: list[str] | None) -> frozenset[str] | None:
        """The grids a query may count: those asked for within the caller's (None: every grid)."""
        if self.grids is None:
            return frozenset(asked) if asked else None
        return self.grids & frozenset(asked) if asked else self.grids


def current_caller(principal: PrincipalDep) -> Caller:
    return Caller(name=principal.name, grids=principal.grids, may_work=principal.has(Permission.WORK_EVENTS))


CallerDep = Annotated[Caller, Depends(current_caller)]

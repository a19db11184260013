"""The caller's grid scope over cameras, for every route that names, lists or acts on a camera.

A caller scoped to some grids (patrol users, scoped API keys) must not see, hear from or talk through the other
grids' cameras: their cameras, sessions and audit entries answer 404 or are left out of lists, exactly as if
they did not exist (the answer must not tell "not yours" from "not there"). ``Scope`` answers that one question
for the routes; the events routes ask the same of an event's grid through ``Caller``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from shopwatch.api.access.deps import PrincipalDep
from shopwatch.api.deps import FleetDep
from shopwatch.api.services import Fleet


@dataclass(frozen=True, slots=True)
class Scope:
    grids: frozenset[str] | None  # None: every grid
    fleet: Fleet

    @property
    def limited(self) -> bool:
        return self.grids is not None

    def sees_grid(self, grid: str) -> bool:
        return self.grids is None or grid in self.grids

    def sees_camera(self, camera_id: str) -> bool:
        """A registered camera in the caller's grids (a camera no longer registered is seen by unscoped callers
        only: its grid is unknown)."""
        if self.grids is None:
            return True
        camera = self.fleet.camera(camera_id)
        return camera is not None and camera.grid in self.grids

    def cameras(self) -> frozenset[str] | None:
        """Ids of the cameras the caller sees; None: every camera."""
        if self.grids is None:
            return None
        return frozenset(c.id for c in self.fleet.cameras() if c.grid in self.grids)


def current_scope(principal: PrincipalDep, fleet: FleetDep) -> Scope:
    return Scope(principal.grids, fleet)


ScopeDep = Annotated[Scope, Depends(current_scope)]

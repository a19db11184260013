"""Authentication and authorisation for the API: who is calling (``PrincipalDep``), what they may do
(``require(Permission.X)``, ``Access``), and the audit log (``AuditDep``, ``client_address``).

For routers of other packages (events, teams): include them in ``create_app``'s ``include_api_routers`` (every
route there is authenticated), give them an ``Access(read=..., write=...)`` dependency, and filter what they
return with ``principal.can_see_grid(grid)`` so a patrol key scoped to grid 3 never sees grid 4."""

from shopwatch.api.access.deps import (
    Access,
    AuditDep,
    PrincipalDep,
    authenticate,
    client_address,
    require,
)
from shopwatch.core.principal import Permission, Principal, Role

__all__ = [
    "Access",
    "AuditDep",
    "Permission",
    "Principal",
    "PrincipalDep",
    "Role",
    "authenticate",
    "client_address",
    "require",
]

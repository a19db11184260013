"""What a caller may grant: never more than it holds.

An admin scoped to some grids (a district's admin key, a grid's admin user) manages the accounts of its grids
only. It may create or change a user or key whose role is no stronger than its own (the role's permissions a
subset of the caller's) and whose grids are a subset of its own; it never sees nor touches an account that is
unscoped or reaches outside its grids: such an account answers as if it did not exist (the answer must not tell
"not yours" from "not there"). An unscoped caller (a global admin, the CLI) may do anything the role rules allow.

Pure functions over values: the account rules (``Accounts``) apply them at every door."""

from __future__ import annotations

from collections.abc import Iterable

from shopwatch.core.errors import Forbidden
from shopwatch.core.principal import ROLE_PERMISSIONS, Principal, Role


class GrantRefused(Forbidden):
    """The grant would give more than the caller holds (a stronger role, or grids outside the caller's)."""


def covers(grantor: Principal | None, grids: Iterable[str] | None) -> bool:
    """Whether an account scoped to ``grids`` (None: every grid) lies inside what ``grantor`` sees."""
    if grantor is None or grantor.grids is None:
        return True
    return grids is not None and set(grids) <= grantor.grids


def check_grant(grantor: Principal | None, role: Role, grids: Iterable[str] | None) -> None:
    """Refuse making or changing an account into ``role`` over ``grids`` unless ``grantor`` holds as much."""
    if grantor is None:
        return
    if not ROLE_PERMISSIONS[role] <= ROLE_PERMISSIONS[grantor.role]:
        mine = grantor.role.value
        raise GrantRefused(f"expected a role no stronger than the caller's ({mine!r}), found {role.value!r}")
    if not covers(grantor, grids):
        held = sorted(grantor.grids or ())
        asked = "every grid" if grids is None else sorted(grids)
        raise GrantRefused(f"expected grids within the caller's {held}, found {asked}")

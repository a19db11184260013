"""``auth.grants``: what a caller may grant, as a table (grantor role and grids, granted role and grids, verdict)."""

from __future__ import annotations

import pytest

from shopwatch.auth.grants import GrantRefused, check_grant, covers
from shopwatch.core.errors import Forbidden
from shopwatch.core.principal import Principal, PrincipalKind, Role

A, OP, P, V = Role.ADMIN, Role.OPERATOR, Role.PATROL, Role.VIEWER
ALL = None


def caller(role: Role, grids: tuple[str, ...] | None) -> Principal:
    return Principal(PrincipalKind.KEY, "k", "key:k", role, None if grids is None else frozenset(grids))


@pytest.mark.parametrize(
    ("grantor_role", "grantor_grids", "role", "grids", "allowed"),
    [
        (A, ALL, A, ALL, True),  # a global admin grants anything
        (A, ("3",), A, ("3",), True),  # a scoped admin: the same scope or narrower
        (A, ("3", "4"), P, ("4",), True),
        (A, ("3",), A, ALL, False),  # the reported escalation: grid-3 admin key made an unscoped admin key
        (A, ("3",), V, ("3", "4"), False),  # wider than the grantor
        (A, ("3",), V, ("4",), False),  # beside the grantor
        (OP, ALL, A, ALL, False),  # a role stronger than the grantor's
        (OP, ALL, V, ALL, True),  # viewer's permissions are an operator's subset
        (V, ALL, P, ("3",), False),  # patrol acknowledges events, which a viewer may not
        (P, ("3",), V, ("3",), False),  # and a viewer sees operations, which a patrol may not
    ],
)
def test_a_grant_never_exceeds_the_grantor(
    grantor_role: Role, grantor_grids: tuple[str, ...] | None, role: Role, grids: tuple[str, ...] | None, allowed: bool
) -> None:
    grantor = caller(grantor_role, grantor_grids)
    if allowed:
        check_grant(grantor, role, grids)
    else:
        with pytest.raises(GrantRefused) as refused:
            check_grant(grantor, role, grids)
        assert isinstance(refused.value, Forbidden)


def test_the_cli_grants_anything_and_a_scoped_caller_sees_only_accounts_inside_its_grids() -> None:
    check_grant(None, A, None)
    scoped = caller(A, ("3", "4"))
    assert covers(scoped, ("3",)) and covers(scoped, ("3", "4"))
    assert not covers(scoped, None) and not covers(scoped, ("4", "5"))
    assert covers(caller(A, None), None) and covers(None, None)

"""Who is calling. Until operator login lands (issue 6) the name comes from a header; this is the one place
that changes when it does: routes depend on ``OperatorDep`` only."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, status

from shopwatch.talkback.sessions import Operator

ANONYMOUS = "anonymous"
USER_HEADER = "X-Shopwatch-User"
ROLE_HEADER = "X-Shopwatch-Role"  # "admin" may override consent and quiet hours (audited)
MAX_NAME = 128


def current_operator(
    user: Annotated[str | None, Header(alias=USER_HEADER, description="Operator name (until login exists).")] = None,
    role: Annotated[str | None, Header(alias=ROLE_HEADER, description="'admin' for admin rights.")] = None,
) -> Operator:
    name = (user or "").strip() or ANONYMOUS
    if len(name) > MAX_NAME or not name.isprintable():
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"expected {USER_HEADER} to be a printable name of at most {MAX_NAME} characters",
        )
    return Operator(name=name, admin=(role or "").strip().lower() == "admin")


OperatorDep = Annotated[Operator, Depends(current_operator)]

"""Who is talking: the authenticated principal as the talkback layer's ``Operator``. Routes depend on
``OperatorDep`` only; an admin may override consent and quiet hours (the talkback audit records it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from shopwatch.api.access.deps import PrincipalDep
from shopwatch.talkback.records import Operator


def current_operator(principal: PrincipalDep) -> Operator:
    return Operator(name=principal.name, admin=principal.is_admin)


OperatorDep = Annotated[Operator, Depends(current_operator)]

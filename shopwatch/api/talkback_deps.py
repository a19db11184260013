"""The talkback service and its clip library as route dependencies. Their refusals are errors of the
``core.errors`` family, answered by ``api.errors``: 403 consent, quiet hours, no speaker, override without admin
rights (the reason is the detail); 409 the speaker is busy (the detail names the holder); 404 unknown camera,
clip or session; 422 text that cannot be spoken, a file that is not usable audio. Nothing here echoes a secret:
the service redacts device errors before they reach a session."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from shopwatch.api.deps import ContextDep, present
from shopwatch.api.services import Clips, Talk


def get_talkback(context: ContextDep) -> Talk:
    return present(context.services.talkback, "talkback")


def get_clips(context: ContextDep) -> Clips:
    return present(context.services.clips, "talkback")


TalkbackDep = Annotated[Talk, Depends(get_talkback)]
ClipsDep = Annotated[Clips, Depends(get_clips)]

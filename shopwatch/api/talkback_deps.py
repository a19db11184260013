"""The talkback service and its clip library as route dependencies. Their refusals are errors of the
``core.errors`` family, answered by ``api.errors``: 403 consent, quiet hours, no speaker, override without admin
rights (the reason is the detail); 409 the speaker is busy (the detail names the holder); 404 unknown camera,
clip or session; 422 text that cannot be spoken, a file that is not usable audio. Nothing here echoes a secret:
the service redacts device errors before they reach a session."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from shopwatch.api.deps import ContextDep
from shopwatch.api.services import Clips, Talk
from shopwatch.core.errors import Unavailable


def get_talkback(context: ContextDep) -> Talk:
    service = context.services.talkback
    if service is None:
        raise Unavailable("talkback is not set up on this service")
    return service


def get_clips(context: ContextDep) -> Clips:
    clips = context.services.clips
    if clips is None:
        raise Unavailable("talkback is not set up on this service")
    return clips


TalkbackDep = Annotated[Talk, Depends(get_talkback)]
ClipsDep = Annotated[Clips, Depends(get_clips)]

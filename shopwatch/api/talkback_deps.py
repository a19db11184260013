"""The talkback service as a route dependency, and how its refusals become HTTP answers.

403: consent, quiet hours, no speaker, override without admin rights (the reason is the detail);
409: the speaker is busy (the detail names the holder); 404: unknown camera, clip or session;
422: text that cannot be spoken, a file that is not usable audio. Nothing here echoes a secret: the
service redacts device errors before they reach a session."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, status

from shopwatch.api.deps import ContextDep
from shopwatch.core.errors import Unavailable
from shopwatch.talkback.arbiter import SpeakerConflict
from shopwatch.talkback.clips import ClipRejected, UnknownClip
from shopwatch.talkback.errors import TtsError
from shopwatch.talkback.policy import PolicyRefused
from shopwatch.talkback.records import UnknownCamera, UnknownSession
from shopwatch.talkback.service import TalkbackService

REFUSALS = (UnknownCamera, UnknownClip, UnknownSession, PolicyRefused, SpeakerConflict, TtsError, ClipRejected)


def get_talkback(context: ContextDep) -> TalkbackService:
    service = context.services.talkback
    if service is None:
        raise Unavailable("talkback is not set up on this service")
    return service


TalkbackDep = Annotated[TalkbackService, Depends(get_talkback)]


def refusal_status(exc: Exception) -> int:
    """The HTTP status for one of ``REFUSALS``."""
    if isinstance(exc, UnknownCamera | UnknownClip | UnknownSession):
        return status.HTTP_404_NOT_FOUND
    if isinstance(exc, PolicyRefused):
        return status.HTTP_403_FORBIDDEN
    if isinstance(exc, SpeakerConflict):
        return status.HTTP_409_CONFLICT
    if isinstance(exc, TtsError | ClipRejected):
        return status.HTTP_422_UNPROCESSABLE_CONTENT
    raise TypeError(f"expected a talkback refusal, found {type(exc).__name__}")


def refusal_text(exc: Exception) -> str:
    if isinstance(exc, PolicyRefused):
        return exc.reason
    if isinstance(exc, SpeakerConflict):
        return exc.reason
    return str(exc)


def http_refusal(exc: Exception) -> HTTPException:
    return HTTPException(refusal_status(exc), detail=refusal_text(exc))

"""Who is calling and what they may do: roles, permissions and the grid scope of patrol users and API keys.

A value every layer may hold: the API builds it from a token or key, and services (incidents, audit) ask it
questions (``has``, ``can_see_grid``) without knowing how it was authenticated."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"  # manages cameras, users, keys, teams, clips and config; reads the audit log
    OPERATOR = "operator"  # command room: reads, works events, talks through speakers
    PATROL = "patrol"  # a grid's patrol: sees and acknowledges its grids' cameras and events only
    VIEWER = "viewer"  # reads
    TIPSTER = "tipster"  # a volunteer or grid worker (or a chat bridge's key): files tips, sees its own


class Permission(StrEnum):
    VIEW_CAMERAS = "view_cameras"  # cameras, snapshots and events, within the principal's grids
    VIEW_OPERATIONS = "view_operations"  # talkback sessions, clips, metrics: the command room's view
    ACK_EVENTS = "ack_events"  # acknowledge an event
    WORK_EVENTS = "work_events"  # dispatch, resolve, mark false positive
    TALK = "talk"  # speak through a shop's speaker
    ADMIN = "admin"  # manage cameras, users, keys, teams, clips, config; read the audit log
    FILE_TIPS = "file_tips"  # report something seen (POST /api/tips); a tipster reads its own tips only


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.VIEW_CAMERAS, Permission.VIEW_OPERATIONS}),
    Role.TIPSTER: frozenset({Permission.FILE_TIPS}),
    Role.PATROL: frozenset({Permission.VIEW_CAMERAS, Permission.ACK_EVENTS, Permission.FILE_TIPS}),
    Role.OPERATOR: frozenset(
        {Permission.VIEW_CAMERAS, Permission.VIEW_OPERATIONS, Permission.ACK_EVENTS, Permission.WORK_EVENTS,
         Permission.TALK, Permission.FILE_TIPS}
    ),  # fmt: skip
    Role.ADMIN: frozenset(Permission),
}


class PrincipalKind(StrEnum):
    USER = "user"  # logged in with a password; holds a token
    KEY = "key"  # an integration's API key


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller. ``grids`` None means every grid; a set limits what it sees to those grids
    (patrol users always carry one; an API key may)."""

    kind: PrincipalKind
    id: str  # user id or key id
    name: str  # user name, or "key:<name>" for an API key
    role: Role
    grids: frozenset[str] | None = None

    def has(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]

    def can_see_grid(self, grid: str) -> bool:
        """Whether cameras and events of ``grid`` are visible to this caller (apply to every list and item)."""
        return self.grids is None or grid in self.grids

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

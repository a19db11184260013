"""encrypt camera passwords: every stored password becomes ``fernet:<token>`` under the key outside the database

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 00:00:00

The key is the one ``migrate`` was given (``store.secret_box``): ``SHOPWATCH_SECRET_KEY``, else the key file,
created 0600 here when there is none yet and a password needs encrypting. Downgrade decrypts (and needs the key).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from shopwatch.store.secret_box import SecretBox, secrets_of

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CAMERAS = sa.table("cameras", sa.column("id", sa.String), sa.column("password", sa.Text))


def _box() -> SecretBox:
    config = op.get_context().config
    given = None if config is None else config.attributes.get("secrets")
    return given if isinstance(given, SecretBox) else secrets_of(op.get_bind().engine)


def _rewrite(change: Callable[[str], str | None]) -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(_CAMERAS.c.id, _CAMERAS.c.password)).all()
    for camera_id, password in rows:
        new = change(password or "")
        if new is not None:
            conn.execute(sa.update(_CAMERAS).where(_CAMERAS.c.id == camera_id).values(password=new))


def upgrade() -> None:
    box = _box()
    _rewrite(lambda stored: None if stored == "" or box.is_sealed(stored) else box.seal(stored))


def downgrade() -> None:
    box = _box()
    _rewrite(lambda stored: box.open(stored) if box.is_sealed(stored) else None)

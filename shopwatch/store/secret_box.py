"""Secrets at rest: camera passwords are kept in the database encrypted (Fernet, from ``cryptography``) under a
key that is not in the database.

The key comes from the environment variable ``SHOPWATCH_SECRET_KEY`` when it is set, else from a key file:
``service.secret_key_file`` or, by default, ``secret.key`` in the data directory (``<data_dir>/secret.key``),
created 0600 by the service the first time it stores a password. Either holds one or more Fernet keys (comma- or
line-separated): the first encrypts, all of them decrypt (``MultiFernet``), which is how ``shopwatch secrets
rotate`` keeps the old key usable until every row carries the new one.

An encrypted value is stored as ``fernet:<token>``; anything without that mark is a value from before the
migration that encrypted the column (read as it is, never taken for a token). The empty password (no login) is
stored empty. Nothing here ever puts a key or a password in a message."""

from __future__ import annotations

import os
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from shopwatch.core.errors import Unavailable
from shopwatch.core.private_files import DIR_MODE, FILE_MODE

ENV_SECRET_KEY = "SHOPWATCH_SECRET_KEY"
KEY_FILE_NAME = "secret.key"
SEALED = "fernet:"


class SecretKeyError(Unavailable):
    """The key that opens the stored secrets is missing, malformed or not the one they were encrypted with."""


@dataclass(frozen=True)
class KeySource:
    """Where the keys are: the environment variable when set, else ``path`` (None: no key file is known)."""

    env: Mapping[str, str]
    path: Path | None

    @property
    def from_env(self) -> bool:
        return bool(self.env.get(ENV_SECRET_KEY, "").strip())

    def describe(self) -> str:
        if self.from_env:
            return f"the environment variable {ENV_SECRET_KEY}"
        if self.path is None:
            return f"the environment variable {ENV_SECRET_KEY} (not set; no key file configured)"
        return f"the key file {self.path}"

    def load(self) -> list[bytes] | None:
        """The keys, first the one that encrypts; None when there are none yet."""
        if self.from_env:
            text = self.env[ENV_SECRET_KEY]
        elif self.path is not None and self.path.exists():
            try:
                text = self.path.read_text(encoding="ascii")
            except (OSError, UnicodeDecodeError) as exc:
                raise SecretKeyError(f"cannot read {self.describe()}: {type(exc).__name__}") from None
        else:
            return None
        keys = [part.strip().encode() for part in text.replace(",", "\n").splitlines() if part.strip()]
        if not keys:
            raise SecretKeyError(f"{self.describe()} holds no key")
        for key in keys:
            try:
                Fernet(key)
            except ValueError:
                raise SecretKeyError(
                    f"{self.describe()} is not a list of Fernet keys (expected 32 url-safe base64-encoded bytes each)"
                ) from None
        return keys

    def write(self, keys: Sequence[bytes]) -> None:
        """Replace the key file at once (a crash leaves the old file or the new one, never half of one), 0600."""
        if self.from_env or self.path is None:
            raise SecretKeyError(f"the keys come from {self.describe()}: there is no key file to write")
        self.path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".new")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write("".join(key.decode() + "\n" for key in keys))
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, self.path)


class SecretBox:
    """Seals and opens the secrets stored in one database. The keys are read at first use (a command that stores
    no secret needs none); the first secret stored creates the key file when there is no key anywhere."""

    def __init__(self, source: KeySource) -> None:
        self.source = source
        self._keys: list[bytes] | None = None
        self._stamp: int | None = None

    def _file_stamp(self) -> int | None:
        if self.source.from_env or self.source.path is None:
            return None
        try:
            return self.source.path.stat().st_mtime_ns
        except OSError:
            return None

    def _fernet(self, create: bool) -> MultiFernet:
        stamp = self._file_stamp()
        if stamp != self._stamp:  # the key file changed (a rotation): read it again
            self._keys, self._stamp = None, stamp
        if self._keys is None:
            keys = self.source.load()
            if keys is None:
                if not create:
                    raise SecretKeyError(self.missing())
                keys = [Fernet.generate_key()]
                self.source.write(keys)
                self._stamp = self._file_stamp()
            self._keys = keys
        return MultiFernet([Fernet(key) for key in self._keys])

    def missing(self) -> str:
        if self.source.path is None or self.source.from_env:
            where = f"{ENV_SECRET_KEY} is not set"
        else:
            where = f"{ENV_SECRET_KEY} is not set and the key file {self.source.path} does not exist"
        return (
            f"camera passwords in the database are encrypted, but there is no key: {where}; restore the key "
            f"file (or set {ENV_SECRET_KEY}) from the station's backup"
        )

    def reload(self) -> None:
        """Read the keys again at next use (after the key file changed)."""
        self._keys = None

    @staticmethod
    def is_sealed(stored: str) -> bool:
        return stored.startswith(SEALED)

    def seal(self, plain: str) -> str:
        if plain == "":
            return ""
        return SEALED + self._fernet(create=True).encrypt(plain.encode()).decode("ascii")

    def open(self, stored: str) -> str:
        if not self.is_sealed(stored):
            return stored
        try:
            return self._fernet(create=False).decrypt(stored[len(SEALED) :].encode("ascii")).decode()
        except (InvalidToken, UnicodeError):
            raise SecretKeyError(
                f"{self.source.describe()} does not open the camera passwords in the database (they were "
                f"encrypted with another key); restore the right key from the station's backup"
            ) from None

    def reseal(self, stored: str) -> str:
        """``stored`` encrypted with the first key (``open`` first: a wrong key is the same clear error)."""
        return self.seal(self.open(stored))

    def sealed_with_first_key(self, stored: str) -> bool:
        """Whether the first key alone opens ``stored`` (what a finished rotation leaves on every row)."""
        self._fernet(create=False)
        assert self._keys is not None
        try:
            Fernet(self._keys[0]).decrypt(stored[len(SEALED) :].encode("ascii"))
        except InvalidToken:
            return False
        return True


_BOXES: weakref.WeakKeyDictionary[object, SecretBox] = weakref.WeakKeyDictionary()


def bind_secrets(engine: object, box: SecretBox) -> None:
    """``box`` seals and opens the secrets of ``engine``'s database (set once, by ``create_engine_for``)."""
    _BOXES[engine] = box


def secrets_of(engine: object) -> SecretBox:
    """The box of ``engine``'s database; an engine made elsewhere gets the environment variable only."""
    box = _BOXES.get(engine)
    if box is None:
        box = SecretBox(KeySource(os.environ, None))
        _BOXES[engine] = box
    return box


def default_key_file(data_dir: str | Path, configured: str | None) -> Path:
    """``service.secret_key_file`` when set, else ``<data_dir>/secret.key``."""
    return Path(configured).expanduser() if configured else Path(data_dir).expanduser().resolve() / KEY_FILE_NAME

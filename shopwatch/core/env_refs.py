"""``${NAME}`` references: a config value (or a stored camera password) that names an environment variable.

Only variables whose name starts with ``SHOPWATCH_`` may be referenced. The configuration file is often edited by
more people than the service's environment is; without a prefix, a reference could pull any variable the service
was started with (``${DATABASE_URL}``, ``${AWS_SECRET_ACCESS_KEY}``, a proxy's credentials) into a camera
password that is then sent to a shop's camera, or into a webhook URL. A reference outside the prefix is refused
where it is read (the loader names the key and line)."""

from __future__ import annotations

import re

ENV_PREFIX = "SHOPWATCH_"
_ENV_REF_RE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


def env_reference(value: str) -> str | None:
    """The variable ``value`` refers to (the whole value is ``${NAME}``), or None for a plain value."""
    match = _ENV_REF_RE.match(value)
    return None if match is None else match.group(1)


def outside_prefix(name: str) -> str | None:
    """Why ``name`` may not be referenced (a sentence), or None when it may."""
    if name.startswith(ENV_PREFIX) and len(name) > len(ENV_PREFIX):
        return None
    return f"environment variable {name} may not be referenced: only names starting with {ENV_PREFIX} are allowed"

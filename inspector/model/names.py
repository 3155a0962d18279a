"""Names the API accepts: checked before any request, so a typo is one clear line (exit 2)."""

from __future__ import annotations

import re

from inspector.errors import BadInput

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")  # fullmatch: `$` would let a "\n" through


def validate_name(name: str, what: str = "name") -> str:
    """A DNS-1123 label: what namespaces and Service names must be."""
    if not name or len(name) > 63 or not _DNS1123_LABEL.fullmatch(name):
        raise BadInput(
            f"invalid {what} {name!r}: must be at most 63 lowercase letters, digits or '-', "
            "starting and ending with a letter or digit"
        )
    return name

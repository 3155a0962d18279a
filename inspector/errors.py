"""Our own errors, so nothing above the fetching and resolving layers knows about HTTP or DNS libraries.

Each error carries the exit status it maps to; `cli.run` is the one place that turns them into exits.
"""

from __future__ import annotations

from inspector.status import ExitStatus


class InspectorError(Exception):
    """A failure the user can cause or meet; its message is one line for stderr."""

    exit_status = ExitStatus.ERROR


class BadInput(InspectorError):
    """Invalid arguments, names or selectors; an unknown namespace, Service or context."""

    exit_status = ExitStatus.USAGE


class NotFound(BadInput):
    """A named object that does not exist."""


class ClusterUnreachable(InspectorError):
    """The API server cannot be reached, answered with errors, or timed out."""

    exit_status = ExitStatus.UNREACHABLE


class RequestTimedOut(ClusterUnreachable):
    """The API server did not answer within --request-timeout."""


class AuthFailed(ClusterUnreachable):
    """The API server refused our credentials (401), or TLS verification failed."""


class Forbidden(InspectorError):
    """RBAC denied a read (403) where no partial result makes sense."""

    exit_status = ExitStatus.UNREACHABLE


class DNSUnreachable(InspectorError):
    """No DNS server answered."""

    exit_status = ExitStatus.UNREACHABLE

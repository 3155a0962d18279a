"""Our own errors, so nothing above the kube client and the DNS querying knows about HTTP or DNS libraries.

Each error carries the exit status it maps to; `inspector.cli.run` is the one place that turns them into exits.
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


class Expired(ClusterUnreachable):
    """The resourceVersion a watch started from is gone (410 Gone): the kind must be listed again."""


class AuthFailed(ClusterUnreachable):
    """The API server refused our credentials (401), or TLS verification failed."""


class Forbidden(InspectorError):
    """RBAC denied a read (403) where no partial result makes sense."""

    exit_status = ExitStatus.UNREACHABLE


class DNSUnreachable(InspectorError):
    """No DNS server answered."""

    exit_status = ExitStatus.UNREACHABLE

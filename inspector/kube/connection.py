"""The connection: kubeconfig loaded as kubectl loads it, GET requests with bounded retries, and the
client library's failures translated into our own errors.

Why it exists: one place knows HTTP. It asks for raw JSON (the client's model objects cost ~8x the
parse time), retries 429 and 5xx answers and refused connections with urllib3's `Retry` (which
honours the `Retry-After` that API Priority and Fairness sends with every 429, up to a bound), and
turns every failure into an `InspectorError`, so nothing above this package knows a status code.
It only ever reads: GET (LIST and WATCH are GETs).

A 403 is a missing permission, except from an API server still starting: kube-apiserver serves
requests before its RBAC caches have loaded, and refuses them until then (kubernetes#121635). Seen on
kind, whose admin is bound by RBAC (kubeadm 1.29+), for about 0.1 s after an API server restart: a list
and `/readyz` itself both 403, then /readyz 500, then ready. So a 403 is checked against `/readyz`
(every authenticated client may read it, by the default binding system:public-info-viewer): while it
is not ready (5xx, no answer) or refuses the path too, the GET is sent again on the retry schedule.
What is left after the retries: /readyz still not ready is the API server not reachable yet (exit 3;
`-w`, `wait` and `serve` go on retrying); /readyz refused all along is a cluster that does not grant
it, and the 403 is taken at its word, as it is from a ready API server or one without /readyz.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import urllib3
import yaml
from urllib3.util.retry import Retry

from inspector.errors import (
    AuthFailed,
    BadInput,
    ClusterUnreachable,
    Expired,
    Forbidden,
    InspectorError,
    NotFound,
    RequestTimedOut,
)
from inspector.kube.importing import ConfigException, k8s_client, k8s_config
from inspector.kube.resources import JSON
from inspector.settings import Settings

# the logger's name is what `-vv` prints before every request ("DEBUG inspector.fetching: GET ...")
log = logging.getLogger("inspector.fetching")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRIES = 4
BACKOFF_S = 0.25  # before the first retry, doubling (0.25, 0.5, 1, 2)
BACKOFF_MAX_S = 4.0
RETRY_AFTER_MAX_S = 10  # a Retry-After longer than this is waited only this long
READYZ_TIMEOUT_S = 3.0  # how long /readyz may take to say whether a 403 came from a starting API server
READY_FRESH_S = 2.0  # a /readyz that said ready is believed this long (403s come in bursts)
# Loading a kubeconfig writes its certificates to temporary files that the client library remembers in
# a module-level dict (registered before they are written): contexts connected in parallel (a fleet)
# load one at a time. Each still gets its own Configuration; nothing else is shared.
_LOADING = threading.Lock()


class _Backoff(Retry):
    """urllib3's Retry with our schedule: BACKOFF_S before the first retry, doubling (urllib3's own
    waits nothing before the first). A Retry-After header, when sent, is waited instead."""

    def get_backoff_time(self) -> float:
        retried = len(self.history)
        return 0.0 if retried == 0 else min(BACKOFF_S * 2 ** (retried - 1), BACKOFF_MAX_S)


def retry_policy() -> Retry:
    """Bounded retries of GETs: 429 and 5xx answers, and connections refused or reset (a restarting
    API server); never a read that timed out (it already waited as long as the user allowed)."""
    return _Backoff(
        total=RETRIES,
        connect=RETRIES,
        read=0,
        status=RETRIES,
        other=0,
        redirect=0,
        allowed_methods=frozenset({"GET"}),
        status_forcelist=RETRY_STATUSES,
        respect_retry_after_header=True,
        retry_after_max=RETRY_AFTER_MAX_S,
        raise_on_status=False,
    )


@dataclass(frozen=True)
class NotReady:
    """Why `/readyz` says the API server may not be ready yet; `refused`: it refused the path itself."""

    why: str
    refused: bool = False


class _HTTPError(Exception):
    def __init__(self, status: int, reason: str, path: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status, self.reason, self.path = status, reason, path


def _kubeconfig_files(kubeconfig: str | None, settings: Settings) -> list[str]:
    if kubeconfig:
        return [kubeconfig]
    env = settings.kubeconfig
    if env:
        return [p for p in env.split(os.pathsep) if p]
    return [str(Path("~/.kube/config").expanduser())]


def _check_kubeconfig_readable(files: list[str]) -> None:
    existing = [f for f in files if Path(f).expanduser().is_file()]
    if not existing:
        raise BadInput(f"kubeconfig {os.pathsep.join(files)} not found")
    for f in existing:
        try:
            data = yaml.safe_load(Path(f).expanduser().read_text())
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInput(f"kubeconfig {f} cannot be read: {exc.__class__.__name__}") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark else ""
            raise BadInput(f"kubeconfig {f} is not valid YAML{where}") from None
        if data is not None and not isinstance(data, dict):
            raise BadInput(f"kubeconfig {f} is not a kubeconfig (expected a mapping)")


@dataclass
class Client:
    """A connection to one API server, with the context's defaults. Close it (or use it as a context
    manager) to release its pooled connections."""

    api: Any  # kubernetes.client.ApiClient
    context: str
    namespace: str  # the context's namespace, the default for -n
    server: str
    request_timeout: float | None = None
    on_request: Callable[[str], None] | None = field(default=None, repr=False)
    ready_at: float | None = field(default=None, repr=False)  # when /readyz last said ready

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Closes every pooled connection (and the client library's thread pool, if it made one).
        The pools are closed one by one first: this urllib3's PoolManager.clear() only forgets them,
        leaving their idle connections open until the garbage collector finds them."""
        pools = self.api.rest_client.pool_manager.pools
        for key in list(pools.keys()):
            pools[key].close()
        self.api.close()

    def get_bytes(self, path: str, query: list[tuple[str, Any]] | None = None) -> bytes:
        """The body of one GET that answered < 400 (retried as `retry_policy` says, and a 403 while
        the API server is still starting on the same schedule), or our error."""
        for attempt in range(RETRIES + 1):
            resp = self.send(path, query or [], self.request_timeout)
            try:
                data: bytes = resp.read()
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise self.connection_error(exc) from None
            finally:
                # back to the pool, which close() empties: a response read without preloading keeps
                # its connection until it is collected, and pages read in threads are collected late
                resp.response.release_conn()
            if resp.status < 400:
                return data
            error = _HTTPError(resp.status, _status_message(data) or str(resp.reason), path)
            if resp.status != 403:
                raise self._translate(error)
            not_ready = self.starting()
            if not_ready is None or attempt == RETRIES:
                break
            time.sleep(min(BACKOFF_S * 2**attempt, BACKOFF_MAX_S))
        raise self._forbidden(error, not_ready, retried=attempt == RETRIES)

    def get_json(self, path: str, query: list[tuple[str, Any]] | None = None) -> JSON:
        """One GET answered with a JSON object (retried as `retry_policy` says), or our error."""
        data = self.get_bytes(path, query)
        try:
            parsed = json.loads(data)
        except ValueError:
            raise ClusterUnreachable(
                f"the API server {self.server} answered {path} with invalid JSON"
            ) from None
        if not isinstance(parsed, dict):
            raise ClusterUnreachable(f"the API server {self.server} answered {path} with unexpected JSON")
        return parsed

    def send(self, path: str, query: list[tuple[str, Any]], timeout: float | None) -> Any:
        """One GET; returns the client's response (body not yet read), or raises our errors."""
        if self.on_request:
            self.on_request(path)
        method, url, headers, _, _ = self.api.param_serialize(
            method="GET",
            resource_path=path,
            query_params=query,
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
        )
        log.debug("GET %s", url)
        try:
            return self.api.call_api(method, url, header_params=headers, _request_timeout=timeout)
        except urllib3.exceptions.MaxRetryError as exc:
            raise self.connection_error(exc.reason or exc) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self.connection_error(exc) from None

    def get_once(self, path: str, timeout: float, accept: str = "application/json") -> tuple[int, bytes]:
        """One GET of `path`, not retried, bounded by `timeout`: its status and body, whatever the
        status. TimeoutError when nothing answered in time; a connection that fails (refused
        included, which urllib3 files under timeouts) as our errors."""
        _, url, headers, _, _ = self.api.param_serialize(
            method="GET", resource_path=path, header_params={"Accept": accept}, auth_settings=["BearerToken"]
        )
        log.debug("GET %s (once, within %gs)", url, timeout)
        try:
            resp = self.api.rest_client.pool_manager.request(
                "GET", url, headers=headers, retries=False, timeout=timeout, preload_content=True
            )
        except urllib3.exceptions.NewConnectionError as exc:  # refused: a subclass of the timeout
            raise self.connection_error(exc) from None
        except urllib3.exceptions.TimeoutError:
            raise TimeoutError(f"no answer within {timeout:g}s") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self.connection_error(exc) from None
        return resp.status, bytes(resp.data or b"")

    def unanswered(self, timeout: float) -> str | None:
        """Whether the API server answers at all: one GET of `/version` (served from memory, open to
        every client), not retried, bounded by `timeout`. None when it answered; otherwise why not."""
        try:
            status, _ = self.get_once("/version", timeout)
        except TimeoutError:
            return f"the API server {self.server} did not answer /version within {timeout:g}s"
        except InspectorError as exc:
            return str(exc)
        if status >= 500:
            return f"the API server {self.server} answered {status} to /version"
        return None

    def starting(self) -> NotReady | None:
        """Why the API server may not be ready yet, from one GET of `/readyz` (not retried, bounded
        by READYZ_TIMEOUT_S): it answered 5xx, refused the path (401, 403: so its authorizer may not
        have loaded either), or did not answer. None when it is ready or has no /readyz (404)."""
        now = time.monotonic()
        if self.ready_at is not None and now - self.ready_at < READY_FRESH_S:
            return None
        try:
            status, _ = self.get_once("/readyz", READYZ_TIMEOUT_S, accept="text/plain")
        except (TimeoutError, InspectorError) as exc:
            return NotReady(f"/readyz: {exc}")
        if status == 200:
            self.ready_at = now
            return None
        return None if status == 404 else NotReady(f"/readyz answered {status}", refused=status in (401, 403))

    def error_status(self, resp: Any, path: str) -> InspectorError:
        """Our error for a response that answered >= 400."""
        return self._translate(_HTTPError(resp.status, _status_message(resp.read()) or "", path))

    def connection_error(self, exc: BaseException) -> InspectorError:
        if isinstance(exc, urllib3.exceptions.SSLError):
            return AuthFailed(f"TLS verification of {self.server} failed: {_reason(exc)}")
        if isinstance(exc, urllib3.exceptions.NewConnectionError):  # a ConnectTimeoutError subclass
            return ClusterUnreachable(f"cannot reach the API server {self.server}: {_reason(exc)}")
        if isinstance(exc, (urllib3.exceptions.TimeoutError, TimeoutError)):
            within = f" within {self.request_timeout:g}s (--request-timeout)" if self.request_timeout else ""
            return RequestTimedOut(f"the API server {self.server} did not answer{within}")
        return ClusterUnreachable(f"cannot reach the API server {self.server}: {_reason(exc)}")

    def _forbidden(self, exc: _HTTPError, not_ready: NotReady | None, retried: bool) -> InspectorError:
        """Our error for a 403, given what /readyz said; `retried`: the GET was already sent again
        while /readyz said the API server was starting, so /readyz refused still is taken as never
        granted."""
        if not_ready is not None and not (retried and not_ready.refused):
            return ClusterUnreachable(
                f"cannot reach the API server {self.server}: it is not ready yet ({not_ready.why}) and "
                f"refuses requests until its authorization has loaded (403: {exc.reason})"
            )
        return Forbidden(f"forbidden: {exc.reason}")

    def _translate(self, exc: _HTTPError) -> InspectorError:
        """Our error for an answer >= 400."""
        if exc.status == 401:
            return AuthFailed(
                f"the API server {self.server} rejected the credentials of context "
                f"{self.context!r} (401 Unauthorized)"
            )
        if exc.status == 403:
            return self._forbidden(exc, self.starting(), retried=False)
        if exc.status == 404:
            return NotFound(f"not found: {exc.path}")
        if exc.status == 410:
            return Expired(f"expired: {exc.reason}")
        if exc.status == 429:
            return ClusterUnreachable(
                f"the API server {self.server} kept throttling requests (429) after {RETRIES} retries"
            )
        return ClusterUnreachable(
            f"the API server {self.server} answered {exc.status} ({exc.reason}) after {RETRIES} retries"
        )


def _reason(exc: BaseException) -> str:
    text = str(exc)
    for marker in (
        "Connection refused",
        "Name or service not known",
        "certificate verify failed",
        "timed out",
        "No route to host",
    ):
        if marker in text:
            return marker
    return text.splitlines()[0][:200] if text else exc.__class__.__name__


def _status_message(data: bytes) -> str | None:
    try:
        status = json.loads(data)
    except ValueError:
        return None
    return str(status.get("message")) if isinstance(status, dict) and status.get("message") else None


@contextmanager
def _kubeconfig_errors(joined: str) -> Iterator[None]:
    """The client library's complaints about a kubeconfig, as our one-line bad input."""
    try:
        yield
    except ConfigException as exc:
        raise BadInput(f"invalid kubeconfig {joined}: {str(exc).splitlines()[0][:200]}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BadInput(f"invalid kubeconfig {joined}: {exc.__class__.__name__}") from None
    except OSError as exc:
        raise BadInput(f"kubeconfig {joined} cannot be read: {exc.strerror or exc}") from None


def kubeconfig_contexts(
    kubeconfig: str | None = None,
    settings: Settings = Settings(),  # noqa: B008 (frozen: one shared value is safe)
) -> tuple[list[str], str | None]:
    """The context names of the kubeconfig `connect` would load (--kubeconfig, else KUBECONFIG's files
    merged, else ~/.kube/config), in kubectl's order, and the current context's name (None: none)."""
    files = _kubeconfig_files(kubeconfig, settings)
    _check_kubeconfig_readable(files)
    joined = os.pathsep.join(files)
    with _kubeconfig_errors(joined):
        contexts, current = k8s_config.list_kube_config_contexts(config_file=joined)  # type: ignore[no-untyped-call]
        return [str(c["name"]) for c in contexts or []], (str(current["name"]) if current else None)


def connect(
    kubeconfig: str | None = None,
    context: str | None = None,
    request_timeout: float | None = None,
    settings: Settings = Settings(),  # noqa: B008 (frozen: one shared value is safe)
) -> Client:
    """Load kubeconfig as kubectl does: --kubeconfig, else KUBECONFIG (files merged), else ~/.kube/config;
    in a pod without any of these, the in-cluster ServiceAccount. `settings` carries KUBECONFIG and
    whether this runs in a pod (the default: an empty environment)."""
    cfg = k8s_client.Configuration()
    files = _kubeconfig_files(kubeconfig, settings)
    in_cluster = (
        not kubeconfig and not settings.kubeconfig and not Path(files[0]).is_file() and settings.in_cluster
    )
    if in_cluster:
        try:
            k8s_config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
        except ConfigException as exc:
            raise BadInput(f"in-cluster configuration failed: {exc}") from None
        ns_file = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
        namespace = ns_file.read_text().strip() if ns_file.is_file() else "default"
        ctx_name = "in-cluster"
    else:
        _check_kubeconfig_readable(files)
        joined = os.pathsep.join(files)
        with _LOADING, _kubeconfig_errors(joined):
            contexts, current = k8s_config.list_kube_config_contexts(config_file=joined)  # type: ignore[no-untyped-call]
            names = [c["name"] for c in contexts or []]
            if context and context not in names:
                raise BadInput(f'context "{context}" not found in kubeconfig {joined}')
            chosen = next((c for c in contexts if c["name"] == context), None) if context else current
            if not chosen:
                raise BadInput(f"kubeconfig {joined} has no current context; pass --context")
            k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=joined, context=context, client_configuration=cfg, persist_config=False
            )
        namespace = (chosen.get("context") or {}).get("namespace") or "default"
        ctx_name = chosen["name"]
    cfg.retries = retry_policy()
    api = k8s_client.ApiClient(configuration=cfg)
    return Client(
        api=api, context=ctx_name, namespace=namespace, server=str(cfg.host), request_timeout=request_timeout
    )

"""The connection: kubeconfig loaded as kubectl loads it, GET requests with bounded retries, and
failures translated into our own errors.

Why it exists: one place knows HTTP. It asks for raw JSON over one urllib3 pool (the client
library's model objects cost ~8x the parse time, and importing them ~0.1-0.2 s before the first
request), retries 429 and 5xx answers and refused connections with urllib3's `Retry` (which honours
the `Retry-After` that API Priority and Fairness sends with every 429, up to a bound), and turns every
failure into an `InspectorError`, so nothing above this package knows a status code. Reads are GETs
(LIST and WATCH too); `probing.py` sends `why`'s writes through the same pool.

The kubeconfig is read by `kubeconfig.py`; a context whose user only the Kubernetes client library
can turn into credentials (an exec plugin, an auth provider), and the in-cluster ServiceAccount, are
loaded by that library instead, and its credentials go through the same pool. The library itself
is imported only there and where a command needs its API (the DNS port-forward): `library_api`.
"""

from __future__ import annotations

import json
import logging
import os
import ssl
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlencode

import urllib3
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
from inspector.kube.kubeconfig import Credentials, load_file, read_kubeconfig
from inspector.kube.resources import JSON
from inspector.settings import Settings

# the logger's name is what `-vv` prints before every request ("DEBUG inspector.fetching: GET ...")
log = logging.getLogger("inspector.fetching")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRIES = 4
BACKOFF_S = 0.25  # before the first retry, doubling (0.25, 0.5, 1, 2)
BACKOFF_MAX_S = 4.0
RETRY_AFTER_MAX_S = 10  # a Retry-After longer than this is waited only this long


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


def _check_kubeconfig_readable(files: list[str]) -> list[str]:
    """The files that exist, each read once to fail early in one line; BadInput if none exists."""
    existing = [f for f in files if Path(f).expanduser().is_file()]
    if not existing:
        raise BadInput(f"kubeconfig {os.pathsep.join(files)} not found")
    for f in existing:
        load_file(f)
    return existing


@dataclass
class Transport:
    """One API server's connection pool and what every request carries. Shared by the copies of a
    `Client` (`dataclasses.replace` with another timeout)."""

    pool: urllib3.PoolManager
    # the Authorization header, asked before each request (the library refreshes an exec plugin's token)
    authorization: Callable[[], str | None]
    library: Callable[[], Any]  # the client library's ApiClient for this context, made on first use
    library_api: Any = None


@dataclass
class Client:
    """A connection to one API server, with the context's defaults. Close it (or use it as a context
    manager) to release its pooled connections."""

    transport: Transport
    context: str
    namespace: str  # the context's namespace, the default for -n
    server: str
    request_timeout: float | None = None
    on_request: Callable[[str], None] | None = field(default=None, repr=False)

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Closes every pooled connection (and the client library's, if a command made one). The pools
        are closed one by one first: this urllib3's PoolManager.clear() only forgets them, leaving
        their idle connections open until the garbage collector finds them."""
        pools = self.transport.pool.pools
        for key in list(pools.keys()):
            pools[key].close()
        self.transport.pool.clear()
        if self.transport.library_api is not None:
            self.transport.library_api.close()

    def library_api(self) -> Any:
        """The Kubernetes client library's ApiClient for the same context (kubernetes.stream needs
        it), made on first use: only the commands that need it pay for importing the library."""
        if self.transport.library_api is None:
            self.transport.library_api = self.transport.library()
        return self.transport.library_api

    def get_bytes(self, path: str, query: list[tuple[str, Any]] | None = None) -> bytes:
        """The body of one GET that answered < 400 (retried as `retry_policy` says), or our error."""
        resp = self.send(path, query or [], self.request_timeout)
        try:
            data: bytes = resp.read()
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self.connection_error(exc) from None
        finally:
            # back to the pool, which close() empties: a response read without preloading keeps its
            # connection until it is collected, and pages read in threads are collected late
            resp.release_conn()
        if resp.status >= 400:
            raise self._translate(_HTTPError(resp.status, _status_message(data) or str(resp.reason), path))
        return data

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
        """One GET; returns urllib3's response (body not yet read), or raises our errors."""
        return self.request("GET", path, query, timeout)

    def request(
        self,
        method: str,
        path: str,
        query: list[tuple[str, Any]],
        timeout: float | None,
        body: bytes | None = None,
        content_type: str | None = None,
    ) -> Any:
        """One request (retried as `retry_policy` says: GETs, and connections refused before any
        request was sent); urllib3's response with its body unread, or our errors."""
        if self.on_request:
            self.on_request(path)
        url = self.server + quote(path)
        if query:
            url += "?" + urlencode([(k, str(v).lower() if isinstance(v, bool) else v) for k, v in query])
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        auth = self.transport.authorization()
        if auth:
            headers["Authorization"] = auth
        if content_type:
            headers["Content-Type"] = content_type
        log.debug("%s %s", method, url)
        try:
            return self.transport.pool.request(
                method,
                url,
                body=body,
                headers=headers,
                preload_content=False,
                timeout=urllib3.Timeout(total=timeout) if timeout else urllib3.Timeout(),
            )
        except urllib3.exceptions.MaxRetryError as exc:
            raise self.connection_error(exc.reason or exc) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self.connection_error(exc) from None

    def error_status(self, resp: Any, path: str, body: bytes | None = None) -> InspectorError:
        """Our error for a response that answered >= 400 (`body`: its body, if already read)."""
        data = resp.read() if body is None else body
        return self._translate(_HTTPError(resp.status, _status_message(data) or "", path))

    def connection_error(self, exc: BaseException) -> InspectorError:
        if isinstance(exc, urllib3.exceptions.SSLError):
            return AuthFailed(f"TLS verification of {self.server} failed: {_reason(exc)}")
        if isinstance(exc, urllib3.exceptions.NewConnectionError):  # a ConnectTimeoutError subclass
            return ClusterUnreachable(f"cannot reach the API server {self.server}: {_reason(exc)}")
        if isinstance(exc, (urllib3.exceptions.TimeoutError, TimeoutError)):
            within = f" within {self.request_timeout:g}s (--request-timeout)" if self.request_timeout else ""
            return RequestTimedOut(f"the API server {self.server} did not answer{within}")
        return ClusterUnreachable(f"cannot reach the API server {self.server}: {_reason(exc)}")

    def _translate(self, exc: _HTTPError) -> InspectorError:
        if exc.status == 401:
            return AuthFailed(
                f"the API server {self.server} rejected the credentials of context "
                f"{self.context!r} (401 Unauthorized)"
            )
        if exc.status == 403:
            return Forbidden(f"forbidden: {exc.reason}")
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


def connect(
    kubeconfig: str | None = None,
    context: str | None = None,
    request_timeout: float | None = None,
    settings: Settings = Settings(),  # noqa: B008 (frozen: one shared value is safe)
) -> Client:
    """Load kubeconfig as kubectl does: --kubeconfig, else KUBECONFIG (files merged), else ~/.kube/config;
    in a pod without any of these, the in-cluster ServiceAccount. `settings` carries KUBECONFIG and
    whether this runs in a pod (the default: an empty environment)."""
    files = _kubeconfig_files(kubeconfig, settings)
    in_cluster = (
        not kubeconfig and not settings.kubeconfig and not Path(files[0]).is_file() and settings.in_cluster
    )
    if in_cluster:
        return _connect_with_library(None, None, request_timeout)
    files = _check_kubeconfig_readable(files)
    creds = read_kubeconfig(files, context)
    if creds.needs_library:
        return _connect_with_library(files, creds.context, request_timeout)
    library = _library_loader(files, creds.context)
    token = f"Bearer {creds.token}" if creds.token else None
    transport = Transport(_pool(creds), lambda: token, library)
    return Client(transport, creds.context, creds.namespace, creds.server, request_timeout)


USER_AGENT = "kubectl-svc-inspect"  # in the audit log beside kubectl's own
POOL_SIZE = 16  # connections kept per host: three kinds listed side by side, two pages ahead, watches


def _ssl_context(creds: Credentials) -> ssl.SSLContext:
    """TLS as the kubeconfig says: its CA (else the system's), its client certificate, or no
    verification when it says insecure-skip-tls-verify."""
    ctx = ssl.create_default_context(
        cafile=creds.ca_file, cadata=creds.ca_pem.decode() if creds.ca_pem else None
    )
    if creds.insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if creds.cert_pem or creds.cert_file:
        # ssl loads a client certificate from files only: PEM from the kubeconfig goes through a
        # private directory that is gone before this returns (nothing of the key is left on disk)
        with tempfile.TemporaryDirectory(prefix="svc-inspect-") as private:
            cert = creds.cert_file or _write_private(Path(private) / "cert.pem", creds.cert_pem)
            key = creds.key_file or (
                _write_private(Path(private) / "key.pem", creds.key_pem) if creds.key_pem else None
            )
            try:
                ctx.load_cert_chain(cert, key)
            except (OSError, ssl.SSLError) as exc:
                raise BadInput(
                    f"the kubeconfig's client certificate cannot be used: {exc.__class__.__name__}"
                ) from None
    return ctx


def _write_private(path: Path, data: bytes | None) -> str:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data or b"")
    return str(path)


def _pool(creds: Credentials) -> urllib3.PoolManager:
    kwargs: dict[str, Any] = {"maxsize": POOL_SIZE, "retries": retry_policy(), "block": False}
    if creds.server.startswith("https:"):
        try:
            kwargs["ssl_context"] = _ssl_context(creds)
        except (OSError, ssl.SSLError) as exc:
            raise BadInput(
                f"the kubeconfig's certificate authority cannot be used: {exc.__class__.__name__}"
            ) from None
        if creds.tls_server_name:
            kwargs["server_hostname"] = creds.tls_server_name
    if creds.proxy_url and creds.proxy_url.startswith("socks"):
        try:
            from urllib3.contrib.socks import SOCKSProxyManager
        except ImportError:
            raise BadInput(f"proxy-url {creds.proxy_url}: a SOCKS proxy needs PySocks installed") from None
        return SOCKSProxyManager(creds.proxy_url, **kwargs)
    if creds.proxy_url:
        return urllib3.ProxyManager(creds.proxy_url, **kwargs)
    return urllib3.PoolManager(**kwargs)


def _library_loader(files: list[str] | None, context: str | None) -> Callable[[], Any]:
    """A function making the client library's ApiClient for this context (files None: in-cluster)."""

    def load() -> Any:
        from kubernetes import client as k8s_client

        cfg = _library_configuration(files, context)
        cfg.retries = retry_policy()
        return k8s_client.ApiClient(configuration=cfg)

    return load


def _library_configuration(files: list[str] | None, context: str | None) -> Any:
    """The client library's Configuration for the context, loaded by the library; our errors."""
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.config.config_exception import ConfigException

    cfg = k8s_client.Configuration()
    if files is None:
        try:
            k8s_config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
        except ConfigException as exc:
            raise BadInput(f"in-cluster configuration failed: {exc}") from None
        return cfg
    joined = os.pathsep.join(files)
    try:
        k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=joined, context=context, client_configuration=cfg, persist_config=False
        )
    except ConfigException as exc:
        raise BadInput(f"invalid kubeconfig {joined}: {str(exc).splitlines()[0][:200]}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BadInput(f"invalid kubeconfig {joined}: {exc.__class__.__name__}") from None
    except OSError as exc:
        raise BadInput(f"kubeconfig {joined} cannot be read: {exc.strerror or exc}") from None
    return cfg


def _connect_with_library(
    files: list[str] | None, context: str | None, request_timeout: float | None
) -> Client:
    """A context only the client library can load (an exec plugin, an auth provider) or the pod's
    ServiceAccount: the library's credentials, our pool and requests."""
    cfg = _library_configuration(files, context)
    if files is None:
        ns_file = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
        namespace, name = (ns_file.read_text().strip() if ns_file.is_file() else "default"), "in-cluster"
    else:
        namespace, name = read_kubeconfig(files, context).namespace, str(context)
    creds = Credentials(
        context=name,
        namespace=namespace,
        server=str(cfg.host).rstrip("/"),
        ca_file=cfg.ssl_ca_cert,
        cert_file=cfg.cert_file,
        key_file=cfg.key_file,
        insecure=not cfg.verify_ssl,
        tls_server_name=getattr(cfg, "tls_server_name", None),
        proxy_url=cfg.proxy,
    )

    def authorization() -> str | None:
        # as the library's own requests ask it: its hook refreshes an exec plugin's expired token
        setting = cfg.auth_settings().get("BearerToken")
        return str(setting["value"]) if setting and setting.get("value") else None

    transport = Transport(_pool(creds), authorization, _library_loader(files, context))
    return Client(transport, name, namespace, creds.server, request_timeout)

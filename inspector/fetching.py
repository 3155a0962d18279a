"""Fetching: the only module that talks to the Kubernetes API, and the only one importing `kubernetes`.

Why it exists: one place loads kubeconfig with kubectl's semantics, issues one paginated LIST per
kind (never a request per Service), asks for raw JSON (the client's model objects cost ~8x the parse
time) and translates the client library's failures into our own errors, so nothing above this
boundary knows about HTTP. It only ever reads: GET, LIST and WATCH.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import urllib3
import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.config.config_exception import ConfigException

from inspector.errors import (
    AuthFailed,
    BadInput,
    ClusterUnreachable,
    Forbidden,
    InspectorError,
    NotFound,
    RequestTimedOut,
)
from inspector.snapshot import (
    JSON,
    EndpointSlice,
    Node,
    Pod,
    Service,
    Snapshot,
    Workload,
    endpointslice_from_api,
    endpointslices_from_legacy_endpoints,
    node_from_api,
    paused_gc,
    pod_from_api,
    service_from_api,
    workload_from_api,
)

log = logging.getLogger("inspector.fetching")

PAGE_SIZE = 500
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRIES = 4
BACKOFF_S = 0.25


class _HTTPError(Exception):
    def __init__(self, status: int, reason: str, path: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status, self.reason, self.path = status, reason, path


@dataclass(frozen=True, slots=True)
class Resource:
    kind: str
    group_version: str  # "v1" for the core group
    plural: str
    namespaced: bool = True

    def path(self, namespace: str | None = None) -> str:
        base = "/api/v1" if self.group_version == "v1" else f"/apis/{self.group_version}"
        if self.namespaced and namespace:
            return f"{base}/namespaces/{namespace}/{self.plural}"
        return f"{base}/{self.plural}"


SERVICES = Resource("Service", "v1", "services")
PODS = Resource("Pod", "v1", "pods")
ENDPOINTSLICES = Resource("EndpointSlice", "discovery.k8s.io/v1", "endpointslices")
ENDPOINTS = Resource("Endpoints", "v1", "endpoints")
NODES = Resource("Node", "v1", "nodes", namespaced=False)
NAMESPACES = Resource("Namespace", "v1", "namespaces", namespaced=False)
DEPLOYMENTS = Resource("Deployment", "apps/v1", "deployments")
STATEFULSETS = Resource("StatefulSet", "apps/v1", "statefulsets")
REPLICASETS = Resource("ReplicaSet", "apps/v1", "replicasets")


def _kubeconfig_files(kubeconfig: str | None) -> list[str]:
    if kubeconfig:
        return [kubeconfig]
    env = os.environ.get("KUBECONFIG")
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
class Cluster:
    """A connection to one API server, with the context's defaults."""

    api: Any  # kubernetes.client.ApiClient
    context: str
    namespace: str  # the context's namespace, the default for -n
    server: str
    request_timeout: float | None = None
    on_request: Callable[[str], None] | None = field(default=None, repr=False)

    # -------------------------------------------------------------- raw requests

    def get_json(self, path: str, query: list[tuple[str, Any]] | None = None) -> JSON:
        delay = BACKOFF_S
        for attempt in range(RETRIES + 1):
            try:
                return self._get_once(path, query or [])
            except _HTTPError as exc:
                if exc.status not in RETRY_STATUSES or attempt == RETRIES:
                    raise self._translate(exc) from None
                log.debug("GET %s answered %s; retrying in %.2fs", path, exc.status, delay)
            except ClusterUnreachable as exc:
                # a refused or reset connection may be a restart: retry; a timeout already waited
                # as long as the user allowed, and AuthFailed will not change
                if attempt == RETRIES or isinstance(exc, (AuthFailed, RequestTimedOut)):
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 4.0)
        raise AssertionError("unreachable")

    def _send(self, path: str, query: list[tuple[str, Any]], timeout: float | None) -> Any:
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
            raise self._connection_error(exc.reason or exc) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._connection_error(exc) from None

    def _connection_error(self, exc: BaseException) -> InspectorError:
        if isinstance(exc, urllib3.exceptions.SSLError):
            return AuthFailed(f"TLS verification of {self.server} failed: {_reason(exc)}")
        if isinstance(exc, urllib3.exceptions.NewConnectionError):  # a ConnectTimeoutError subclass
            return ClusterUnreachable(f"cannot reach the API server {self.server}: {_reason(exc)}")
        if isinstance(exc, (urllib3.exceptions.TimeoutError, TimeoutError)):
            within = f" within {self.request_timeout:g}s (--request-timeout)" if self.request_timeout else ""
            return RequestTimedOut(f"the API server {self.server} did not answer{within}")
        return ClusterUnreachable(f"cannot reach the API server {self.server}: {_reason(exc)}")

    def _get_once(self, path: str, query: list[tuple[str, Any]]) -> JSON:
        resp = self._send(path, query, self.request_timeout)
        try:
            data = resp.read()
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._connection_error(exc) from None
        if resp.status >= 400:
            raise _HTTPError(resp.status, _status_message(data) or str(resp.reason), path)
        try:
            parsed = json.loads(data)
        except ValueError:
            raise ClusterUnreachable(
                f"the API server {self.server} answered {path} with invalid JSON"
            ) from None
        if not isinstance(parsed, dict):
            raise ClusterUnreachable(f"the API server {self.server} answered {path} with unexpected JSON")
        return parsed

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
        if exc.status == 429:
            return ClusterUnreachable(
                f"the API server {self.server} kept throttling requests (429) after {RETRIES} retries"
            )
        return ClusterUnreachable(
            f"the API server {self.server} answered {exc.status} ({exc.reason}) after {RETRIES} retries"
        )

    def pages(self, resource: Resource, namespace: str | None = None) -> Iterator[JSON]:
        """The pages of one paginated LIST of a kind (PAGE_SIZE objects each)."""
        token = None
        while True:
            query: list[tuple[str, Any]] = [("limit", PAGE_SIZE)]
            if token:
                query.append(("continue", token))
            page = self.get_json(resource.path(namespace), query)
            yield page
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return

    def list_objects(self, resource: Resource, namespace: str | None = None) -> Iterator[JSON]:
        """Every object of a kind (one paginated LIST)."""
        for page in self.pages(resource, namespace):
            items = page.get("items")
            yield from (i for i in items if isinstance(i, dict)) if isinstance(items, list) else ()

    def list_with_version(self, resource: Resource, namespace: str | None) -> tuple[list[JSON], str]:
        """Every object of a kind and the list's resourceVersion, to start a watch from."""
        items: list[JSON] = []
        version = ""
        for page in self.pages(resource, namespace):
            raw = page.get("items")
            items += [i for i in raw if isinstance(i, dict)] if isinstance(raw, list) else []
            version = str((page.get("metadata") or {}).get("resourceVersion") or version)
        return items, version

    def watch(
        self, resource: Resource, namespace: str | None, resource_version: str, timeout_s: int
    ) -> Iterator[JSON]:
        """Watch events ({"type", "object"}) from a resourceVersion until the server ends the watch
        (after `timeout_s`). A 410 Gone arrives as an ERROR event, as the API sends it."""
        query: list[tuple[str, Any]] = [
            ("watch", "true"),
            ("resourceVersion", resource_version),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", timeout_s),
        ]
        resp = self._send(resource.path(namespace), query, timeout_s + 15)
        if resp.status >= 400:
            raise self._translate(
                _HTTPError(resp.status, _status_message(resp.read()) or "", resource.plural)
            )
        buffer = b""
        try:
            for chunk in resp.response.stream(64 * 1024, decode_content=True):
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.strip():
                        event = json.loads(line)
                        if isinstance(event, dict):
                            yield event
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            raise self._connection_error(exc) from None
        finally:
            resp.response.release_conn()

    def config_map(self, namespace: str, name: str) -> JSON | None:
        """One ConfigMap, or None when it does not exist or may not be read."""
        try:
            return self.get_json(f"/api/v1/namespaces/{namespace}/configmaps/{name}")
        except (NotFound, Forbidden):
            return None

    # -------------------------------------------------------------- the snapshot

    def check_namespace(self, namespace: str) -> None:
        try:
            self.get_json(f"/api/v1/namespaces/{namespace}")
        except NotFound:
            raise NotFound(f'namespace "{namespace}" not found') from None
        except Forbidden:
            pass  # may not read namespaces but may read inside it

    def snapshot(self, namespace: str | None) -> Snapshot:
        """Services, EndpointSlices, Pods, Nodes and workloads of one namespace, or of all (None)."""
        with paused_gc():
            return self._snapshot(namespace)

    def _snapshot(self, namespace: str | None) -> Snapshot:
        if namespace is not None:
            self.check_namespace(namespace)
        notes: list[str] = []
        scopes: list[str | None] = [namespace]
        if namespace is None:
            scopes = self._readable_scopes(notes)

        services: list[Service] = []
        pods: list[Pod] = []
        slices: list[EndpointSlice] = []
        workloads: list[Workload] = []
        forbidden: list[str] = []
        for scope in scopes:
            try:
                services += (service_from_api(o) for o in self.list_objects(SERVICES, scope))
                pods += (pod_from_api(o) for o in self.list_objects(PODS, scope))
                slices += self._slices(scope)
            except Forbidden as exc:
                if namespace is not None:
                    raise Forbidden(f"cannot read namespace {namespace}: {exc}") from None
                forbidden.append(str(scope))
                continue
            workloads += self._workloads(scope, notes)
        if forbidden:
            notes.append(f"left out for lack of permission: namespace(s) {', '.join(forbidden)}")
        nodes: list[Node] = []
        try:
            nodes = [node_from_api(o) for o in self.list_objects(NODES)]
        except Forbidden:
            notes.append(
                "cannot list nodes: node ports per node and externalTrafficPolicy checks are skipped"
            )
        readable = (
            None if scopes == [None] else tuple(s for s in scopes if s is not None and s not in forbidden)
        )
        return Snapshot(
            tuple(services),
            tuple(slices),
            tuple(pods),
            tuple(nodes),
            tuple(workloads),
            readable,
            tuple(dict.fromkeys(notes)),
        )

    def _readable_scopes(self, notes: list[str]) -> list[str | None]:
        """All namespaces at once when allowed; else each namespace we can list, one by one."""
        try:
            self.get_json(SERVICES.path(), [("limit", 1)])  # a permission probe: one object, not a page
            return [None]
        except Forbidden:
            pass
        try:
            names = [str((o.get("metadata") or {}).get("name")) for o in self.list_objects(NAMESPACES)]
        except Forbidden:
            notes.append(
                f"cannot list across namespaces or list namespaces: showing namespace {self.namespace} only"
            )
            return [self.namespace]
        notes.append("cannot list across all namespaces: reading namespace by namespace")
        return list(names)

    def _slices(self, scope: str | None) -> list[EndpointSlice]:
        try:
            return [endpointslice_from_api(o) for o in self.list_objects(ENDPOINTSLICES, scope)]
        except NotFound:  # discovery.k8s.io/v1 not served: fall back to the legacy Endpoints API
            return [
                s
                for o in self.list_objects(ENDPOINTS, scope)
                for s in endpointslices_from_legacy_endpoints(o)
            ]

    def _workloads(self, scope: str | None, notes: list[str]) -> list[Workload]:
        out: list[Workload] = []
        for res in (DEPLOYMENTS, STATEFULSETS, REPLICASETS):
            try:
                out += (workload_from_api(o, res.kind) for o in self.list_objects(res, scope))
            except (Forbidden, NotFound):
                notes.append(
                    f"cannot list {res.plural}: a Service whose pods are scaled to zero on purpose "
                    "is reported as an error"
                )
        return out


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
    kubeconfig: str | None = None, context: str | None = None, request_timeout: float | None = None
) -> Cluster:
    """Load kubeconfig as kubectl does: --kubeconfig, else KUBECONFIG (files merged), else ~/.kube/config;
    in a pod without any of these, the in-cluster ServiceAccount."""
    cfg = k8s_client.Configuration()
    files = _kubeconfig_files(kubeconfig)
    in_cluster = (
        not kubeconfig
        and not os.environ.get("KUBECONFIG")
        and not Path(files[0]).is_file()
        and os.environ.get("KUBERNETES_SERVICE_HOST")
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
        try:
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
        except ConfigException as exc:
            raise BadInput(f"invalid kubeconfig {joined}: {str(exc).splitlines()[0][:200]}") from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BadInput(f"invalid kubeconfig {joined}: {exc.__class__.__name__}") from None
        except OSError as exc:
            raise BadInput(f"kubeconfig {joined} cannot be read: {exc.strerror or exc}") from None
        namespace = (chosen.get("context") or {}).get("namespace") or "default"
        ctx_name = chosen["name"]
    cfg.retries = 0  # our own bounded retry loop decides
    api = k8s_client.ApiClient(configuration=cfg)
    return Cluster(
        api=api, context=ctx_name, namespace=namespace, server=str(cfg.host), request_timeout=request_timeout
    )


@dataclass
class ForwardedPort:
    """A TCP stream to a pod's port through the API server (pods/portforward), and its error channel."""

    stream: Any  # a connected socket
    error: Callable[[], str | None]
    close: Callable[[], None]


def forward_port(cluster: Cluster, namespace: str, pod: str, port: int) -> ForwardedPort:
    """Open the API server's port-forward to `pod`:`port` (the one call that is not a read)."""
    from kubernetes.client.exceptions import ApiException
    from kubernetes.stream import portforward

    core = k8s_client.CoreV1Api(cluster.api)
    try:
        pf = portforward(core.connect_get_namespaced_pod_portforward, pod, namespace, ports=str(port))
    except ApiException as exc:
        reason = " ".join(str(exc.reason or exc).split())[:200]
        raise ClusterUnreachable(
            f"cannot port-forward to {namespace}/{pod}:{port} through {cluster.server}: {reason}"
        ) from None
    stream = pf.socket(port)
    stream.setblocking(False)
    return ForwardedPort(stream, lambda: pf.error(port), pf.close)

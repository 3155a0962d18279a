"""Reading a snapshot of the cluster: which LISTs, in which namespaces, and what to do without
permission.

Why it exists: every command reads the same objects (Services, EndpointSlices, Pods, Nodes and
workloads) the same way: one paginated LIST per kind, across all namespaces when allowed, else
namespace by namespace, else the context's namespace alone; what cannot be read becomes a note, not a
failure (a partial result with a clear note). The objects go to `SnapshotBuilder`, page by page.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence

from inspector.errors import Forbidden, NotFound
from inspector.kube.connection import Client
from inspector.kube.listing import list_objects, prefetched_pages
from inspector.kube.resources import (
    ENDPOINTS,
    ENDPOINTSLICES,
    EVENTS,
    JSON,
    NAMESPACES,
    NETWORKPOLICIES,
    NODES,
    PODS,
    ROUTES,
    SERVICES,
    WORKLOADS,
    Resource,
)
from inspector.model.building import SnapshotBuilder
from inspector.model.pages import pods_of_page, services_of_page, slices_of_page
from inspector.model.snapshot import EndpointSlice, Pod, Service, Snapshot

log = logging.getLogger("inspector.reading")


def check_namespace(client: Client, namespace: str) -> None:
    """NotFound (one line, exit 2) when the namespace does not exist; reading it may still be
    allowed when reading namespaces is not."""
    try:
        client.get_json(f"/api/v1/namespaces/{namespace}")
    except NotFound:
        raise NotFound(f'namespace "{namespace}" not found') from None
    except Forbidden as exc:  # may not get it, may still read in it: the LISTs will tell
        log.debug("cannot tell whether namespace %s exists: %s", namespace, exc)


def config_map(client: Client, namespace: str, name: str) -> JSON | None:
    """One ConfigMap, or None when it does not exist or may not be read."""
    try:
        return client.get_json(f"/api/v1/namespaces/{namespace}/configmaps/{name}")
    except (NotFound, Forbidden):
        return None


def read_snapshot(client: Client, namespace: str | None) -> Snapshot:
    """Services, EndpointSlices, Pods, Nodes, workloads, NetworkPolicies, Namespaces (their labels),
    Ingresses and Gateway API routes of one namespace, or of all (None)."""
    if namespace is not None:
        check_namespace(client, namespace)
    notes: list[str] = []
    scopes: list[str | None] = [namespace] if namespace is not None else _readable_scopes(client, notes)
    builder = SnapshotBuilder()
    forbidden: list[str] = []
    unserved: set[str] = set()
    for scope in scopes:
        try:
            _concurrently(
                lambda: builder.add_built(_straight(client, SERVICES, scope)),  # noqa: B023 (joined in the loop)
                lambda: builder.add_built(_straight(client, PODS, scope)),  # noqa: B023
                lambda: _add_slices(client, scope, builder),  # noqa: B023
            )
        except Forbidden as exc:
            if namespace is not None:
                raise Forbidden(f"cannot read namespace {namespace}: {exc}") from None
            forbidden.append(str(scope))
            continue
        for res in WORKLOADS:
            try:
                builder.add(list_objects(client, res, scope))
            except (Forbidden, NotFound):
                notes.append(
                    f"cannot list {res.plural}: a Service whose pods are scaled to zero on purpose "
                    "is reported as an error"
                )
        _policies_and_routes(client, scope, builder, notes, unserved)
    if forbidden:
        notes.append(f"left out for lack of permission: namespace(s) {', '.join(forbidden)}")
    try:
        builder.add(list_objects(client, NODES))
    except Forbidden:
        notes.append("cannot list nodes: node ports per node and externalTrafficPolicy checks are skipped")
    try:
        builder.add(list_objects(client, NAMESPACES))
    except Forbidden:
        notes.append(
            "cannot list namespaces: NetworkPolicy namespaceSelectors are matched against each "
            "namespace's kubernetes.io/metadata.name label only"
        )
    readable = None if scopes == [None] else tuple(s for s in scopes if s is not None and s not in forbidden)
    _probe_events(client, builder, scopes, notes)
    _hints_events(client, builder, scopes, notes)
    return builder.build(readable, notes)


UNHEALTHY = "involvedObject.kind=Pod,reason=Unhealthy"
HINTS_DISABLED = "involvedObject.kind=Service,reason=TopologyAwareHintsDisabled"


def _hints_events(
    client: Client, builder: SnapshotBuilder, scopes: list[str | None], notes: list[str]
) -> None:
    """Why the EndpointSlice controller gave a Service no topology hints, read only where a Service
    asks for them: one LIST filtered by the API server, as the probe events."""
    asking = builder.topology_namespaces()
    if not asking:
        return
    for scope in [None] if scopes == [None] else [s for s in scopes if s in asking]:
        try:
            builder.add(list_objects(client, EVENTS, scope, HINTS_DISABLED))
        except (Forbidden, NotFound):
            notes.append(
                "cannot list events: missing topology hints are reported without the controller's reason"
            )
            return


def _probe_events(
    client: Client, builder: SnapshotBuilder, scopes: list[str | None], notes: list[str]
) -> None:
    """The pods' failed-probe events, read only when some pod is not ready: one LIST filtered by the
    API server, across all namespaces when that is the scope, else in each namespace with such a pod."""
    unready = builder.unready_namespaces()
    if not unready:
        return
    for scope in [None] if scopes == [None] else [s for s in scopes if s in unready]:
        try:
            builder.add(list_objects(client, EVENTS, scope, UNHEALTHY))
        except (Forbidden, NotFound):
            notes.append("cannot list events: why a pod is not ready leaves out its failed probes")
            return


def _concurrently(*tasks: Callable[[], object]) -> None:
    """Runs the tasks side by side (the LISTs of three kinds: one's transfer overlaps another's
    decoding) and, once all have ended, raises the error of the first task (in order) that failed.
    The builder takes each kind into a list of its own, so the tasks never touch the same list."""
    errors: list[BaseException | None] = [None] * len(tasks)

    def run(i: int) -> None:
        try:
            tasks[i]()
        except BaseException as exc:  # raised below, in the caller's thread
            errors[i] = exc

    threads = [
        threading.Thread(target=run, args=(i,), name="inspector-read", daemon=True)
        for i in range(1, len(tasks))
    ]
    for t in threads:
        t.start()
    run(0)
    for t in threads:
        t.join()
    for error in errors:
        if error is not None:
            raise error


def _policies_and_routes(
    client: Client, scope: str | None, builder: SnapshotBuilder, notes: list[str], unserved: set[str]
) -> None:
    """NetworkPolicies, Ingresses and Gateway API routes. A kind the API does not serve (the Gateway
    API's CRDs are often absent) is no error; one we may not read is a note."""
    try:
        builder.add(list_objects(client, NETWORKPOLICIES, scope))
    except NotFound:  # not served: no policy can apply
        log.debug("networkpolicies are not served")
    except Forbidden:
        notes.append("cannot list networkpolicies: reachability verdicts assume no policy applies")
    for res in ROUTES:
        if res.plural in unserved:
            continue
        try:
            builder.add(list_objects(client, res, scope))
        except NotFound:
            unserved.add(res.plural)
        except Forbidden:
            notes.append(f"cannot list {res.plural}: the routes leading to Services are not checked")


def _readable_scopes(client: Client, notes: list[str]) -> list[str | None]:
    """All namespaces at once when allowed; else each namespace we can list, one by one."""
    try:
        client.get_json(SERVICES.path(), [("limit", 1)])  # a permission probe: one object, not a page
        return [None]
    except Forbidden as exc:  # the fallbacks below say so in a note
        log.debug("cannot list services across namespaces: %s", exc)
    try:
        names = [str((o.get("metadata") or {}).get("name")) for o in list_objects(client, NAMESPACES)]
    except Forbidden:
        notes.append(
            f"cannot list across namespaces or list namespaces: showing namespace {client.namespace} only"
        )
        return [client.namespace]
    notes.append("cannot list across all namespaces: reading namespace by namespace")
    return list(names)


# the kinds nearly all of a snapshot is made of: their pages are decoded straight into its types
STRAIGHT: dict[Resource, Callable[[bytes, str, str], Sequence[Service | EndpointSlice | Pod]]] = {
    SERVICES: services_of_page,
    ENDPOINTSLICES: slices_of_page,
    PODS: pods_of_page,
}


def _straight(
    client: Client, resource: Resource, scope: str | None
) -> Iterator[Service | EndpointSlice | Pod]:
    """One paginated LIST of a kind of STRAIGHT, its objects built page by page."""
    decode, path = STRAIGHT[resource], resource.path(scope)
    for data in prefetched_pages(client, resource, scope):
        yield from decode(data, client.server, path)


def _add_slices(client: Client, scope: str | None, builder: SnapshotBuilder) -> None:
    """The EndpointSlices; where discovery.k8s.io/v1 is not served, the legacy Endpoints instead
    (the first request tells, before any slice is added)."""
    try:
        builder.add_built(_straight(client, ENDPOINTSLICES, scope))
    except NotFound:
        builder.add(list_objects(client, ENDPOINTS, scope))


def readable(
    client: Client, resource: Resource, namespace: str, notes: list[str], lacking: str
) -> list[JSON]:
    """Every object of a kind that only sharpens a verdict, in a namespace. Without permission to
    list it (403), or where the API does not serve it (404), none, and a note saying so and what the
    result lacks (`lacking`); any other failure is raised: an empty list never stands for a LIST
    that timed out or failed."""
    try:
        return list(list_objects(client, resource, namespace))
    except (Forbidden, NotFound):
        notes.append(f"cannot list {resource.plural}: {lacking}")
        return []

"""The kinds the inspector reads, and where the API serves them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

JSON = Mapping[str, Any]  # an object, a list or an event as the API sends it


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
WORKLOADS = (DEPLOYMENTS, STATEFULSETS, REPLICASETS)
EVENTS = Resource("Event", "v1", "events")
NETWORKPOLICIES = Resource("NetworkPolicy", "networking.k8s.io/v1", "networkpolicies")
INGRESSES = Resource("Ingress", "networking.k8s.io/v1", "ingresses")
HTTPROUTES = Resource("HTTPRoute", "gateway.networking.k8s.io/v1", "httproutes")
GRPCROUTES = Resource("GRPCRoute", "gateway.networking.k8s.io/v1", "grpcroutes")
ROUTES = (INGRESSES, HTTPROUTES, GRPCROUTES)

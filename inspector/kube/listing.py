"""Paginated LIST: one request per PAGE_SIZE objects of a kind, following the continue tokens.

Why it exists: thousands of Services and tens of thousands of pods are read in one LIST per kind,
never one request per object, in pages the API server can serve without holding them all.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from inspector.kube.connection import Client
from inspector.kube.resources import JSON, Resource

PAGE_SIZE = 500


def pages(
    client: Client, resource: Resource, namespace: str | None = None, field_selector: str | None = None
) -> Iterator[JSON]:
    """The pages of one paginated LIST of a kind (PAGE_SIZE objects each)."""
    token = None
    while True:
        query: list[tuple[str, Any]] = [("limit", PAGE_SIZE)]
        if field_selector:
            query.append(("fieldSelector", field_selector))
        if token:
            query.append(("continue", token))
        page = client.get_json(resource.path(namespace), query)
        yield page
        token = (page.get("metadata") or {}).get("continue")
        if not token:
            return


def _items(page: JSON) -> list[dict[str, Any]]:
    items = page.get("items")
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def list_objects(
    client: Client, resource: Resource, namespace: str | None = None, field_selector: str | None = None
) -> Iterator[JSON]:
    """Every object of a kind (one paginated LIST), page by page. The items of a LIST carry no
    `kind`; each gets its resource's, so that what was read says what it is."""
    for page in pages(client, resource, namespace, field_selector):
        for item in _items(page):
            item.setdefault("kind", resource.kind)
            yield item


def list_with_version(client: Client, resource: Resource, namespace: str | None) -> tuple[list[JSON], str]:
    """Every object of a kind and the list's resourceVersion, to start a watch from."""
    items: list[JSON] = []
    version = ""
    for page in pages(client, resource, namespace):
        for item in _items(page):
            item.setdefault("kind", resource.kind)
            items.append(item)
        version = str((page.get("metadata") or {}).get("resourceVersion") or version)
    return items, version

"""The floors `diff -A` is measured against, each run as a command of its own by bench_diff.py.

    floors.py transfer KUBECONFIG   # the paginated LISTs of services, slices and pods, bodies dropped
    floors.py json KUBECONFIG       # the same, plus json.loads of every page

Why it exists: the inspector cannot be faster than reading its three kinds from the API server
(the transfer floor), and a plain `json.loads` of every page (the decoding floor) shows what a
decoder that builds every object costs. Both use the inspector's own connection (same HTTP stack,
same page size), one kind after the other and one page after the other, as the issue that set the
targets measured them.
"""

from __future__ import annotations

import json
import sys

from inspector.kube.connection import connect
from inspector.kube.listing import PAGE_SIZE
from inspector.kube.resources import ENDPOINTSLICES, PODS, SERVICES


def main(argv: list[str]) -> int:
    mode, kubeconfig = argv
    objects = 0
    with connect(kubeconfig) as client:
        for resource in (SERVICES, ENDPOINTSLICES, PODS):
            token = ""
            while True:
                query: list[tuple[str, object]] = [("limit", PAGE_SIZE)]
                if token:
                    query.append(("continue", token))
                data = client.get_bytes(resource.path(), query)
                if mode == "json":
                    page = json.loads(data)
                    objects += len(page["items"])
                    token = page["metadata"].get("continue") or ""
                else:  # the token sits near the start of a page; no decoding of the items
                    head = data[:4096].decode(errors="replace")
                    _, found, rest = head.partition('"continue":"')
                    token = rest.partition('"')[0] if found else ""
                del data
                if not token:
                    break
    print(objects)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The kube client: the only package that talks to the Kubernetes API, and the only one importing
`kubernetes` (and `urllib3`).

It loads kubeconfig with kubectl's semantics and sends GETs with bounded retries that honour
Retry-After (`connection.py`), knows the kinds it reads and where they are served (`resources.py`),
reads a kind in pages (`listing.py`) decoded straight to the fields read (`decoding.py`), follows
kinds with watches under one error policy (re-list on 410 Gone or after the API server was away,
retry what passes, surface the rest) and closes what they open (`watching.py`), opens the DNS
port-forward (`portforward.py`), makes `why`'s writes, its probe pod (`probing.py`), and `serve
--events`' Events on Services (`recording.py`), and reads what a node's port answers through the API
server's node proxy (`nodeproxy.py`). It returns the API's JSON as plain data and raises only our own
errors (`inspector.errors`): nothing above it knows HTTP, and it knows nothing of what the data
means.
"""

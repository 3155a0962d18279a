"""The kube client: the only package that talks to the Kubernetes API, and the only one importing
`kubernetes` (and `urllib3`).

It loads kubeconfig with kubectl's semantics and sends GETs with bounded retries that honour
Retry-After (`connection`), reads a kind in pages (`listing`), follows kinds with watches under one
error policy (re-list on 410 Gone or after the API server was away, retry what passes, surface the
rest) and close what they open (`watching`), and opens the one non-read, the DNS
port-forward (`portforward`). It returns the API's JSON as plain data and raises only our own errors
(`inspector.errors`): nothing above it knows HTTP, and it knows nothing of what the data means.
"""

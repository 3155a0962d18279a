"""Live: the inspector's runs against a live cluster, wiring the kube client to the pure tiers.

Reading a snapshot with the RBAC fallbacks (`reading.py`), the Python API and the commands' common
path (`inspecting.py`), what the `pods` command and a Service's detail view gather (`viewing.py`),
the one watcher that lists then follows kinds and tells when the API server goes away
(`informing.py`), waiting on it until the readiness verdict says yes (`waiting.py`), following it
for `-w` (`following.py`), keeping a report current for `serve` (`serving.py`), asking the cluster
DNS where it is found (`asking.py`), `why`'s run with its probe (`troubleshooting.py`) or with one
probe per node (`acrossnodes.py`), what-if runs: the files of `-f` read (`manifests.py`) and judged
offline or laid over the cluster (`planning.py`), and a fleet: one run asked of several kubeconfig
contexts in parallel, each through its own connection (`fleet.py`), and `serve` watching several
contexts in one process (`fleetserving.py`). It decides what to read and ask,
never what the answers mean (diagnosis, dns) nor how they look (output).
"""

"""Output: how reports look. The only tier that formats; it decides nothing.

Words (`text.py`: the finding line, `explain`, `wait`'s text), kubectl-like tables and detail views
(`tables.py`), the JSON and YAML documents whose keys the README shows (`documents.py`), the DNS
commands' views (`dnsviews.py`), `reach`'s verdicts and routes (`reachviews.py`), `why`'s chain
(`whyviews.py`), a Service's per-node table (`nodeviews.py`), the Graphviz picture (`pictures.py`),
what `services`, `diff` and `dns` print for several contexts at once (`fleetviews.py`) and `serve`'s
Prometheus metrics (`metrics.py`). It reads the diagnosis' reports and the DNS oracle's checks; it
never reads the cluster.
"""

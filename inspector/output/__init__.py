"""Output: how reports look. The only tier that formats; it decides nothing.

Words (`text`: the finding line, `explain`, `wait`'s text), kubectl-like tables and detail views
(`tables`), the JSON and YAML documents of DESIGN.md (`documents`), and the DNS commands' views
(`dnsviews`). It reads the diagnosis' reports and the DNS oracle's checks; it never reads the
cluster.
"""

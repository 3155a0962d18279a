"""Live: the inspector's runs against a live cluster, wiring the kube client to the pure tiers.

Reading a snapshot with the RBAC fallbacks (`reading`), the Python API and the commands' common path
(`inspecting`), the one watcher that lists then follows kinds and tells when the API server goes
away (`informing`), waiting on it until the readiness verdict says yes (`waiting`), following it for
`-w` (`following`), `why`'s checklist (`troubleshooting`), and asking the cluster DNS where it is
found (`asking`). It decides what to read and ask, never what the answers
mean (diagnosis, dns) nor how they look (output).
"""

"""Live: the inspector's runs against a live cluster, wiring the kube client to the pure tiers.

Reading a snapshot with the RBAC fallbacks (`reading`), the Python API and the commands' common path
(`inspecting`), what the `pods` command and a Service's detail view gather (`viewing`), waiting
with watches until the readiness verdict says yes (`waiting`), and asking the cluster DNS where it
is found (`asking`). It decides what to read and ask, never what the answers
mean (diagnosis, dns) nor how they look (output).
"""

"""DNS: what the cluster DNS should answer for each Service, what a pod's resolver asks, and asking it.

Pure except for one module: the records the API implies (`records`), answers in one comparable form
(`answers`), the pod resolver's emulation (`resolvconf`: the kubelet's resolv.conf and glibc's
search walk), names and servers as typed (`names`), the cluster domain from the Corefile
(`corefile`), the oracle judging answers against records (`oracle`); and `querying`, the only
module importing `dns` (dnspython). It reads the model's Services and EndpointSlices, never the
diagnosis' report, so the DNS half stands beside the endpoints half, not downstream of it.
"""

"""DNS: what the cluster DNS should answer for each Service, what a pod's resolver asks, and asking it.

Pure except for one module: the records the API implies (`records.py`), answers in one comparable
form (`answers.py`), the pod resolver's emulation (`resolvconf.py`: the kubelet's resolv.conf and
glibc's search walk), query names and servers as typed (`querynames.py`), the cluster domain from
the Corefile (`corefile.py`), the oracle judging answers against records (`oracle.py`), every
kube-dns replica's answers compared (`replicas.py`); and `querying.py`, the only module importing
`dns` (dnspython). It reads the model's Services and EndpointSlices, never the
diagnosis' report, so the DNS half stands beside the endpoints half, not downstream of it.
"""

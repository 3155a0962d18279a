"""Diagnosis: the pure judgement of Services, from a snapshot to a report.

What endpoints each Service should have (`expectations.py`), which it has (`endpoints.py`, from its
EndpointSlices), the small named checks per Service type (`checks/`), the routes leading to each
Service (`routes.py`), the per-Service report (`report.py`), the verdict of `wait` (`readiness.py`),
what changed between two reports for `-w` (`changes.py`); NetworkPolicy verdicts for one client and
one pod (`policyverdicts.py`) and for every ready endpoint of a Service (`reach.py`); which Services
a change of one object touches, for `serve` (`touching.py`); `why`'s probe checks and their log
(`probes.py`) and its checklist of steps (`checklist.py`); which endpoints each node's kube-proxy
sends a Service's traffic to, or why none (`nodetraffic.py`), and `why --nodes`' rows, one per node,
judged with it (`nodeverdicts.py`). No I/O and no formatting: values in, values out, so every
decision is tested on manifests. It knows nothing of DNS (a sibling tier) or of the API.
"""

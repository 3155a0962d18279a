"""The model: the cluster as our own frozen values, and the vocabularies the inspector speaks in.

Pure and at the bottom of the tiers: the snapshot dataclasses (`snapshot.py`) and the one builder
that turns the API's JSON into them (`building.py`), with LIST pages of Services, EndpointSlices and
pods decoded straight into them (`pages.py`), the pods a workload will create
(`expanding.py`), a what-if run's files laid over a snapshot or alone (`overlaying.py`), label
selectors and the pod index
(`selectors.py`), the NetworkPolicies as parsed values (`netpol.py`), the names the API accepts
(`names.py`), and the catalogue of finding codes, severities and messages (`findings.py`).
Everything else reads these values; nothing here knows how they were fetched or how they are shown.
"""

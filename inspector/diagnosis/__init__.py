"""Diagnosis: the pure judgement of Services, from a snapshot to a report.

What endpoints each Service should have (`expectations`), which it has (`endpoints`, from its
EndpointSlices), the small named checks per Service type (`checks`), the per-Service report
(`report`) and the verdict of `wait` (`readiness`). No I/O and no formatting: values in, values out,
so every decision is tested on manifests. It knows nothing of DNS (a sibling tier) or of the API.
"""

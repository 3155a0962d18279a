"""The cluster's DNS domain, read from the CoreDNS configuration (the Corefile), as kubeadm and kind
write it. Pure: the Corefile's text in, a zone out.
"""

from __future__ import annotations

import re

from inspector.dns.names import validate_qname
from inspector.errors import BadInput

_KUBERNETES_PLUGIN = re.compile(r"^\s*kubernetes((?:[ \t]+[^\s{]+)*)[ \t]*(?:\{|$)", re.M)


def cluster_domain_from_corefile(corefile: str) -> str | None:
    """The cluster domain a Corefile serves: the first zone of its `kubernetes` plugin that is not a
    reverse zone (kubeadm and kind write `kubernetes cluster.local in-addr.arpa ip6.arpa {`).
    None when there is no such zone to read."""
    for match in _KUBERNETES_PLUGIN.finditer(corefile):
        for raw in match.group(1).split():
            zone = raw.strip(".").lower()
            if zone and not zone.endswith(".arpa"):
                try:
                    return validate_qname(zone).strip(".")
                except BadInput:
                    return None
    return None

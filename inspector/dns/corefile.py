"""The cluster's DNS domain, and what CoreDNS's kubernetes plugin serves (its zones, its `pods` mode),
read from the CoreDNS configuration (the Corefile), as kubeadm and kind write it. Pure: the
Corefile's text in, a zone, the plugin's settings and the dns-corefile-* findings out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from inspector.dns.querynames import validate_qname
from inspector.errors import BadInput
from inspector.model.findings import Finding, finding

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


# --------------------------------------------------------------------------- what the plugin serves

POD_MODES = ("disabled", "insecure", "verified")
REVERSE_ZONES = ("in-addr.arpa", "ip6.arpa")
_SERVER_BLOCK = re.compile(r"^\s*([^\s{#][^{#]*?)\s*\{", re.M)


@dataclass(frozen=True, slots=True)
class KubernetesPlugin:
    """What a Corefile's `kubernetes` plugins serve: their zones and their `pods` mode."""

    zones: tuple[str, ...]  # "." when a plugin names none and its server block is the root
    pods: str = "disabled"  # CoreDNS's default

    def serves(self, zone: str) -> bool:
        name = zone.strip(".").lower()
        return any(z in (".", name) or name.endswith(f".{z}") for z in self.zones)


def _block_after(text: str, start: int) -> str:
    """The text of the `{ ... }` block opening at or after `start` on the same line ("" for none)."""
    line_end = text.find("\n", start)
    brace = text.find("{", start, None if line_end < 0 else line_end)
    if brace < 0:
        return ""
    depth = 0
    for i in range(brace, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[brace + 1 : i]
    return text[brace + 1 :]


def _server_zones(corefile: str, at: int) -> tuple[str, ...]:
    """The zones of the server block enclosing position `at` (`.:53 {` -> (".",))."""
    found: tuple[str, ...] = (".",)
    for m in _SERVER_BLOCK.finditer(corefile):
        if m.start() > at:
            break
        if corefile[: m.start()].count("{") == corefile[: m.start()].count("}"):  # top level
            keys = [k.split("://")[-1].rsplit(":", 1)[0] for k in m.group(1).split()]
            found = tuple((k.strip(".").lower() or ".") for k in keys) or (".",)
    return found


def kubernetes_plugin(corefile: str) -> KubernetesPlugin | None:
    """The zones and pods mode of the Corefile's kubernetes plugins; None when it has none."""
    plugins = list(_KUBERNETES_PLUGIN.finditer(_without_comments(corefile)))
    if not plugins:
        return None
    text = _without_comments(corefile)
    zones: list[str] = []
    pods = "disabled"
    for m in plugins:
        named = [z.strip(".").lower() or "." for z in m.group(1).split()]
        zones += named or list(_server_zones(text, m.start()))
        for line in _block_after(text, m.start()).splitlines():
            words = line.split()
            if len(words) == 2 and words[0] == "pods" and words[1] in POD_MODES:
                pods = words[1]
    return KubernetesPlugin(tuple(dict.fromkeys(zones)), pods)


def _without_comments(corefile: str) -> str:
    return "\n".join(line.split("#", 1)[0] for line in corefile.splitlines())


def corefile_findings(corefile: str, domain: str) -> list[Finding]:
    """dns-corefile-zone-not-served for the cluster domain and each reverse zone the kubernetes plugin
    leaves out."""
    plugin = kubernetes_plugin(corefile)
    out = []
    effects = {
        "in-addr.arpa": "reverse lookups of IPv4 cluster IPs and endpoints (PTR) are not answered by the API",
        "ip6.arpa": "reverse lookups of IPv6 cluster IPs and endpoints (PTR) are not answered by the API",
    }
    for zone in (domain.strip(".").lower(), *REVERSE_ZONES):
        if plugin is not None and plugin.serves(zone):
            continue
        reason = (
            "the Corefile has no kubernetes plugin"
            if plugin is None
            else (f"its zones are {' '.join(plugin.zones)}")
        )
        effect = effects.get(zone, "no Service or pod name of the cluster resolves")
        out.append(finding("dns-corefile-zone-not-served", zone=zone, reason=reason, effect=effect))
    return out

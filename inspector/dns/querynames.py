"""DNS names and servers as a user types them: query names, `--dns-server HOST[:PORT]`, `--cluster-domain`.

Why it exists: a name the resolver could never send, or a server that is no address, is bad input,
said in one line (exit 2) before any query; the checks are the resolver's own limits (253
characters, 63 per label). Pure.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from inspector.errors import BadInput

MAX_NAME = 253
MAX_LABEL = 63
DNS_PORT = 53
DEFAULT_DOMAIN = "cluster.local"  # the cluster domain when none is given or read

_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?")  # fullmatch: `$` would let a "\n" through


def validate_qname(name: str) -> str:
    """A name as a user types it, lowercased; one clear BadInput line when it cannot be a DNS name."""
    text = name.strip().lower()
    if not text or text == ".":
        raise BadInput(f"invalid DNS name {name!r}: it is empty")
    body = text.removesuffix(".")
    if len(body) > MAX_NAME:
        raise BadInput(f"invalid DNS name {name!r}: {len(body)} characters, at most {MAX_NAME} allowed")
    for label in body.split("."):
        if not label:
            raise BadInput(f"invalid DNS name {name!r}: it has an empty label (two dots, or a leading dot)")
        if len(label) > MAX_LABEL:
            raise BadInput(
                f"invalid DNS name {name!r}: label {label[:20]!r}... has {len(label)} characters, "
                f"at most {MAX_LABEL} allowed"
            )
        if not _LABEL.fullmatch(label):
            raise BadInput(
                f"invalid DNS name {name!r}: label {label!r} may hold only letters, digits, '-' and '_', "
                "and may not start or end with '-'"
            )
    return text


def parse_cluster_domain(domain: str) -> str:
    """--cluster-domain as given, without its trailing dot; one BadInput line when it is no DNS name."""
    try:
        return validate_qname(domain).strip(".")
    except BadInput:
        raise BadInput(f"invalid --cluster-domain {domain!r}: not a DNS name") from None


@dataclass(frozen=True, slots=True)
class Nameserver:
    """Where the inspector sends queries, and how it found that place (shown to the user)."""

    host: str
    port: int = DNS_PORT
    via: str = "--dns-server"

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def label(self) -> str:
        return f"{self.address} ({self.via})"


def parse_nameserver(text: str, via: str = "--dns-server") -> Nameserver:
    """HOST, HOST:PORT, an IPv6 address, or [IPv6]:PORT."""
    value = text.strip()
    host, port = value, DNS_PORT
    if value.startswith("["):
        inner, sep, rest = value[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise BadInput(f"invalid DNS server {text!r} ({via}): use HOST[:PORT] or [IPv6]:PORT")
        host, port_text = inner, rest[1:]
        port = _port(port_text, text, via) if rest else DNS_PORT
    elif value.count(":") == 1:
        host, port_text = value.split(":")
        port = _port(port_text, text, via)
    if not host:
        raise BadInput(f"invalid DNS server {text!r} ({via}): no host")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise BadInput(f"invalid DNS server {text!r} ({via}): {host!r} is not an IP address") from None
    return Nameserver(host, port, via)


def _port(text: str, whole: str, via: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise BadInput(f"invalid DNS server {whole!r} ({via}): port {text!r} is not 1-65535")
    return int(text)

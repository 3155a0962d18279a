"""Settings: what the environment says, read once at the edge and passed down as one value.

Why it exists: the CLI reads the environment when a command line starts to run (`inspector.cli`), the
Python API when one of its entries is called (`inspect`, `why`, the pytest plugin's
`discoverable`); everything below takes the `Settings` it is given. This module is the only one
that reads `os.environ` (a unit test keeps it so), so what a run depends on is one frozen value a
test can build. A value that can be wrong is checked where it is used, as before it was read here:
a bad INSPECTOR_DNS_VIA fails the commands that ask the DNS replicas, not the others.

The variables (see the README): KUBECONFIG (kubeconfig files, merged as kubectl merges them),
KUBERNETES_SERVICE_HOST (set in every pod: the inspector runs in the cluster), INSPECTOR_DNS_SERVER
(the cluster DNS, HOST[:PORT]), INSPECTOR_DNS_VIA (how the DNS replicas are reached),
INSPECTOR_DEBUG (a bug of ours shows its traceback), INSPECTOR_WATCH_SECONDS (how long each watch
lasts; tests shorten it), and typer's _KUBECTL_SVC_INSPECT_COMPLETE (a shell asks for completions).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from inspector.errors import BadInput

ENV_DNS_SERVER = "INSPECTOR_DNS_SERVER"
ENV_DNS_VIA = "INSPECTOR_DNS_VIA"
ENV_WATCH_SECONDS = "INSPECTOR_WATCH_SECONDS"
ENV_DEBUG = "INSPECTOR_DEBUG"
ENV_COMPLETE = "_KUBECTL_SVC_INSPECT_COMPLETE"  # typer's (click's) variable for the executable's name
DNS_VIA = ("auto", "direct", "port-forward")
WATCH_SECONDS = 30  # each watch ends after this and is opened again from the last resourceVersion


@dataclass(frozen=True, slots=True)
class Settings:
    """What the environment says; the default is an empty environment."""

    kubeconfig: str | None = None  # KUBECONFIG: files os.pathsep apart
    in_cluster: bool = False  # KUBERNETES_SERVICE_HOST is set
    dns_server: str | None = None  # INSPECTOR_DNS_SERVER, HOST[:PORT]
    dns_via: str = "auto"  # INSPECTOR_DNS_VIA as given (parse_dns_via checks it)
    watch_seconds_text: str | None = None  # INSPECTOR_WATCH_SECONDS as given (watch_seconds() checks it)
    debug: bool = False  # INSPECTOR_DEBUG
    shell_completion: bool = False  # _KUBECTL_SVC_INSPECT_COMPLETE is set

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            kubeconfig=env.get("KUBECONFIG") or None,
            in_cluster=bool(env.get("KUBERNETES_SERVICE_HOST")),
            dns_server=env.get(ENV_DNS_SERVER) or None,
            dns_via=env.get(ENV_DNS_VIA, "auto") or "auto",
            watch_seconds_text=env.get(ENV_WATCH_SECONDS),
            debug=bool(env.get(ENV_DEBUG)),
            shell_completion=bool(env.get(ENV_COMPLETE)),
        )

    @classmethod
    def handed(cls, value: object) -> Settings:
        """The settings a caller handed down (typer's context `obj`, say), else the environment's."""
        return value if isinstance(value, Settings) else cls.from_environment()

    def watch_seconds(self) -> int:
        """How long each watch lasts: INSPECTOR_WATCH_SECONDS, else WATCH_SECONDS."""
        text = self.watch_seconds_text
        if text is None:
            return WATCH_SECONDS
        if not text.strip().isdigit() or int(text) < 1:
            raise BadInput(f"invalid {ENV_WATCH_SECONDS} {text!r}: use a whole number of seconds, 1 or more")
        return int(text)


def parse_dns_via(text: str) -> str:
    """INSPECTOR_DNS_VIA, checked: how the DNS replicas are asked (auto, direct or port-forward)."""
    if text not in DNS_VIA:
        raise BadInput(f"invalid {ENV_DNS_VIA} {text!r}: use one of {', '.join(DNS_VIA)}")
    return text


__all__ = ["Settings", "parse_dns_via"]

"""Reading kubeconfig as kubectl reads it: the files merged, the context chosen, its cluster and user.

Why it exists: the Kubernetes client's own loader imports the whole generated client first (its
thousand model classes, pydantic, requests-oauthlib): 0.1-0.2 s before the first request, most of
what `diff` of a small namespace cost. The credentials nearly every kubeconfig holds (a server and
its CA, a client certificate, a bearer token or token file, TLS settings) are read here from the
YAML alone. A user this module does not read (an exec plugin, an auth provider, a username and
password) is marked `needs_library`, and `connection.py` leaves that context to the client library's
loader: every kubeconfig the library accepted still works.

kubectl's merge rules: the files in order; of two entries with the same name (cluster, user,
context) the first wins; the first file that names a current-context sets it. A relative path in
an entry is relative to the file the entry came from.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from inspector.errors import BadInput

# user fields only the client library turns into credentials
LIBRARY_USER_FIELDS = ("exec", "auth-provider", "username", "password")


@dataclass(frozen=True)
class Credentials:
    """What a request to one context's API server carries. PEM is kept as bytes; files as paths."""

    context: str
    namespace: str
    server: str
    ca_pem: bytes | None = None
    ca_file: str | None = None
    cert_pem: bytes | None = None
    cert_file: str | None = None
    key_pem: bytes | None = None
    key_file: str | None = None
    token: str | None = None
    insecure: bool = False
    tls_server_name: str | None = None
    proxy_url: str | None = None
    needs_library: bool = False  # the user entry needs the client library's loader (exec, ...)


def load_file(path: str) -> dict[str, Any]:
    """One kubeconfig file's mapping (empty for an empty file), or BadInput in one line."""
    try:
        data = yaml.load(Path(path).expanduser().read_text(), Loader=_LOADER)
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"kubeconfig {path} cannot be read: {exc.__class__.__name__}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise BadInput(f"kubeconfig {path} is not valid YAML{where}") from None
    if data is not None and not isinstance(data, dict):
        raise BadInput(f"kubeconfig {path} is not a kubeconfig (expected a mapping)")
    return data or {}


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, where PyYAML was built with it


def read_kubeconfig(files: list[str], context: str | None) -> Credentials:
    """The credentials of `context` (else the current one) from the kubeconfig `files`, merged.
    Every file must exist (the caller checks); problems are BadInput, in one line."""
    joined = os.pathsep.join(files)
    named: dict[str, dict[str, tuple[dict[str, Any], Path]]] = {"clusters": {}, "users": {}, "contexts": {}}
    current = ""
    for f in files:
        data = load_file(f)
        base = Path(f).expanduser().resolve().parent
        for kind, entries in named.items():
            for entry in data.get(kind) or []:
                if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                    raise BadInput(f"invalid kubeconfig {joined}: an entry of {kind} without a name")
                inner = entry.get(kind[:-1]) or {}
                if not isinstance(inner, dict):
                    raise BadInput(
                        f"invalid kubeconfig {joined}: {kind[:-1]} {entry['name']!r} is not a mapping"
                    )
                entries.setdefault(entry["name"], (inner, base))
        current = current or str(data.get("current-context") or "")
    if context and context not in named["contexts"]:
        raise BadInput(f'context "{context}" not found in kubeconfig {joined}')
    chosen = context or current
    if not chosen or chosen not in named["contexts"]:
        raise BadInput(f"kubeconfig {joined} has no current context; pass --context")
    ctx, _ = named["contexts"][chosen]
    cluster_name, user_name = str(ctx.get("cluster") or ""), str(ctx.get("user") or "")
    if cluster_name not in named["clusters"]:
        raise BadInput(f"invalid kubeconfig {joined}: context {chosen!r} names no known cluster")
    cluster, cluster_base = named["clusters"][cluster_name]
    user, user_base = named["users"].get(user_name, ({}, cluster_base))
    server = str(cluster.get("server") or "")
    if not server:
        raise BadInput(f"invalid kubeconfig {joined}: cluster {cluster_name!r} has no server")

    def path(entry: dict[str, Any], key: str, base: Path) -> str | None:
        value = entry.get(key)
        return str(base / Path(str(value)).expanduser()) if value else None

    def pem(entry: dict[str, Any], key: str) -> bytes | None:
        value = entry.get(key)
        if not value:
            return None
        try:
            return base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            raise BadInput(f"invalid kubeconfig {joined}: {key} is not base64") from None

    token = str(user["token"]) if user.get("token") else None
    token_file = path(user, "tokenFile", user_base)
    if token is None and token_file:
        try:
            token = Path(token_file).read_text().strip()
        except OSError as exc:
            raise BadInput(
                f"kubeconfig {joined}: tokenFile {token_file} cannot be read: {exc.strerror}"
            ) from None
    return Credentials(
        context=chosen,
        namespace=str(ctx.get("namespace") or "default"),
        server=server.rstrip("/"),
        ca_pem=pem(cluster, "certificate-authority-data"),
        ca_file=path(cluster, "certificate-authority", cluster_base),
        cert_pem=pem(user, "client-certificate-data"),
        cert_file=path(user, "client-certificate", user_base),
        key_pem=pem(user, "client-key-data"),
        key_file=path(user, "client-key", user_base),
        token=token,
        insecure=bool(cluster.get("insecure-skip-tls-verify")),
        tls_server_name=str(cluster["tls-server-name"]) if cluster.get("tls-server-name") else None,
        proxy_url=str(cluster["proxy-url"]) if cluster.get("proxy-url") else None,
        needs_library=any(user.get(k) for k in LIBRARY_USER_FIELDS),
    )

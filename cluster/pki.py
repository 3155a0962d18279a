"""The local cluster's certificate authority, its identities, and the kubeconfigs that carry them.

Why it exists: every component authenticates with a client certificate signed by one private CA
(openssl, no downloads), so RBAC and the audit log see real identities (`system:node:<node>`,
`system:kube-proxy`, ...) exactly as on a kubeadm cluster.
"""

from __future__ import annotations

import base64
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Identity:
    """A certificate: its file stem, its subject, and the SANs of a serving certificate."""

    name: str
    subject: str
    server_sans: tuple[str, ...] = ()

    def extensions(self) -> str:
        if self.server_sans:
            return f"subjectAltName={','.join(self.server_sans)}\nextendedKeyUsage=serverAuth,clientAuth\n"
        return "extendedKeyUsage=clientAuth\n"


def openssl(pki: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=pki)


def make_ca(pki: Path) -> None:
    pki.mkdir(parents=True, exist_ok=True)
    openssl(
        pki,
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "3650",
        "-subj",
        "/CN=local-cluster-ca",
    )
    openssl(pki, "genrsa", "-out", "sa.key", "2048")
    openssl(pki, "rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub")


def issue(pki: Path, ident: Identity) -> None:
    (pki / f"{ident.name}.ext").write_text(ident.extensions())
    openssl(
        pki,
        "req",
        "-new",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        f"{ident.name}.key",
        "-out",
        f"{ident.name}.csr",
        "-subj",
        ident.subject,
    )
    openssl(
        pki,
        "x509",
        "-req",
        "-in",
        f"{ident.name}.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "3650",
        "-out",
        f"{ident.name}.crt",
        "-extfile",
        f"{ident.name}.ext",
    )


def make_pki(pki: Path, identities: list[Identity]) -> None:
    make_ca(pki)
    for ident in identities:
        issue(pki, ident)


def b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def write_kubeconfig(path: Path, server: str, pki: Path, user: str, namespace: str = "default") -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "local",
                "cluster": {"server": server, "certificate-authority-data": b64(pki / "ca.crt")},
            }
        ],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate-data": b64(pki / f"{user}.crt"),
                    "client-key-data": b64(pki / f"{user}.key"),
                },
            }
        ],
        "contexts": [
            {"name": "local", "context": {"cluster": "local", "user": user, "namespace": namespace}}
        ],
        "current-context": "local",
    }
    path.write_text(json.dumps(config, indent=2) + "\n")
    path.chmod(0o600)

"""Kubeconfig read as kubectl reads it, without the Kubernetes client library on the way.

The contexts only the library can load (an exec plugin) still work, through it; a command's way to
its first request imports none of it; a client certificate from the kubeconfig leaves no file behind.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import urllib3

from inspector.errors import BadInput
from inspector.kube.connection import _ssl_context, connect
from inspector.kube.kubeconfig import Credentials, read_kubeconfig
from inspector.kube.listing import list_objects
from inspector.kube.resources import SERVICES
from tests.fakeapi import FakeAPI, Reply, items

ROOT = Path(__file__).resolve().parent.parent


def write(path: Path, config: dict[str, object]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config))
    return str(path)


def config(
    context: str, server: str, user: dict[str, object], current: str | None = None, namespace: str = "shop"
) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": server}}],
        "users": [{"name": context, "user": user}],
        "contexts": [
            {"name": context, "context": {"cluster": context, "user": context, "namespace": namespace}}
        ],
        **({"current-context": current} if current else {}),
    }


def test_merged_files_the_first_entry_of_a_name_and_the_first_current_context_win(tmp_path: Path) -> None:
    first = write(tmp_path / "a", config("dev", "https://dev.example:6443", {"token": "one"}, current="dev"))
    second = {
        **config("dev", "https://other.example:6443", {"token": "two"}, current="prod"),
        "contexts": [
            {"name": "dev", "context": {"cluster": "dev", "user": "dev"}},
            {"name": "prod", "context": {"cluster": "dev", "user": "dev"}},
        ],
    }
    files = [first, write(tmp_path / "b", second)]

    creds = read_kubeconfig(files, None)
    assert (creds.context, creds.server, creds.token, creds.namespace) == (
        "dev",
        "https://dev.example:6443",
        "one",
        "shop",
    )
    prod = read_kubeconfig(files, "prod")
    assert (prod.context, prod.namespace, prod.server) == ("prod", "default", "https://dev.example:6443")


def test_paths_are_relative_to_their_file_and_a_token_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "conf" / "certs").mkdir(parents=True)
    (tmp_path / "conf" / "certs" / "token").write_text("secret-token\n")
    kubeconfig = config(
        "c", "https://k.example", {"tokenFile": "certs/token", "client-key": "certs/k.pem"}, "c"
    )
    kubeconfig["clusters"] = [
        {"name": "c", "cluster": {"server": "https://k.example/", "certificate-authority": "certs/ca.pem"}}
    ]
    creds = read_kubeconfig([write(tmp_path / "conf" / "config", kubeconfig)], None)

    assert creds.token == "secret-token"
    assert creds.ca_file == str(tmp_path / "conf" / "certs" / "ca.pem")
    assert creds.key_file == str(tmp_path / "conf" / "certs" / "k.pem")
    assert creds.server == "https://k.example"


def test_tls_settings_and_embedded_pem_are_read(tmp_path: Path) -> None:
    kubeconfig = config(
        "c", "https://k.example", {"client-certificate-data": base64.b64encode(b"PEM").decode()}, "c"
    )
    kubeconfig["clusters"] = [
        {
            "name": "c",
            "cluster": {
                "server": "https://10.0.0.1",
                "insecure-skip-tls-verify": True,
                "tls-server-name": "api.example",
                "certificate-authority-data": base64.b64encode(b"CA").decode(),
            },
        }
    ]
    creds = read_kubeconfig([write(tmp_path / "config", kubeconfig)], None)

    assert (creds.insecure, creds.tls_server_name, creds.ca_pem, creds.cert_pem) == (
        True,
        "api.example",
        b"CA",
        b"PEM",
    )
    assert not creds.needs_library


@pytest.mark.parametrize(
    ("user", "needs"),
    [
        ({"exec": {"command": "aws", "apiVersion": "client.authentication.k8s.io/v1"}}, True),
        ({"auth-provider": {"name": "oidc"}}, True),
        ({"username": "admin", "password": "pw"}, True),
        ({"token": "t"}, False),
        ({}, False),
    ],
    ids=["exec", "auth-provider", "basic", "token", "anonymous"],
)
def test_users_only_the_client_library_can_load_are_left_to_it(
    tmp_path: Path, user: dict[str, object], needs: bool
) -> None:
    creds = read_kubeconfig([write(tmp_path / "config", config("c", "https://k.example", user, "c"))], None)
    assert creds.needs_library is needs


@pytest.mark.parametrize(
    ("kubeconfig", "message"),
    [
        (
            {
                "contexts": [{"name": "c", "context": {"cluster": "gone", "user": "u"}}],
                "current-context": "c",
            },
            "context 'c' names no known cluster",
        ),
        (
            {
                "clusters": [{"name": "k", "cluster": {}}],
                "contexts": [{"name": "c", "context": {"cluster": "k"}}],
                "current-context": "c",
            },
            "cluster 'k' has no server",
        ),
        ({"clusters": [{"cluster": {"server": "https://x"}}]}, "an entry of clusters without a name"),
        (
            {
                **config("c", "https://k.example", {"client-key-data": "not base64!"}, "c"),
            },
            "client-key-data is not base64",
        ),
    ],
    ids=["unknown-cluster", "no-server", "nameless", "bad-base64"],
)
def test_a_broken_kubeconfig_is_one_line_naming_what_is_wrong(
    tmp_path: Path, kubeconfig: dict[str, object], message: str
) -> None:
    path = write(tmp_path / "config", kubeconfig)
    with pytest.raises(BadInput) as caught:
        read_kubeconfig([path], None)
    assert str(caught.value) == f"invalid kubeconfig {path}: {message}"


def test_a_context_with_an_exec_plugin_gets_its_token_from_the_client_library(tmp_path: Path) -> None:
    plugin = tmp_path / "plugin"
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": {"token": "from-the-plugin"},
    }
    plugin.write_text(f"#!/bin/sh\necho '{json.dumps(credential)}'\n")
    plugin.chmod(0o755)
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin)}}
    api = FakeAPI()
    thread = threading.Thread(target=api.serve_forever, daemon=True)
    thread.start()
    try:
        api.script["/api/v1/namespaces/shop/services"] = [Reply(body=items("web"))]
        path = write(tmp_path / "config", config("c", f"http://127.0.0.1:{api.server_port}", user, "c"))
        with connect(path, request_timeout=5) as client:
            assert client.transport.authorization() == "Bearer from-the-plugin"
            assert client.namespace == "shop" and client.context == "c"
            assert [o["metadata"]["name"] for o in list_objects(client, SERVICES, "shop")] == ["web"]
    finally:
        api.closing.set()
        api.shutdown()
        api.server_close()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a certificate")
def test_a_client_certificate_from_the_kubeconfig_leaves_no_file_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=test", "-days", "1"),
            *("-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")),
        ],
        capture_output=True,
        check=True,
    )
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    cert, key = (tmp_path / "cert.pem").read_bytes(), (tmp_path / "key.pem").read_bytes()

    _ssl_context(Credentials("c", "default", "https://k.example", ca_pem=cert, cert_pem=cert, key_pem=key))

    assert list(scratch.iterdir()) == []  # the Kubernetes client library left its copies in /tmp


def test_a_commands_way_to_its_first_request_imports_no_kubernetes_client(tmp_path: Path) -> None:
    path = write(tmp_path / "config", config("c", "http://127.0.0.1:1", {"token": "t"}, "c"))
    probe = (
        "import sys\n"
        "import inspector.cli.running, inspector.live.inspecting, inspector.live.asking, inspector.output.documents\n"
        "from inspector.kube.connection import connect\n"
        f"client = connect({path!r})\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('kubernetes', 'pydantic_core', 'requests')))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT, env=env
    )
    assert out.stdout.strip() == "[]"


def test_a_proxy_url_sends_every_request_through_that_proxy(tmp_path: Path) -> None:
    kubeconfig = config("c", "https://k.example", {"token": "t"}, "c")
    kubeconfig["clusters"] = [
        {"name": "c", "cluster": {"server": "https://k.example", "proxy-url": "http://127.0.0.1:3128"}}
    ]
    with connect(write(tmp_path / "config", kubeconfig)) as client:
        pool = client.transport.pool
        assert isinstance(pool, urllib3.ProxyManager)
        assert (pool.proxy.host, pool.proxy.port) == ("127.0.0.1", 3128)

"""The fixed cost of a short command: what `diff -n NS` imports, checked by name (never timed: the
machines are noisy), and the kubeconfig paths whose modules are imported only when used (an exec
plugin, an OIDC token refreshed, the rest of the `kubernetes` package) still working when used.

Each run is a fresh interpreter (`python -c`), so what it imports is its own, not this suite's."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.fakeapi import WEB, WEB_1, FakeAPI, Reply, kubeconfig

# Imported before this round by every short command, used by none of them on the common path: the
# Kubernetes package's other modules (watch, stream and websocket, dynamic, leaderelection,
# informer), requests-oauthlib, oauthlib's OAuth 2 client and requests (OIDC refresh only); the
# what-if runs' modules, the JSON writer (-o json/yaml), the table drawer (-o name), the values of
# -w and wait, and the NetworkPolicy judgement (--from-namespace, reach).
NOT_ON_THE_DIFF_PATH = (
    "kubernetes.watch",
    "kubernetes.stream",
    "kubernetes.dynamic",
    "kubernetes.leaderelection",
    "kubernetes.informer",
    "websocket",
    "requests",
    "requests_oauthlib",
    "oauthlib.oauth2.rfc6749",
    "inspector.live.planning",
    "inspector.live.manifests",
    "inspector.output.documents",
    "inspector.output.tables",
    "tabulate",
    "inspector.diagnosis.changes",
    "inspector.diagnosis.readiness",
    "inspector.diagnosis.policyverdicts",
    "inspector.diagnosis.reach",
)


def _python(code: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Runs `code` in a fresh interpreter; its last line of stdout is JSON, returned."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


DIFF = """
import json, sys
from inspector.cli import run
status = run(sys.argv[1:])
loaded = {m: type(sys.modules[m]).__name__ for m in sys.modules}
print(json.dumps({"status": status, "modules": loaded}))
"""


@pytest.fixture
def shop(api: FakeAPI) -> FakeAPI:
    """Namespace shop: Service web and its ready pod web-1, and no slice (an error-level finding)."""
    ns = "/api/v1/namespaces/shop"

    def listed(*objects: dict[str, Any]) -> list[Reply]:
        return [Reply(body={"kind": "List", "metadata": {"resourceVersion": "7"}, "items": list(objects)})]

    api.script[ns] = [Reply(body={"metadata": {"name": "shop"}})]
    api.script[f"{ns}/services"] = listed(WEB)
    api.script[f"{ns}/pods"] = listed(WEB_1)
    api.script["/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices"] = listed()
    api.script["/api/v1/nodes"] = listed()
    api.script["/api/v1/namespaces"] = listed()
    return api


def test_diff_of_a_namespace_imports_none_of_the_modules_it_does_not_use(
    shop: FakeAPI, tmp_path: Path
) -> None:
    config = str(kubeconfig(shop, tmp_path))
    result = _python(DIFF, "diff", "-n", "shop", "--kubeconfig", config)
    assert result["status"] == 1  # web has no endpoints: the run went all the way through
    loaded = result["modules"]
    assert sorted(set(NOT_ON_THE_DIFF_PATH) & set(loaded)) == []
    assert "inspector.live.inspecting" in loaded and "kubernetes.config.kube_config" in loaded
    # their code never ran: nobody asked them for a name
    assert loaded["kubernetes"] == loaded["oauthlib.oauth2"] == "_Deferred"


def test_diff_as_json_imports_the_writer_and_still_not_the_auth_modules(
    shop: FakeAPI, tmp_path: Path
) -> None:
    config = str(kubeconfig(shop, tmp_path))
    result = _python(DIFF, "diff", "-n", "shop", "-o", "json", "--kubeconfig", config)
    assert result["status"] == 1
    loaded = result["modules"]
    assert "inspector.output.documents" in loaded
    assert not {"requests", "requests_oauthlib", "oauthlib.oauth2.rfc6749", "kubernetes.watch"} & set(loaded)


def test_the_kubernetes_package_runs_its_init_when_asked_for_a_name_it_defines() -> None:
    """A process that imported us and then uses the rest of the client library gets all of it."""
    code = """
import json, sys
import inspector.kube.connection
import kubernetes
before = type(sys.modules["kubernetes"]).__name__
from kubernetes import watch
print(json.dumps({"before": before, "after": type(kubernetes).__name__, "version": kubernetes.__version__,
                  "watch": watch.Watch.__name__, "stream": "kubernetes.stream" in sys.modules,
                  "same": kubernetes.client is sys.modules["kubernetes.client"]}))
"""
    result = _python(code)
    assert result == {
        "before": "_Deferred",
        "after": "module",
        "version": result["version"],
        "watch": "Watch",
        "stream": True,
        "same": True,
    }
    assert result["version"].split(".")[0].isdigit()


def _write(path: Path, config: dict[str, Any]) -> str:
    path.write_text(json.dumps(config))
    return str(path)


def _config(server: str, user: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u", "namespace": "shop"}}],
        "current-context": "c",
        "users": [{"name": "u", "user": user}],
    }


CONNECT = """
import json, sys
from inspector.kube.connection import connect
client = connect(sys.argv[1])
key = client.api.configuration.api_key.get("BearerToken") or client.api.configuration.api_key.get("authorization")
print(json.dumps({"key": key, "modules": sorted(sys.modules)}))
"""


def test_an_exec_plugin_kubeconfig_loads_its_token(tmp_path: Path) -> None:
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": {"token": "from-exec"},
    }
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": sys.executable,
            "args": ["-c", f"print({json.dumps(json.dumps(credential))})"],
            "interactiveMode": "Never",
        }
    }
    config = _write(tmp_path / "config", _config("https://127.0.0.1:6443", user))
    result = _python(CONNECT, config)
    assert result["key"] == "Bearer from-exec"
    assert "kubernetes.config.exec_provider" in result["modules"]


def _jwt(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part(claims)}.c2ln"


def _oidc(issuer: str, id_token: str) -> dict[str, Any]:
    return {
        "auth-provider": {
            "name": "oidc",
            "config": {
                "client-id": "inspector",
                "client-secret": "secret",
                "id-token": id_token,
                "refresh-token": "refresh-1",
                "idp-issuer-url": issuer,
            },
        }
    }


def test_an_oidc_kubeconfig_with_a_live_token_loads_it_without_the_oauth_modules(tmp_path: Path) -> None:
    token = _jwt({"iss": "https://issuer.example", "exp": int(time.time()) + 3600})
    config = _write(
        tmp_path / "config", _config("https://127.0.0.1:6443", _oidc("https://issuer.example", token))
    )
    result = _python(CONNECT, config)
    assert result["key"] == f"Bearer {token}"
    assert "requests_oauthlib" not in result["modules"]


class _Issuer(ThreadingHTTPServer):
    """An OpenID provider on 127.0.0.1: its discovery document and a token endpoint that trades
    refresh-1 for a new ID token."""

    daemon_threads = True

    def __init__(self, fresh_token: str) -> None:
        super().__init__(("127.0.0.1", 0), _IssuerHandler)
        self.fresh_token = fresh_token
        self.refreshes: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"


class _IssuerHandler(BaseHTTPRequestHandler):
    server: _Issuer

    def do_GET(self) -> None:
        self._answer({"issuer": self.server.url, "token_endpoint": f"{self.server.url}/token"})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        self.server.refreshes.append(body)
        self._answer(
            {
                "access_token": "access",
                "token_type": "Bearer",
                "expires_in": 3600,
                "id_token": self.server.fresh_token,
                "refresh_token": "refresh-2",
            }
        )

    def _answer(self, document: dict[str, Any]) -> None:
        data = json.dumps(document).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def issuer() -> Iterator[_Issuer]:
    server = _Issuer(_jwt({"iss": "fresh", "exp": int(time.time()) + 3600}))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_an_expired_oidc_token_is_refreshed_through_requests_oauthlib(
    issuer: _Issuer, tmp_path: Path
) -> None:
    expired = _jwt({"iss": issuer.url, "exp": int(time.time()) - 3600})
    config = _write(tmp_path / "config", _config("https://127.0.0.1:6443", _oidc(issuer.url, expired)))
    # the issuer here speaks plain HTTP, which oauthlib refuses unless told it is a test
    result = _python(CONNECT, config, env={"OAUTHLIB_INSECURE_TRANSPORT": "1"})
    assert result["key"] == f"Bearer {issuer.fresh_token}"
    assert len(issuer.refreshes) == 1 and "refresh_token=refresh-1" in issuer.refreshes[0]
    assert {"requests_oauthlib", "oauthlib.oauth2.rfc6749", "requests"} <= set(result["modules"])


def test_in_cluster_configuration_still_loads(tmp_path: Path) -> None:
    """The ServiceAccount path (`load_incluster_config`) through `connect`, token and CA from files
    (the library's file names pointed into tmp_path), no kubeconfig anywhere (HOME is tmp_path)."""
    token = tmp_path / "token"
    token.write_text("sa-token")
    ca = tmp_path / "ca.crt"
    ca.write_text("not read until a request")
    code = """
import json, sys
from inspector.kube.connection import connect
from inspector.settings import Settings
from kubernetes.config import incluster_config
incluster_config.SERVICE_TOKEN_FILENAME, incluster_config.SERVICE_CERT_FILENAME = sys.argv[1:3]
client = connect(settings=Settings(in_cluster=True))
cfg = client.api.configuration
print(json.dumps({"context": client.context, "server": client.server, "key": cfg.api_key["BearerToken"],
                  "ca": cfg.ssl_ca_cert}))
"""
    env = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443", "HOME": str(tmp_path)}
    result = _python(code, str(token), str(ca), env=env)
    assert result == {
        "context": "in-cluster",
        "server": "https://10.96.0.1:443",
        "key": "bearer sa-token",
        "ca": str(ca),
    }


def test_a_deferred_package_runs_its_code_once_for_every_thread_that_asks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its submodule imports without it; the first name asked for runs it, once, and a second thread
    asking meanwhile waits for it instead of finding it half made."""
    from inspector.kube import importing

    package = tmp_path / "deferredpkg"
    package.mkdir()
    runs = tmp_path / "runs"
    (package / "__init__.py").write_text(
        f"import pathlib, time\nwith pathlib.Path({str(runs)!r}).open('a') as f:\n    f.write('ran\\n')\n"
        "time.sleep(0.2)\nfrom . import sub\nVALUE = sub.VALUE + 1\n"
    )
    (package / "sub.py").write_text("VALUE = 41\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "deferredpkg", raising=False)
    monkeypatch.delitem(sys.modules, "deferredpkg.sub", raising=False)
    importing._defer("deferredpkg")
    try:
        import deferredpkg.sub  # type: ignore[import-not-found]

        module = sys.modules["deferredpkg"]
        assert type(module).__name__ == "_Deferred" and deferredpkg.sub.VALUE == 41
        seen: list[int] = []
        threads = [threading.Thread(target=lambda: seen.append(module.VALUE)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert seen == [42, 42]
        assert runs.read_text() == "ran\n"
        assert type(module).__name__ == "module"
    finally:
        sys.modules.pop("deferredpkg", None)
        sys.modules.pop("deferredpkg.sub", None)

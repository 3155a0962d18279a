"""The guarantees of the README, proven on a real cluster: read-only (from the API server's audit log),
least privilege (deploy/rbac.yaml, namespace-scoped Roles), faults with real processes, bad
credentials, and secrets that never reach the output."""

from __future__ import annotations

import base64
import http.client
import http.server
import json
import os
import select
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from e2e.harness import INSPECT, LOCAL_STATE, MANIFESTS, WEB_SVC, Cluster, apply, wait_until

ROOT = Path(__file__).resolve().parent.parent
LOCAL = [sys.executable, str(ROOT / "cluster" / "localcluster.py")]


def local_only(cluster: Cluster) -> None:
    if not cluster.local:
        pytest.skip("needs the local cluster's processes, PKI or audit log")


def token_kubeconfig(
    cluster: Cluster,
    token: str,
    path: Path,
    namespace: str = "default",
    server: str | None = None,
    ca_data: str | None = None,
) -> Path:
    """A kubeconfig for the cluster under test that authenticates with a bearer token."""
    base = yaml.safe_load(Path(cluster.kubeconfig).read_text())
    current = next(c for c in base["contexts"] if c["name"] == base["current-context"])
    entry = next(c for c in base["clusters"] if c["name"] == current["context"]["cluster"])["cluster"]
    entry = dict(entry)
    if server:
        entry = {"server": server}
    if ca_data:
        entry["certificate-authority-data"] = ca_data
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "t",
        "clusters": [{"name": "c", "cluster": entry}],
        "users": [{"name": "u", "user": {"token": token}}],
        "contexts": [{"name": "t", "context": {"cluster": "c", "user": "u", "namespace": namespace}}],
    }
    path.write_text(yaml.safe_dump(config))
    return path


def run(
    kubeconfig: Path | str, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "INSPECTOR_DNS_SERVER")}
    full_env |= env or {}
    return subprocess.run(
        [INSPECT, *args, "--kubeconfig", str(kubeconfig)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )


def one_line_error(res: subprocess.CompletedProcess[str], status: int, text: str) -> None:
    assert res.returncode == status, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stdout + res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and text in lines[0], res.stderr


@pytest.fixture(scope="module")
def inspector_sa(cluster: Cluster) -> str:
    """deploy/rbac.yaml applied; a TokenRequest token for its ServiceAccount."""
    cluster.kubectl("apply", "-f", str(ROOT / "deploy" / "rbac.yaml"))
    return cluster.kubectl("create", "token", "svc-inspect", "-n", "default", "--duration=30m").strip()


# --------------------------------------------------------------------------- read-only, least privilege


def test_every_command_works_as_the_least_privileged_service_account_and_only_reads(
    cluster: Cluster, namespace: str, inspector_sa: str, tmp_path: Path
):
    cluster.kubectl("apply", "-n", namespace, "-f", str(MANIFESTS / "web.yaml"))
    apply(cluster, namespace, WEB_SVC)
    kubeconfig = token_kubeconfig(cluster, inspector_sa, tmp_path / "sa.kubeconfig", namespace)
    # what-if runs lay files over the cluster: a relabelled Deployment and a policy, never applied
    change = tmp_path / "change.yaml"
    change.write_text(
        (MANIFESTS / "web.yaml").read_text().replace("app: web", "app: web-v2")
        + "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny}\n"
        "spec: {podSelector: {}, policyTypes: [Ingress]}\n"
    )
    audit = LOCAL_STATE / "logs" / "audit.log"
    start = audit.stat().st_size if cluster.local and audit.exists() else 0
    dns = {"INSPECTOR_DNS_SERVER": cluster.dns_server} if cluster.dns_server else {}
    commands = [
        ["services", "-A"],
        ["services", "-A", "-o", "wide"],
        ["services", "web-svc"],
        ["svc", "-o", "yaml"],
        ["pods", "-A"],
        ["pods", "-l", "app=web", "-o", "json"],
        ["endpoints", "-A"],
        ["ep", "web-svc"],
        ["diff", "-A", "-o", "json"],
        ["diff", "web-svc", "--request-timeout", "10s"],
        ["wait", "web-svc", "--timeout", "60s"],
        ["reach", "web-svc", "--from-namespace", "default"],
        ["reach", "web-svc", "--from-namespace", "default", "-o", "json"],
        ["diff", "--from-namespace", "default"],
        ["diff", "-f", str(change)],
        ["services", "-f", str(change), "-o", "json"],
        ["services", "web-svc", "-f", str(change)],
        ["diff", "-f", str(change), "--from-namespace", "default"],
        ["reach", "web-svc", "--from-namespace", "default", "-f", str(change)],
    ]
    if cluster.dns_server:
        commands += [
            ["resolve", "web-svc"],
            ["resolve", f"web-svc.{namespace}", "--from-namespace", "default"],
            ["dns", "-A"],
            ["diff", "--dns"],
        ]
    for args in commands:
        res = run(kubeconfig, *args, env=dns)
        assert res.returncode in (0, 1), (args, res.stdout, res.stderr)
        assert "Traceback" not in res.stderr, (args, res.stderr)
        assert "permission" not in res.stderr and "cannot list" not in res.stderr, (args, res.stderr)
    # -w follows with watches under the same identity, until Ctrl-C
    follower = subprocess.Popen(
        [INSPECT, "endpoints", "-A", "-w", "--kubeconfig", str(kubeconfig)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "KUBECONFIG"},
    )
    assert follower.stdout is not None
    header = follower.stdout.readline()  # the table, once the lists are read (the watches follow)
    follower.send_signal(signal.SIGINT)
    _, err = follower.communicate(timeout=30)
    assert header.split()[:2] == ["SERVICE", "ADDRESS"], (header, err)
    assert (follower.returncode, err.splitlines()) == (130, ["interrupted"])
    # serve (without --events) lists, watches and answers scrapes under the same identity, then stops
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [INSPECT, "serve", "-A", "--kubeconfig", str(kubeconfig), "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "KUBECONFIG"},
    )
    try:
        wait_until(
            lambda: "svc_inspect_service_ok{" in _scrape(port) or server.poll() is not None,
            what="serve's metrics",
        )
    finally:
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=30)
    assert (server.returncode, err.splitlines()[-1]) == (0, "serve: stopped"), err
    if not cluster.local:
        return
    user = "system:serviceaccount:default:svc-inspect"
    seen: set[tuple[str, str]] = set()
    with audit.open() as f:
        f.seek(start)
        for line in f:
            event = json.loads(line)
            if event["user"]["username"] == user:
                ref = event.get("objectRef") or {}
                resource = ref.get("resource", event["requestURI"]) + (
                    f"/{ref['subresource']}" if ref.get("subresource") else ""
                )
                seen.add((event["verb"], resource))
    assert seen, "the audit log recorded no request of the inspector's identity"
    writes = {(verb, res) for verb, res in seen if verb not in ("get", "list", "watch")}
    assert writes <= {("create", "pods/portforward")}, writes
    assert {r for _, r in seen} >= {"services", "pods", "endpointslices", "networkpolicies", "ingresses"}


def _scrape(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            return str(resp.read().decode())
    except OSError:
        return ""


def test_with_only_a_namespace_role_all_namespaces_degrades_to_the_permitted_ones(
    cluster: Cluster, namespace: str, tmp_path: Path
):
    cluster.kubectl("apply", "-n", namespace, "-f", str(MANIFESTS / "web.yaml"))
    apply(cluster, namespace, WEB_SVC)
    apply(
        cluster,
        namespace,
        """
apiVersion: v1
kind: ServiceAccount
metadata:
  name: limited
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: inspect-here
rules:
  - apiGroups: ["", discovery.k8s.io, apps]
    resources: [services, pods, endpointslices, deployments, replicasets, statefulsets]
    verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: inspect-here
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: inspect-here
subjects:
  - kind: ServiceAccount
    name: limited
""",
    )
    token = cluster.kubectl("create", "token", "limited", "-n", namespace).strip()
    kubeconfig = token_kubeconfig(cluster, token, tmp_path / "limited.kubeconfig", namespace)
    res = run(kubeconfig, "diff", "-A", "-o", "json")
    assert res.returncode in (0, 1) and "Traceback" not in res.stderr, res.stderr
    report = json.loads(res.stdout)
    assert {s["namespace"] for s in report["services"]} == {namespace}
    assert any(f"showing namespace {namespace} only" in n for n in report["notes"])
    assert "note: cannot list across namespaces" in res.stderr

    # allowed to list namespaces too: the note names every namespace left out
    name = f"list-namespaces-{namespace}"
    cluster.kubectl("create", "clusterrole", name, "--verb=list", "--resource=namespaces")
    try:
        cluster.kubectl(
            "create",
            "clusterrolebinding",
            name,
            f"--clusterrole={name}",
            f"--serviceaccount={namespace}:limited",
        )
        res = run(kubeconfig, "diff", "-A", "-o", "json")
        report = json.loads(res.stdout)
        assert {s["namespace"] for s in report["services"]} == {namespace}
        (left_out,) = [n for n in report["notes"] if n.startswith("left out for lack of permission")]
        assert "default" in left_out and "kube-system" in left_out and namespace not in left_out.split(", ")
        assert "cannot list nodes" in " ".join(report["notes"])
    finally:
        cluster.kubectl("delete", "clusterrolebinding", name, "--ignore-not-found")
        cluster.kubectl("delete", "clusterrole", name, "--ignore-not-found")


# --------------------------------------------------------------------------- bad credentials


def _jwt(payload: dict[str, Any], key: Path) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = (
        f"{b64(json.dumps({'alg': 'RS256', 'typ': 'JWT'}).encode())}.{b64(json.dumps(payload).encode())}"
    )
    signature = subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", str(key)],
        input=signing_input.encode(),
        capture_output=True,
        check=True,
    ).stdout
    return f"{signing_input}.{b64(signature)}"


def test_an_expired_service_account_token_is_one_line_and_exit_3(cluster: Cluster, tmp_path: Path):
    local_only(cluster)
    now = int(time.time())
    token = _jwt(
        {
            "iss": "https://kubernetes.default.svc.cluster.local",
            "aud": ["https://kubernetes.default.svc.cluster.local"],
            "sub": "system:serviceaccount:default:default",
            "iat": now - 7200,
            "nbf": now - 7200,
            "exp": now - 3600,
            "kubernetes.io": {"namespace": "default", "serviceaccount": {"name": "default", "uid": "0"}},
        },
        LOCAL_STATE / "pki" / "sa.key",
    )
    res = run(token_kubeconfig(cluster, token, tmp_path / "expired.kubeconfig"), "diff")
    one_line_error(res, 3, "rejected the credentials")
    assert token not in res.stderr


def test_a_bogus_token_is_one_line_and_exit_3(cluster: Cluster, tmp_path: Path):
    res = run(token_kubeconfig(cluster, "bogus-token-123", tmp_path / "bogus.kubeconfig"), "services")
    one_line_error(res, 3, "rejected the credentials")


def test_a_server_certificate_from_another_ca_is_one_line_and_exit_3(cluster: Cluster, tmp_path: Path):
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "other.key",
            "-out",
            "other.crt",
            "-days",
            "1",
            "-subj",
            "/CN=another-ca",
        ],
        cwd=tmp_path,
        capture_output=True,
        check=True,
    )
    other_ca = base64.b64encode((tmp_path / "other.crt").read_bytes()).decode()
    res = run(token_kubeconfig(cluster, "x", tmp_path / "wrong-ca.kubeconfig", ca_data=other_ca), "diff")
    one_line_error(res, 3, "TLS verification")


# --------------------------------------------------------------------------- faults with real processes


def test_api_server_stopped_or_frozen_gives_one_line_and_exit_3_and_honours_request_timeout(
    cluster: Cluster, namespace: str
):
    local_only(cluster)
    pid = int((LOCAL_STATE / "pids" / "kube-apiserver.pid").read_text().split()[0])
    os.kill(pid, signal.SIGSTOP)  # frozen: connections are accepted, nothing answers
    try:
        started = time.monotonic()
        res = cluster.inspect("diff", "-n", namespace, "--request-timeout", "2s")
        elapsed = time.monotonic() - started
    finally:
        os.kill(pid, signal.SIGCONT)
    one_line_error(res, 3, "did not answer within 2s (--request-timeout)")
    assert elapsed < 10, f"--request-timeout 2s took {elapsed:.1f}s"

    subprocess.run([*LOCAL, "stop-component", "kube-apiserver"], check=True)
    try:
        res = cluster.inspect("diff", "-n", namespace)
        one_line_error(res, 3, "cannot reach the API server")
    finally:
        subprocess.run([*LOCAL, "start-component", "kube-apiserver"], check=True)
        wait_until(lambda: cluster.kubectl("get", "--raw", "/readyz", check=False) == "ok", what="API ready")


def watched_in(audit: Path, start: int, namespace: str) -> bool:
    """Whether the API server's audit log, from byte `start`, records a watch in `namespace`."""
    if not audit.exists():
        return False
    with audit.open() as f:
        f.seek(start)
        for line in f:
            if not line.endswith("\n"):
                break  # being written
            event = json.loads(line)
            if event["verb"] == "watch" and (event.get("objectRef") or {}).get("namespace") == namespace:
                return True
    return False


def test_api_server_stopped_during_a_wait_gives_one_line_and_exit_3(cluster: Cluster, namespace: str):
    local_only(cluster)
    apply(cluster, namespace, WEB_SVC)  # no pods: wait keeps waiting
    audit = LOCAL_STATE / "logs" / "audit.log"
    start = audit.stat().st_size if audit.exists() else 0
    waiter = cluster.start_inspect("wait", "web-svc", "-n", namespace, "--timeout", "8s")
    wait_until(lambda: watched_in(audit, start, namespace), what="the wait's watches open (audit log)")
    subprocess.run([*LOCAL, "stop-component", "kube-apiserver"], check=True)
    try:
        out, err = waiter.communicate(timeout=60)
    finally:
        subprocess.run([*LOCAL, "start-component", "kube-apiserver"], check=True)
        wait_until(lambda: cluster.kubectl("get", "--raw", "/readyz", check=False) == "ok", what="API ready")
    res = subprocess.CompletedProcess(waiter.args, waiter.returncode, out, err)
    one_line_error(res, 3, "cannot reach the API server")


class FaultProxy(http.server.ThreadingHTTPServer):
    """A plain-HTTP proxy on 127.0.0.1 in front of the real API server that answers the first
    `fail` requests itself with `status` (then forwards everything): throttling and 5xx, for real."""

    def __init__(self, upstream: str, ca_file: str, status: int, fail: int) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.upstream = upstream.removeprefix("https://")
        self.ssl = ssl.create_default_context(cafile=ca_file)
        self.status, self.fail, self.seen = status, fail, 0
        self.lock = threading.Lock()


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    server: FaultProxy

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.seen += 1
            failing = self.server.seen <= self.server.fail
        if failing:
            body = json.dumps({"kind": "Status", "message": f"injected {self.server.status}"}).encode()
            self.send_response(self.server.status)
            self.send_header("Retry-After", "0")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        conn = http.client.HTTPSConnection(self.server.upstream, context=self.server.ssl, timeout=30)
        conn.request(
            "GET",
            self.path,
            headers={"Authorization": self.headers.get("Authorization", ""), "Accept": "application/json"},
        )
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        self.send_response(resp.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def fault_proxy(cluster: Cluster) -> Iterator[type[FaultProxy]]:
    servers: list[FaultProxy] = []

    def make(status: int, fail: int) -> FaultProxy:
        base = yaml.safe_load(Path(cluster.kubeconfig).read_text())
        entry = base["clusters"][0]["cluster"]
        ca = Path(tempfile.mkdtemp()) / "ca.crt"
        ca.write_bytes(base64.b64decode(entry["certificate-authority-data"]))
        proxy = FaultProxy(entry["server"], str(ca), status, fail)
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        servers.append(proxy)
        return proxy

    yield make  # type: ignore[misc]
    for s in servers:
        s.shutdown()
        s.server_close()


@pytest.mark.parametrize("status", [429, 503])
def test_throttling_and_server_errors_are_retried_with_backoff(
    cluster: Cluster, namespace: str, inspector_sa: str, tmp_path: Path, fault_proxy: Any, status: int
):
    apply(cluster, namespace, WEB_SVC)
    proxy = fault_proxy(status, fail=3)
    kubeconfig = token_kubeconfig(
        cluster,
        inspector_sa,
        tmp_path / "proxy.kubeconfig",
        namespace,
        server=f"http://127.0.0.1:{proxy.server_address[1]}",
    )
    res = run(kubeconfig, "diff", "-o", "json")
    assert res.returncode == 1, res.stderr  # a real answer: the Service selects no pod yet
    assert [s["name"] for s in json.loads(res.stdout)["services"]] == ["web-svc"]
    assert proxy.seen > 3  # the three injected failures, then the real answers


@pytest.mark.parametrize(("status", "text"), [(429, "kept throttling requests (429)"), (503, "answered 503")])
def test_persistent_throttling_or_server_errors_end_in_one_line_and_exit_3(
    cluster: Cluster, inspector_sa: str, tmp_path: Path, fault_proxy: Any, status: int, text: str
):
    proxy = fault_proxy(status, fail=10_000)
    kubeconfig = token_kubeconfig(
        cluster,
        inspector_sa,
        tmp_path / "proxy.kubeconfig",
        server=f"http://127.0.0.1:{proxy.server_address[1]}",
    )
    started = time.monotonic()
    res = run(kubeconfig, "diff")
    one_line_error(res, 3, text)
    assert proxy.seen == 5, "bounded: one try and four retries"
    assert time.monotonic() - started < 20


# --------------------------------------------------------------------------- secrets


def test_tokens_keys_and_passwords_never_appear_in_the_most_verbose_output(
    cluster: Cluster, namespace: str, inspector_sa: str, tmp_path: Path
):
    apply(cluster, namespace, WEB_SVC)
    good = token_kubeconfig(cluster, inspector_sa, tmp_path / "sa.kubeconfig", namespace)
    bogus_token = inspector_sa[:-4] + "AAAA"
    bogus = token_kubeconfig(cluster, bogus_token, tmp_path / "bogus.kubeconfig", namespace)
    password = "s3cret-Pa55word-never-printed"
    basic = token_kubeconfig(cluster, "unused", tmp_path / "basic.kubeconfig", namespace)
    config = yaml.safe_load(basic.read_text())
    config["users"][0]["user"] = {"username": "admin", "password": password}
    basic.write_text(yaml.safe_dump(config))
    admin = yaml.safe_load(Path(cluster.kubeconfig).read_text())["users"][0]["user"]
    admin_secrets = [v[40:80] for k, v in admin.items() if k in ("client-key-data", "token")]
    if admin.get("client-key-data"):  # the key itself, as PEM body
        admin_secrets.append(base64.b64decode(admin["client-key-data"]).decode().splitlines()[1])
    cases = [
        (good, ["diff", "-vv"], [inspector_sa, inspector_sa.rsplit(".", maxsplit=1)[-1]]),
        (good, ["services", "web-svc", "-vv", "-o", "yaml"], [inspector_sa]),
        (Path(cluster.kubeconfig), ["diff", "-A", "-vv"], admin_secrets),
        (bogus, ["diff", "-vv"], [bogus_token, bogus_token.rsplit(".", maxsplit=1)[-1]]),
        (basic, ["diff", "-vv"], [password, base64.b64encode(f"admin:{password}".encode()).decode()]),
    ]
    for kubeconfig, args, secrets in cases:
        res = run(kubeconfig, *args)
        assert "DEBUG inspector.fetching: GET" in res.stderr, res.stderr
        assert secrets and all(secret not in res.stdout + res.stderr for secret in secrets), kubeconfig.name


def test_an_interrupted_wait_says_so_in_one_line_and_exits_130(cluster: Cluster, namespace: str):
    apply(cluster, namespace, WEB_SVC)  # no pods: wait keeps waiting
    ready, notify = os.pipe()  # the CLI writes "ready" there once its Ctrl-C handler is in place
    waiter = subprocess.Popen(
        [INSPECT, "wait", "web-svc", "-n", namespace, "--timeout", "60s"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cluster.env | {"INSPECTOR_READY_FD": str(notify)},
        pass_fds=(notify,),
    )
    os.close(notify)
    with os.fdopen(ready, "rb") as signal_fd:
        assert select.select([signal_fd], [], [], 60)[0], "the CLI never said its handler was in place"
        assert signal_fd.read() == b"ready\n"
    waiter.send_signal(signal.SIGINT)
    out, err = waiter.communicate(timeout=30)
    res = subprocess.CompletedProcess(waiter.args, waiter.returncode, out, err)
    one_line_error(res, 130, "interrupted")

"""The plugin as krew users get it: `make dist`'s archives and manifest, checked by krew's own
validator, installed by krew itself from the local archive into a fresh KREW_ROOT, and run as
`kubectl svc-inspect` through kubectl's plugin discovery against the cluster.

krew and validate-krew-manifest are built from their Go module (cluster/build.sh krew). Nothing
here reaches the network: `--manifest` keeps krew from fetching its index, `--archive` from
downloading the manifest's uri, and KREW_NO_UPGRADE_CHECK (besides the unstamped build, which krew
treats as a development build) from asking GitHub for a newer krew.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from e2e.harness import Cluster, unavailable

ROOT = Path(__file__).resolve().parent.parent
PLATFORMS = [("linux", "amd64"), ("linux", "arm64"), ("darwin", "amd64"), ("darwin", "arm64")]


def archive(dist: Path, os_name: str, arch: str) -> Path:
    return dist / f"kubectl-svc-inspect-{os_name}-{arch}.tar.gz"


def this_platform() -> tuple[str, str]:
    machine = platform.machine().lower()
    return sys.platform, {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


@pytest.fixture(scope="module")
def krew_bin() -> Path:
    if shutil.which("go") is None:
        reason = "Go is not installed: krew and validate-krew-manifest are built from sigs.k8s.io/krew"
        unavailable(reason)
    res = subprocess.run(
        ["bash", str(ROOT / "cluster" / "build.sh"), "krew"],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    return Path(res.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make dist` into a scratch directory (it rebuilds the archives: a few minutes)."""
    out = tmp_path_factory.mktemp("dist")
    res = subprocess.run(
        ["make", "-C", str(ROOT), "dist", f"DIST={out}"],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    return out


def krew(krew_bin: Path, root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Runs krew with its own KREW_ROOT and nothing else from this environment."""
    res = subprocess.run(
        [str(krew_bin / "krew"), *args],
        capture_output=True,
        text=True,
        env={"HOME": str(root), "KREW_ROOT": str(root), "KREW_NO_UPGRADE_CHECK": "1", "PATH": "/usr/bin:/bin"}
        | (env or {}),
        stdin=subprocess.DEVNULL,
        timeout=300,
        check=False,
    )
    assert res.returncode == 0, f"krew {' '.join(args)} failed: {res.stdout}{res.stderr}"
    return res.stdout + res.stderr


def test_make_dist_renders_a_manifest_krews_validator_accepts(krew_bin: Path, dist: Path) -> None:
    manifest = dist / "svc-inspect.yaml"
    text = manifest.read_text()
    assert "@" not in text.split("platforms:")[1], "placeholders left in the manifest"
    version = re.search(r'^  version: "(v[0-9.]+)"$', text, re.MULTILINE)
    assert version, text
    for os_name, arch in PLATFORMS:
        digest = subprocess.run(
            ["sha256sum", str(archive(dist, os_name, arch))], capture_output=True, text=True, check=True
        ).stdout.split()[0]
        assert f'sha256: "{digest}"' in text
        assert f"/releases/download/{version[1]}/{archive(dist, os_name, arch).name}" in text
    # -skip-install: the validator's own install step downloads each uri, a release not yet
    # published; the next test does that step from the local archives instead
    res = subprocess.run(
        [str(krew_bin / "validate-krew-manifest"), "-manifest", str(manifest), "-skip-install"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert "structural validation OK" in res.stderr
    assert "no overlapping spec.platform[].selector" in res.stderr


@pytest.mark.parametrize(("os_name", "arch"), PLATFORMS, ids=[f"{o}-{a}" for o, a in PLATFORMS])
def test_krew_installs_every_platforms_archive_with_its_license(
    krew_bin: Path, dist: Path, tmp_path: Path, os_name: str, arch: str
) -> None:
    """What validate-krew-manifest's install step checks, per platform, from the local archive."""
    out = krew(
        krew_bin,
        tmp_path,
        "install",
        f"--manifest={dist / 'svc-inspect.yaml'}",
        f"--archive={archive(dist, os_name, arch)}",
        env={"KREW_OS": os_name, "KREW_ARCH": arch},
    )
    assert "Installed plugin: svc-inspect" in out
    assert "CPython 3.11, 3.12, 3.13 or 3.14" in " ".join(out.replace("|", " ").split())
    store = next((tmp_path / "store" / "svc-inspect").iterdir())
    assert sorted(p.name for p in store.iterdir()) == ["LICENSE", "kubectl-svc_inspect"]
    assert "Apache License" in (store / "LICENSE").read_text()
    link = tmp_path / "bin" / "kubectl-svc_inspect"
    assert link.resolve() == (store / "kubectl-svc_inspect").resolve()
    assert os.access(link, os.X_OK)


def test_kubectl_runs_the_krew_installed_plugin_against_the_cluster(
    krew_bin: Path, dist: Path, cluster: Cluster, tmp_path: Path
) -> None:
    os_name, arch = this_platform()
    if (os_name, arch) not in PLATFORMS:
        pytest.skip(f"no krew archive for {os_name}/{arch}")
    krew_root = tmp_path / "krew"
    krew(
        krew_bin,
        krew_root,
        "install",
        f"--manifest={dist / 'svc-inspect.yaml'}",
        f"--archive={archive(dist, os_name, arch)}",
    )
    # `krew list` would want the index; its receipt says krew recorded the installation
    assert (krew_root / "receipts" / "svc-inspect.yaml").is_file()

    # PATH as a krew user's: krew's bin, kubectl, and a python3 (this interpreter's base, not the
    # venv: the zipapp must bring every package it imports); /usr/bin for `env` in its shebang
    python_dir = tmp_path / "python"
    python_dir.mkdir()
    (python_dir / "python3").symlink_to(getattr(sys, "_base_executable", sys.executable))
    kubectl = shutil.which(cluster.kubectl_bin) or cluster.kubectl_bin
    path = os.pathsep.join(
        [str(krew_root / "bin"), str(Path(kubectl).parent), str(python_dir), "/usr/bin:/bin"]
    )
    env = {k: v for k, v in cluster.env.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env |= {"PATH": path, "SHIV_ROOT": str(tmp_path / "shiv"), "HOME": str(tmp_path)}

    def kubectl_run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["kubectl", *args], capture_output=True, text=True, env=env, timeout=300, check=False
        )

    listed = kubectl_run("plugin", "list")
    assert str(krew_root / "bin" / "kubectl-svc_inspect") in listed.stdout, listed.stdout + listed.stderr

    as_json = kubectl_run("svc-inspect", "diff", "-A", "-o", "json")
    assert as_json.returncode in (0, 1), as_json.stderr
    assert "Traceback" not in as_json.stderr
    report = json.loads(as_json.stdout)
    summary = report["summary"]
    assert set(summary) >= {"services", "errors", "warnings", "infos"}
    assert summary["services"] == len(report["services"]) > 0
    assert as_json.returncode == (1 if summary["errors"] else 0)
    for service in report["services"]:
        assert set(service) >= {"namespace", "name", "type", "expected", "actual", "missing", "findings"}
    assert ("default", "kubernetes") in {(s["namespace"], s["name"]) for s in report["services"]}

    table = kubectl_run("svc-inspect", "diff", "-A")
    assert table.returncode in (0, 1), table.stderr
    assert re.search(r"^default/kubernetes \(ClusterIP\): (ok|warn|error), ", table.stdout, re.MULTILINE)
    last = table.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+ service\(s\): \d+ error\(s\), \d+ warning\(s\), \d+ info\(s\)", last), last

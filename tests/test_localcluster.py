"""The local cluster's pure parts: image archives, the real node's configuration, host-state diffs.

The cluster itself is exercised by the e2e suite; these pin down what can be checked without one.
"""

from __future__ import annotations

import io
import json
import sys
import tarfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "cluster"))

import images
import realnode

LAYOUT = realnode.Layout(
    state=Path("/srv/checkout/.cluster"),
    service_cidr="10.96.0.0/16",
    kwok_pod_cidr="10.244.0.0/16",
    cluster_dns="10.96.0.10",
    cluster_domain="cluster.local",
    port_offset=0,
)


@pytest.fixture
def tool(tmp_path: Path) -> Path:
    path = tmp_path / "tool"
    path.write_bytes(b"#!/bin/sh\necho hi\n")
    path.chmod(0o755)
    return path


def test_an_image_archive_is_what_docker_save_writes_and_is_reproducible(tool: Path) -> None:
    image = images.Image(
        "registry.k8s.io/x/tool:1", entrypoint=("/tool",), files={"tool": tool}, symlinks={"bin/t": "../tool"}
    )
    first, second = image.archive(), image.archive()
    assert first == second
    with tarfile.open(fileobj=io.BytesIO(first)) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        assert manifest[0]["RepoTags"] == ["registry.k8s.io/x/tool:1"]
        config = json.load(tar.extractfile(manifest[0]["Config"]))  # type: ignore[arg-type]
        assert config["config"]["Entrypoint"] == ["/tool"]
        layer = tar.extractfile(manifest[0]["Layers"][0]).read()  # type: ignore[union-attr]
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert members["tool"].mode == 0o755 and members["bin/t"].issym() and members["tmp"].mode == 0o1777


def test_containerd_sends_every_registry_to_a_closed_local_port() -> None:
    hosts = realnode.closed_registry_hosts()
    assert 'server = "https://127.0.0.1:9"' in hosts
    config = realnode.containerd_config(LAYOUT, images.PAUSE)
    assert f'config_path = "{LAYOUT.state}/containerd/certs.d"' in config
    assert 'stream_server_address = "127.0.0.1"' in config and "restrict_oom_score_adj = true" in config


def test_sockets_live_under_a_short_run_directory_whatever_the_checkout_path() -> None:
    deep = realnode.Layout(**{**LAYOUT.__dict__, "state": Path("/" + "d" * 200)})
    assert len(str(deep.socket)) < 60 and deep.run_dir != LAYOUT.run_dir


def test_node_ports_and_the_kubelet_stay_on_the_bridge_and_loopback() -> None:
    proxy = json.loads(realnode.kube_proxy_config(LAYOUT))
    assert proxy["nodePortAddresses"] == ["10.88.0.1/32"]
    assert proxy["healthzBindAddress"].startswith("127.0.0.1:") and proxy["metricsBindAddress"].startswith(
        "127.0.0.1:"
    )
    kubelet = json.loads(realnode.kubelet_config(LAYOUT))
    assert kubelet["address"] == realnode.NODE_IP and kubelet["readOnlyPort"] == 0
    assert kubelet["healthzBindAddress"] == "127.0.0.1" and kubelet["clusterDNS"] == ["10.96.0.10"]
    cni = json.loads(realnode.cni_config(LAYOUT))
    assert cni["plugins"][0]["ipam"]["ranges"] == [[{"subnet": "10.88.0.0/16", "gateway": "10.88.0.1"}]]


def test_host_state_differences_name_what_was_left_and_what_went() -> None:
    before = {"links": ["eth0", "lo"], "sysctls": ["net/ipv4/ip_forward=0"]}
    after = {"links": ["eth0", "kin0", "lo"], "sysctls": ["net/ipv4/ip_forward=1"]}
    assert realnode.differences(before, after) == [
        "links: + kin0",
        "sysctls: + net/ipv4/ip_forward=1",
        "sysctls: - net/ipv4/ip_forward=0",
    ]
    assert realnode.differences(before, before) == []


def test_an_image_key_follows_what_goes_into_it(tool: Path) -> None:
    image = images.Image("registry.k8s.io/x/tool:1", entrypoint=("/tool",), files={"tool": tool})
    same = images.Image("registry.k8s.io/x/tool:1", entrypoint=("/tool",), files={"tool": tool})
    before = image.key()
    assert before == same.key()
    tool.write_bytes(b"#!/bin/sh\necho a longer line\n")  # another size: another archive
    assert image.key() != before
    assert (
        images.Image("registry.k8s.io/x/tool:2", entrypoint=("/tool",), files={"tool": tool}).key()
        != image.key()
    )

"""The local cluster's pure parts: image archives, the real nodes' configuration, host-state diffs.

The cluster itself is exercised by the e2e suite; these pin down what can be checked without one.
"""

from __future__ import annotations

import io
import ipaddress
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "cluster"))

import components
import hostnet
import images
import nodes


def node(
    index: int, state: Path = Path("/srv/checkout/.cluster"), proxy_mode: str = "iptables"
) -> nodes.Node:
    return nodes.Node(
        index, state, "10.96.0.0/16", components.KWOK_POD_CIDR, "10.96.0.10", "cluster.local", proxy_mode
    )


NODE = node(0)


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
    hosts = nodes.closed_registry_hosts()
    assert 'server = "https://127.0.0.1:9"' in hosts
    config = nodes.containerd_config(NODE, images.PAUSE)
    assert f'config_path = "{NODE.state}/containerd/certs.d"' in config
    assert 'stream_server_address = "127.0.0.1"' in config and "restrict_oom_score_adj = true" in config


def test_sockets_live_under_a_short_run_directory_whatever_the_checkout_path() -> None:
    deep = node(0, Path("/" + "d" * 200))
    assert len(str(deep.socket)) < 60 and deep.run_dir != NODE.run_dir
    assert node(1).run_dir != NODE.run_dir and node(1).socket != NODE.socket


def test_every_node_has_its_own_name_zone_address_pod_range_namespace_and_cgroup_root() -> None:
    three = [node(i) for i in range(3)]
    assert [n.name for n in three] == ["real-node-a", "real-node-b", "real-node-c"]
    assert [n.zone for n in three] == ["zone-a", "zone-b", "zone-c"]
    assert [n.ip for n in three] == ["10.89.0.11", "10.89.0.12", "10.89.0.13"]
    assert [n.pod_cidr for n in three] == ["10.88.1.0/24", "10.88.2.0/24", "10.88.3.0/24"]
    assert (
        len({n.netns for n in three})
        == len({n.cgroup_root for n in three})
        == len({n.state for n in three})
        == 3
    )
    assert all(n.ip.startswith(hostnet.NODE_NET.rsplit(".", 1)[0]) for n in three)


def test_node_ports_and_the_kubelet_stay_on_the_node_address_and_loopback() -> None:
    proxy = json.loads(nodes.kube_proxy_config(node(1)))
    assert proxy["nodePortAddresses"] == ["10.89.0.12/32"] and proxy["hostnameOverride"] == "real-node-b"
    assert proxy["healthzBindAddress"] == "10.89.0.12:10256" and proxy["metricsBindAddress"].startswith(
        "127.0.0.1:"
    )
    assert proxy["mode"] == "iptables" and proxy["clusterCIDR"] == hostnet.POD_CIDR
    assert json.loads(nodes.kube_proxy_config(node(1, proxy_mode="nftables")))["mode"] == "nftables"
    kubelet = json.loads(nodes.kubelet_config(node(1)))
    assert kubelet["address"] == "10.89.0.12" and kubelet["readOnlyPort"] == 0
    assert kubelet["healthzBindAddress"] == "127.0.0.1" and kubelet["clusterDNS"] == ["10.96.0.10"]
    assert kubelet["cgroupRoot"] == "/kin-b"
    cni = json.loads(nodes.cni_config(node(1)))
    assert cni["plugins"][0]["ipam"]["ranges"] == [[{"subnet": "10.88.2.0/24", "gateway": "10.88.2.1"}]]


def test_host_state_differences_name_what_was_left_and_what_went() -> None:
    before = {"links": ["eth0", "lo"], "sysctls": ["net/ipv4/ip_forward=0"]}
    after = {"links": ["eth0", "kin0", "lo"], "sysctls": ["net/ipv4/ip_forward=1"]}
    assert hostnet.differences(before, after) == [
        "links: + kin0",
        "sysctls: + net/ipv4/ip_forward=1",
        "sysctls: - net/ipv4/ip_forward=0",
    ]
    assert hostnet.differences(before, before) == []


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


# ------------------------------------------------------------------------ kwok's pod range and its guards

THIS_MACHINE = ("192.0.2.0/24", "127.0.0.0/8")  # eth0's network (its gateway 192.0.2.1) and loopback


def test_kwoks_pod_range_overlaps_nothing_here_and_holds_a_range_for_each_of_a_thousand_nodes() -> None:
    kwok = ipaddress.ip_network(components.KWOK_POD_CIDR)
    for other in (components.SERVICE_CIDR, hostnet.POD_CIDR, hostnet.NODE_NET, *THIS_MACHINE):
        assert not kwok.overlaps(ipaddress.ip_network(other)), other
    # nor this machine's DNS server: a range routed nowhere that held it cut every lookup off
    ranges = [components.KWOK_POD_CIDR, components.SERVICE_CIDR, hostnet.POD_CIDR, hostnet.NODE_NET]
    assert hostnet.nameservers(), "this machine names a DNS server"
    assert hostnet.cut_off(ranges) == []
    mask = next(a for a in components.controller_manager_args(None) if a.startswith("--node-cidr-mask-size="))
    per_node = int(mask.partition("=")[2])
    assert 2 ** (per_node - kwok.prefixlen) >= 1000  # the bench's largest plan: 1,000 kwok nodes
    assert f"--cluster-cidr={kwok}" in components.controller_manager_args(None)
    assert f"--cidr={kwok}" in components.kwok_args(None)


class Recorder:
    """Stands in for `run`: records every command, answers every one with success and no output."""

    def __init__(self) -> None:
        self.commands: list[tuple[str, ...]] = []

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        self.commands.append(args)
        return subprocess.CompletedProcess(list(args), 0, "", "")


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Recorder:
    """hostnet's and nodes' commands recorded, never run (nothing on this host changes)."""
    recorder = Recorder()
    monkeypatch.setattr(hostnet, "run", recorder)
    monkeypatch.setattr(nodes, "run", recorder)
    monkeypatch.setattr(hostnet, "OWNER_FILE", tmp_path / "owner")  # the live cluster's is /run's
    monkeypatch.setattr(hostnet.shutil, "which", lambda _: None)
    return recorder


def test_the_host_and_every_real_node_route_kwoks_whole_pod_range_nowhere(
    recorded: Recorder, tmp_path: Path
) -> None:
    (tmp_path / "nodes.json").write_text(json.dumps(components.nodes_record(2, "iptables")))
    real = components.real_nodes(tmp_path)
    hostnet.setup_network(components.host_network(tmp_path, real))
    void = ("ip", "route", "add", components.KWOK_POD_CIDR, "dev", hostnet.VOID, "src", hostnet.API_IP)
    assert void in recorded.commands
    for n in real:
        nodes.setup_network(n, real)
        assert (
            *n.enter,
            "ip",
            "route",
            "add",
            components.KWOK_POD_CIDR,
            "dev",
            nodes.NODE_VOID,
            "src",
            n.ip,
        ) in (recorded.commands)
    recorded.commands.clear()
    hostnet.teardown_network(components.host_network(tmp_path, real), None)
    assert ("ip", "route", "del", components.KWOK_POD_CIDR) in recorded.commands


def test_down_takes_down_the_kwok_route_that_up_made_even_from_before_the_range_was_recorded(
    recorded: Recorder, tmp_path: Path
) -> None:
    (tmp_path / "nodes.json").write_text(json.dumps({"count": 1, "proxyMode": "iptables"}))  # older `up`
    real = components.real_nodes(tmp_path)
    assert real[0].kwok_pod_cidr == components.host_network(tmp_path, real).kwok_pod_cidr == "10.244.0.0/16"
    hostnet.teardown_network(components.host_network(tmp_path, real), None)
    assert ("ip", "route", "del", "10.244.0.0/16") in recorded.commands
    (tmp_path / "nodes.json").write_text(json.dumps(components.nodes_record(1, "iptables")))
    assert components.host_network(tmp_path, components.real_nodes(tmp_path)).kwok_pod_cidr == (
        components.KWOK_POD_CIDR
    )


def test_up_refuses_ranges_that_hold_the_hosts_dns_server(tmp_path: Path) -> None:
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("search example\nnameserver 10.255.255.53\nnameserver fd00::53\noptions ndots:1\n")
    assert hostnet.nameservers(resolv) == ["10.255.255.53", "fd00::53"]
    assert hostnet.cut_off(["10.192.0.0/10", "10.88.0.0/16"], resolv) == ["10.255.255.53 (in 10.192.0.0/10)"]
    assert hostnet.cut_off(["10.128.0.0/10"], resolv) == []

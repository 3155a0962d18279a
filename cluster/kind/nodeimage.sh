#!/usr/bin/env bash
# kind's node image, assembled here: `kind build node-image` downloads or pulls its base image,
# kindnetd and local-path-provisioner, and no container registry is reachable from this machine.
#   1. a Debian bookworm root (debootstrap from the Debian mirror apt uses) with systemd, containerd,
#      runc, iptables and nftables, plus kind's own base files (entrypoint, units, containerd config)
#      from its Go module, crictl and the CNI plugins cluster/build.sh built: the base image;
#   2. on it, kubeadm, kubelet, kubectl, /kind/version, and every image kubeadm asks for imported into
#      the node's containerd under its exact name (cluster/images.py kind; kube-proxy is built on the
#      base image, as it needs iptables and nft), and kube-router (the NetworkPolicy enforcer, on the
#      base image too): the node image, committed.
# Both are cached in dockerd's data-root (cluster/kind/dockerd.sh), tagged by what went into them;
# a warm run only checks that the tag exists. DOCKER_HOST must name that dockerd.
# Prints the node image's name.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../versions.env
source "$root/cluster/versions.env"
cache=${INSPECTOR_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/kubectl-inspect}
work=$cache/kind
say() { printf 'kind-image: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
eval "$(bash "$root/cluster/build.sh" paths)"
kind_src=$(GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/kind@$KIND_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
[[ -d $kind_src/images/base/files ]] || die "kind's base files are not in its module ($kind_src)"
mirror=${KIND_DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=systemd,systemd-sysv,dbus,conntrack,iptables,nftables,iproute2,ethtool,util-linux,mount,kmod
packages+=,libseccomp2,pigz,bash,ca-certificates,procps,containerd,runc,jq,busybox-static,ipset

key_of() { cat "$@" | sha256sum | cut -c1-12; }

# --- 1. the base image -------------------------------------------------------------------------
rootfs_tar=$work/bookworm-$(echo "$packages $mirror" | sha256sum | cut -c1-12).tar
if [[ ! -f $rootfs_tar ]]; then
    command -v debootstrap >/dev/null || die "debootstrap is not installed (cluster/build.sh kind installs it)"
    say "debootstrap bookworm from $mirror (a few minutes, once)"
    tmp=$work/rootfs.tmp
    rm -rf "$tmp"
    mkdir -p "$work"
    debootstrap --variant=minbase --include="$packages" bookworm "$tmp" "$mirror" >"$work/debootstrap.log" 2>&1 \
        || die "debootstrap failed; see $work/debootstrap.log"
    rm -rf "$tmp"/var/lib/apt/lists/* "$tmp"/var/cache/apt/*
    tar -C "$tmp" --numeric-owner -cf "$rootfs_tar.tmp" .
    mv "$rootfs_tar.tmp" "$rootfs_tar"
    rm -rf "$tmp"
fi

base_key=$(key_of <(echo "$rootfs_tar $KIND_VERSION") "$0" "$here/containerd.toml" "$here/guard.sh" "$here/inspector-guard.service" \
    <(grep -E '^ *(podSubnet|serviceSubnet):' "$root/e2e/kind-offline.yaml") "$root/cluster/nodes.py" "$CRICTL_BIN/crictl" "$CNI_BIN/bridge" \
    <(cd "$kind_src/images/base/files" && find . -type f | sort | xargs sha256sum))
base=inspector/kind-base:$KIND_VERSION-$base_key
if ! docker image inspect "$base" >/dev/null 2>&1; then
    say "assembling the base image $base"
    stage=$work/base.tmp
    rm -rf "$stage"
    mkdir -p "$stage"
    tar -C "$stage" --numeric-owner -xf "$rootfs_tar"
    files=$kind_src/images/base/files
    install -m 0755 "$files"/usr/local/bin/* "$stage/usr/local/bin/"
    # kind goes on as soon as a node's log says "detected cgroup v1" (the entrypoint's line, before
    # systemd has started); kubeadm's `systemctl daemon-reload` then fails now and then ("failed to
    # reload systemd") and the kubelet never starts. Worded otherwise, kind waits for systemd's
    # "Reached target Multi-User System", as on cgroup v2.
    sed -i "s/log_info 'detected cgroup v1'/log_info 'cgroup v1 detected'/" "$stage/usr/local/bin/entrypoint"
    grep -q "'cgroup v1 detected'" "$stage/usr/local/bin/entrypoint" || die "kind's entrypoint changed: no 'detected cgroup v1' line"
    mkdir -p "$stage/kind/bin" "$stage/kind/manifests" "$stage/etc/systemd/system/kubelet.service.d" "$stage/LICENSES"
    install -m 0644 "$files/kind/README.txt" "$stage/kind/"
    install -m 0755 "$files"/kind/bin/* "$stage/kind/bin/"
    install -m 0644 "$files/etc/crictl.yaml" "$stage/etc/"
    install -m 0644 "$files"/etc/default/* "$stage/etc/default/"
    install -m 0644 "$files"/etc/sysctl.d/* "$stage/etc/sysctl.d/"
    for unit in kubelet.slice kubelet.service undo-mount-hacks.service containerd.service; do
        install -m 0644 "$files/etc/systemd/system/$unit" "$stage/etc/systemd/system/"
    done
    install -m 0644 "$files"/etc/systemd/system/kubelet.service.d/* "$stage/etc/systemd/system/kubelet.service.d/"
    # Debian's containerd (1.6, config format v2, as kind's file is) lives in /usr/bin
    sed -i 's|^ExecStart=/usr/local/bin/containerd|ExecStart=/usr/bin/containerd|' "$stage/etc/systemd/system/containerd.service"
    install -m 0644 "$here/containerd.toml" "$stage/etc/containerd/config.toml"
    # kind's base: the runtime spec pods start from, with its product-files hook and no rlimits
    ctr oci spec | jq '.hooks.createContainer[.hooks.createContainer | length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' \
        | jq 'del(.process.rlimits)' >"$stage/etc/containerd/cri-base.json"
    install -m 0755 "$CRICTL_BIN/crictl" "$stage/usr/local/bin/"
    mkdir -p "$stage/opt/cni/bin"
    for plugin in bridge host-local loopback portmap; do install -m 0755 "$CNI_BIN/$plugin" "$stage/opt/cni/bin/"; done
    # what kind's Dockerfile does after installing its packages
    find "$stage/lib/systemd/system/sysinit.target.wants/" -name systemd-tmpfiles-setup.service -delete
    rm -f "$stage"/lib/systemd/system/multi-user.target.wants/* "$stage"/etc/systemd/system/*.wants/*
    rm -f "$stage"/lib/systemd/system/local-fs.target.wants/* "$stage"/lib/systemd/system/sockets.target.wants/*udev*
    rm -f "$stage"/lib/systemd/system/sockets.target.wants/*initctl* "$stage"/lib/systemd/system/basic.target.wants/*
    echo "ReadKMsg=no" >>"$stage/etc/systemd/journald.conf"
    ln -sf /usr/lib/systemd/systemd "$stage/sbin/init"
    install -m 0755 "$here/guard.sh" "$stage/usr/local/bin/inspector-guard"
    pods=$(sed -n 's/^ *podSubnet: *//p' "$root/e2e/kind-offline.yaml")
    services=$(sed -n 's/^ *serviceSubnet: *//p' "$root/e2e/kind-offline.yaml")
    [[ -n $pods && -n $services ]] || die "e2e/kind-offline.yaml names no podSubnet or serviceSubnet"
    printf 'POD_SUBNET=%s\nSERVICE_SUBNET=%s\n' "$pods" "$services" >"$stage/etc/default/inspector-guard"
    # a pull of an image not built here fails at once, at a closed local port, never at a registry
    # (as on the local cluster's real nodes: cluster/nodes.py)
    mkdir -p "$stage/etc/containerd/certs.d/_default"
    python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import nodes; print(nodes.closed_registry_hosts(), end="")' \
        "$root/cluster" >"$stage/etc/containerd/certs.d/_default/hosts.toml"
    install -m 0644 "$here/inspector-guard.service" "$stage/etc/systemd/system/"
    systemctl --root="$stage" enable inspector-guard.service kubelet.service containerd.service undo-mount-hacks.service \
        >/dev/null 2>&1
    systemctl --root="$stage" mask systemd-binfmt.service >/dev/null 2>&1
    mkdir -p "$stage/etc/kubernetes/manifests"
    # a StorageClass kind applies (instead of its fallback, which would pull local-path-provisioner)
    cat >"$stage/kind/manifests/default-storage.yaml" <<'YAML'
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
YAML
    : >"$stage/etc/machine-id"
    tar -C "$stage" --numeric-owner -c . | docker import --change 'ENV container=docker' - "$base-rootfs" >/dev/null
    rm -rf "$stage"
    # what `docker import` cannot set: systemd stops on SIGRTMIN+3
    printf 'FROM %s\nSTOPSIGNAL SIGRTMIN+3\nENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]\n' "$base-rootfs" \
        | DOCKER_BUILDKIT=0 docker build -q -t "$base" - >/dev/null
    docker rmi "$base-rootfs" >/dev/null
fi

# --- 2. the node image -------------------------------------------------------------------------
archives=$(/usr/bin/env python3 "$root/cluster/images.py" kind "$work/images")
node_key=$(key_of <(echo "$base $archives") "$KUBE_BIN/kubeadm" "$KUBE_BIN/kubelet" "$KUBE_BIN/kube-proxy" \
    "$KUBE_ROUTER_BIN/kube-router" "$0")
node=inspector/kind-node:$K8S_VERSION-$node_key
if ! docker image inspect "$node" >/dev/null 2>&1; then
    say "assembling the node image $node"
    # kube-proxy on the node's Debian root: it runs iptables, ip6tables and nft
    proxy=registry.k8s.io/kube-proxy:$K8S_VERSION
    ctx=$work/kube-proxy.tmp
    rm -rf "$ctx"
    mkdir -p "$ctx"
    cp "$KUBE_BIN/kube-proxy" "$ctx/"
    printf 'FROM %s\nCOPY kube-proxy /usr/local/bin/kube-proxy\nENTRYPOINT ["/usr/local/bin/kube-proxy"]\n' "$base" >"$ctx/Dockerfile"
    DOCKER_BUILDKIT=0 docker build -q -t "$proxy" "$ctx" >/dev/null
    rm -rf "$ctx"
    docker save "$proxy" -o "$work/images/kube-proxy.tar"
    # the NetworkPolicy enforcer (e2e/manifests/kind-kube-router.yaml): kube-router on the same root
    # (iptables, ipset), under a name of ours that nothing pulls
    router=inspector/kube-router:$KUBE_ROUTER_VERSION
    mkdir -p "$ctx"
    cp "$KUBE_ROUTER_BIN/kube-router" "$ctx/"
    printf 'FROM %s\nCOPY kube-router /usr/local/bin/kube-router\nENTRYPOINT ["/usr/local/bin/kube-router"]\n' "$base" >"$ctx/Dockerfile"
    DOCKER_BUILDKIT=0 docker build -q -t "$router" "$ctx" >/dev/null
    rm -rf "$ctx"
    docker save "$router" -o "$work/images/kube-router.tar"
    build=$(docker run -d --init --privileged --entrypoint sleep "$base" infinity)
    trap 'docker rm -f -v "$build" >/dev/null 2>&1 || true' EXIT
    for b in kubeadm kubelet kubectl; do docker cp "$KUBE_BIN/$b" "$build:/usr/bin/$b"; done
    docker exec "$build" sh -c "printf %s $K8S_VERSION >/kind/version"
    docker exec "$build" sh -c 'nohup containerd >/tmp/containerd.log 2>&1 &'
    docker exec "$build" sh -c 'for i in $(seq 1 100); do [ -S /run/containerd/containerd.sock ] && ctr version >/dev/null 2>&1 && exit 0; sleep 0.2; done; cat /tmp/containerd.log; exit 1'
    for a in $archives "$work/images/kube-proxy.tar" "$work/images/kube-router.tar"; do
        docker exec -i "$build" ctr --namespace=k8s.io images import --label=io.cri-containerd.pinned=pinned \
            --all-platforms --no-unpack --digests - <"$a" >/dev/null
    done
    rm -f "$work/images/kube-proxy.tar" "$work/images/kube-router.tar"
    docker rmi "$proxy" "$router" >/dev/null
    # every image kubeadm will ask for must be there under its exact name (CoreDNS: our tag, kind.yaml)
    want=$(docker exec "$build" kubeadm config images list --kubernetes-version "$K8S_VERSION" \
        | sed -E "s|^(registry.k8s.io/coredns/coredns):.*|\1:$COREDNS_VERSION|; /registry.k8s.io\/pause:/d")
    have=$(docker exec "$build" ctr --namespace=k8s.io images list -q)
    for image in $want registry.k8s.io/pause:3.10 "docker.io/$router"; do
        grep -qx "$image" <<<"$have" || die "the node image lacks $image (it has: $(echo $have))"
    done
    docker exec "$build" pkill containerd
    docker exec "$build" sh -c 'for i in $(seq 1 150); do pgrep -x containerd >/dev/null || break; sleep 0.2; done
        ! pgrep -x containerd >/dev/null && rm -rf /tmp/* /run/containerd' || die "containerd did not stop in the build container"
    docker commit --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' --change 'CMD []' "$build" "$node" >/dev/null
    docker rm -f -v "$build" >/dev/null
    trap - EXIT
fi
echo "$node"

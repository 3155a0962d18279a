#!/usr/bin/env bash
# Builds the local cluster's binaries from their published Go modules (no container registry or
# binary download is reachable here), and installs the real node's Debian packages (containerd,
# runc, iptables, ...) when missing and root. Binaries are cached outside the repo, keyed by
# version, so only the first run pays; a warm run only checks that the files exist.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache=${INSPECTOR_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/kubectl-inspect}
say() { printf 'cluster-build: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

require_go() {
    command -v go >/dev/null 2>&1 \
        || die "Go is not installed (needed to build the local cluster); install Go 1.26+ or use a kind cluster (make e2e-kind)."
}
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

k8s_dir=$cache/bin/kubernetes-$K8S_VERSION
etcd_dir=$cache/bin/etcd-$ETCD_VERSION
kwok_dir=$cache/bin/kwok-$KWOK_VERSION
coredns_dir=$cache/bin/coredns-$COREDNS_VERSION
cni_dir=$cache/bin/cni-plugins-$CNI_PLUGINS_VERSION
crictl_dir=$cache/bin/crictl-$CRI_TOOLS_VERSION
kube_router_dir=$cache/bin/kube-router-$KUBE_ROUTER_VERSION
pause_dir=$cache/bin/pause-$(sha256sum "$here/src/pause.c" | cut -c1-12)

fetch_failed() {
    die "could not fetch $1 from the Go module proxy ($(go env GOPROXY)); is it reachable? See $2"
}

# what the Kubernetes wrapper module builds: package path -> binary name
k8s_commands=(
    cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler cmd/kubectl
    cmd/kubelet cmd/kube-proxy test/images/agnhost
)
# kind's nodes run kubeadm too (cluster/build.sh kind)
[[ ${1:-} == kind ]] && k8s_commands+=(cmd/kubeadm)

build_kubernetes() {
    local missing=() pkg
    for pkg in "${k8s_commands[@]}"; do [[ -x $k8s_dir/${pkg##*/} ]] || missing+=("$pkg"); done
    ((${#missing[@]})) || return 0
    require_go
    say "building Kubernetes $K8S_VERSION (${missing[*]##*/}); a cold build takes several minutes"
    local src=$cache/src/kubernetes-$K8S_VERSION log=$cache/src/kubernetes-$K8S_VERSION.log
    mkdir -p "$src" "$k8s_dir"
    local upstream_mod
    upstream_mod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" 2>"$log" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p') || true
    [[ -n $upstream_mod ]] || fetch_failed "k8s.io/kubernetes@$K8S_VERSION" "$log"
    local staging=v0.${K8S_VERSION#v1.}
    # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with local paths;
    # replace lines of a dependency are ignored, so the wrapper pins each to its published tag.
    {
        echo "module localcluster/kubernetes"
        echo
        grep -E '^go [0-9.]+$' "$upstream_mod"
        grep -E '^godebug ' "$upstream_mod" || true
        echo
        echo "require k8s.io/kubernetes $K8S_VERSION"
        echo
        grep -E '^\s+k8s\.io/[a-z0-9-]+ v0\.0\.0$' "$upstream_mod" | awk -v v="$staging" '{print "replace " $1 " => " $1 " " v}'
    } >"$src/go.mod"
    {
        printf '//go:build tools\n\n// Keeps the command packages in the module graph.\npackage tools\n\nimport (\n'
        for pkg in "${k8s_commands[@]}"; do printf '\t_ "k8s.io/kubernetes/%s"\n' "$pkg"; done
        printf ')\n'
    } >"$src/tools.go"
    (cd "$src" && go mod tidy >>"$log" 2>&1) || fetch_failed "the modules of Kubernetes $K8S_VERSION" "$log"
    local minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
    local ldflags="-s -w" vpkg
    for vpkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        ldflags+=" -X $vpkg.gitVersion=$K8S_VERSION -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$minor -X $vpkg.gitTreeState=clean"
    done
    for pkg in "${missing[@]}"; do
        local b=${pkg##*/}
        say "  go build $b"
        (cd "$src" && go build -trimpath -ldflags "$ldflags" -o "$k8s_dir/$b.tmp" "k8s.io/kubernetes/$pkg" >>"$log" 2>&1) \
            || die "building $b failed; see $log"
        mv "$k8s_dir/$b.tmp" "$k8s_dir/$b"
    done
}

build_etcd() {
    [[ -x $etcd_dir/etcd ]] && return 0
    require_go
    say "building etcd $ETCD_VERSION"
    local src=$cache/src/etcd-$ETCD_VERSION log=$cache/src/etcd-$ETCD_VERSION.log
    mkdir -p "$src" "$etcd_dir"
    cat >"$src/go.mod" <<MOD
module localcluster/etcd

go 1.25
MOD
    cat >"$src/main.go" <<'GO'
// The etcd server: etcd's own main module replaces its submodules with local paths, so it
// cannot be installed with `go install`; this wrapper calls the same entry point.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
    (cd "$src" && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >"$log" 2>&1 && go mod tidy >>"$log" 2>&1) \
        || fetch_failed "go.etcd.io/etcd/server/v3@$ETCD_VERSION" "$log"
    (cd "$src" && go build -trimpath -ldflags "-s -w" -o "$etcd_dir/etcd.tmp" . >>"$log" 2>&1) || die "building etcd failed; see $log"
    mv "$etcd_dir/etcd.tmp" "$etcd_dir/etcd"
}

go_install() { # name dir version package... (GO_TAGS: build tags)
    local name=$1 dir=$2 version=$3 pkg; shift 3
    local targets=()
    for pkg in "$@"; do [[ -x $dir/${pkg##*/} ]] || targets+=("$pkg@$version"); done
    ((${#targets[@]})) || return 0
    require_go
    say "building $name $version"
    local log=$cache/src/$name-$version.log
    mkdir -p "$dir" "$cache/src"
    GOBIN=$dir go install -trimpath -tags "${GO_TAGS:-}" -ldflags "-s -w" "${targets[@]}" >"$log" 2>&1 \
        || die "building $name $version failed (is the Go module proxy reachable?); see $log"
}

build_pause() {
    [[ -x $pause_dir/pause ]] && return 0
    command -v gcc >/dev/null || { say "no gcc: the real node's pause image cannot be built (kwok-only cluster)"; return 0; }
    mkdir -p "$pause_dir"
    gcc -Os -static -o "$pause_dir/pause.tmp" "$here/src/pause.c" || die "building pause failed"
    mv "$pause_dir/pause.tmp" "$pause_dir/pause"
}

# Debian packages the real nodes run on (and Graphviz, which the picture's e2e test draws with);
# installed when missing, as root, never otherwise.
host_packages() {
    [[ ${LOCALCLUSTER_REAL_NODE:-1} == 0 ]] && return 0
    local want=(containerd:containerd ctr:containerd runc:runc iptables:iptables ip:iproute2 nft:nftables
                nsenter:util-linux
                conntrack:conntrack ipset:ipset busybox:busybox-static getent:libc-bin
                dot:graphviz) missing=() entry
    for entry in "${want[@]}"; do command -v "${entry%%:*}" >/dev/null 2>&1 || missing+=("${entry#*:}"); done
    ((${#missing[@]})) || return 0
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
        say "real node: ${missing[*]} missing and cannot be installed here (needs root and apt-get); the cluster will be kwok-only"
        return 0
    fi
    say "installing Debian packages for the real node: ${missing[*]}"
    local log=$cache/src/apt.log
    mkdir -p "$cache/src"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
        apt-get update >>"$log" 2>&1 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >>"$log" 2>&1 \
            || say "real node: apt-get could not install ${missing[*]} (see $log); the cluster will be kwok-only"
    fi
}

build_real_node() {
    host_packages
    go_install cni-plugins "$cni_dir" "$CNI_PLUGINS_VERSION" \
        github.com/containernetworking/plugins/plugins/main/bridge \
        github.com/containernetworking/plugins/plugins/main/loopback \
        github.com/containernetworking/plugins/plugins/ipam/host-local \
        github.com/containernetworking/plugins/plugins/meta/portmap
    go_install crictl "$crictl_dir" "$CRI_TOOLS_VERSION" sigs.k8s.io/cri-tools/cmd/crictl
    go_install kube-router "$kube_router_dir" "$KUBE_ROUTER_VERSION" github.com/cloudnativelabs/kube-router/v2/cmd/kube-router
    build_pause
}

# krew and its manifest validator, for e2e/test_krew.py (not part of the cluster). sigs.k8s.io/krew's
# go.mod has no replace lines, so `go install ...@version` builds them as published. No version is
# stamped in, so krew counts as a development build and never asks GitHub for a newer release.
KREW_VERSION=${KREW_VERSION:-v0.4.4}
krew_dir=$cache/bin/krew-$KREW_VERSION
kind_dir=$cache/bin/kind-$KIND_VERSION
build_krew() {
    go_install krew "$krew_dir" "$KREW_VERSION" sigs.k8s.io/krew/cmd/krew sigs.k8s.io/krew/cmd/validate-krew-manifest
}

# Debian packages for kind: Docker 20.10 (docker.io; its service is never started: cluster/kind/dockerd.sh
# runs dockerd), debootstrap for the node image's root, jq for the runc wrapper. Root only.
kind_packages() {
    local want=(dockerd:docker.io debootstrap:debootstrap jq:jq) missing=() entry
    for entry in "${want[@]}"; do command -v "${entry%%:*}" >/dev/null 2>&1 || missing+=("${entry#*:}"); done
    ((${#missing[@]})) || return 0
    [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null || die "kind: ${missing[*]} missing; installing them needs root and apt-get"
    say "installing Debian packages for kind: ${missing[*]}"
    local log=$cache/src/apt-kind.log
    mkdir -p "$cache/src"
    # no service may start from a package's install script (there is no systemd; dockerd is ours)
    local policy=/usr/sbin/policy-rc.d added=0
    if [[ ! -e $policy ]]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; added=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >"$log" 2>&1 \
        || { apt-get update >>"$log" 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >>"$log" 2>&1; } \
        || { ((added)) && rm -f "$policy"; die "kind: apt-get could not install ${missing[*]} (see $log)"; }
    ((added)) && rm -f "$policy"
    return 0
}

build_kind_image() {
    local started=0 image
    bash "$here/kind/dockerd.sh" status || started=1
    eval "$(bash "$here/kind/dockerd.sh" start)"
    image=$(bash "$here/kind/nodeimage.sh") || { ((started)) && bash "$here/kind/dockerd.sh" stop; die "the kind node image could not be built"; }
    ((started)) && bash "$here/kind/dockerd.sh" stop
    say "kind node image: $image"
}

# Prometheus and promtool, for serve: promtool checks deploy/serve/alerts.yaml (unit tests) and
# Prometheus scrapes serve and evaluates those alerts (e2e). remove_all_sd leaves out every
# service-discovery plugin (cloud SDKs: most of a cold build); the static and file configurations
# the tests use stay. Without the builtinassets tag the web UI is not embedded (the API is all we read).
prometheus_dir=$cache/bin/prometheus-$PROMETHEUS_VERSION
build_prometheus() {
    GO_TAGS=remove_all_sd go_install prometheus "$prometheus_dir" "$PROMETHEUS_VERSION" \
        github.com/prometheus/prometheus/cmd/prometheus github.com/prometheus/prometheus/cmd/promtool
}

case "${1:-all}" in
    all)
        build_etcd
        build_kubernetes
        go_install kwok "$kwok_dir" "$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok
        go_install coredns "$coredns_dir" "$COREDNS_VERSION" github.com/coredns/coredns
        build_real_node
        build_prometheus
        ;;
    prometheus) build_prometheus ;;
    etcd) build_etcd ;;
    kubernetes) build_kubernetes ;;
    kwok) go_install kwok "$kwok_dir" "$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok ;;
    coredns) go_install coredns "$coredns_dir" "$COREDNS_VERSION" github.com/coredns/coredns ;;
    real-node) build_real_node ;;
    kind)
        # everything `make e2e-kind` needs: Docker, kind, kubeadm, the binaries its node image packs,
        # Prometheus (serve's tests), and the node image itself (in dockerd's data-root, started here
        # if it is not running)
        kind_packages
        build_etcd
        build_kubernetes
        go_install kind "$kind_dir" "$KIND_VERSION" sigs.k8s.io/kind
        go_install coredns "$coredns_dir" "$COREDNS_VERSION" github.com/coredns/coredns
        build_real_node
        build_prometheus
        build_kind_image
        ;;
    krew) build_krew; printf '%s\n' "$krew_dir" ;; # prints where the binaries are
    paths)
        printf 'KUBE_BIN=%s\nETCD_BIN=%s\nKWOK_BIN=%s\nCOREDNS_BIN=%s\nCNI_BIN=%s\nCRICTL_BIN=%s\nPAUSE_BIN=%s\nKUBE_ROUTER_BIN=%s\nPROMETHEUS_BIN=%s\nKIND_BIN=%s\n' \
            "$k8s_dir" "$etcd_dir" "$kwok_dir" "$coredns_dir" "$cni_dir" "$crictl_dir" "$pause_dir" "$kube_router_dir" "$prometheus_dir" "$kind_dir"
        exit 0
        ;;
    *) die "usage: build.sh [all|etcd|kubernetes|kwok|coredns|real-node|prometheus|kind|krew|paths]" ;;
esac
say "binaries ready under $cache/bin"

#!/usr/bin/env bash
# Builds the local cluster's binaries from their published Go modules (no container registry or
# binary download is reachable here). Binaries are cached outside the repo, keyed by version, so
# only the first run pays; a warm run only checks that the files exist.
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

fetch_failed() {
    die "could not fetch $1 from the Go module proxy ($(go env GOPROXY)); is it reachable? See $2"
}

build_kubernetes() {
    local want=(kube-apiserver kube-controller-manager kube-scheduler kubectl) missing=0 b
    for b in "${want[@]}"; do [[ -x $k8s_dir/$b ]] || missing=1; done
    ((missing)) || return 0
    require_go
    say "building Kubernetes $K8S_VERSION (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl); a cold build takes several minutes"
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
    cat >"$src/tools.go" <<'GO'
//go:build tools

// Keeps the command packages in the module graph.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
    (cd "$src" && go mod tidy >>"$log" 2>&1) || fetch_failed "the modules of Kubernetes $K8S_VERSION" "$log"
    local minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
    local ldflags="-s -w" pkg
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
    done
    for b in "${want[@]}"; do
        say "  go build $b"
        (cd "$src" && go build -trimpath -ldflags "$ldflags" -o "$k8s_dir/$b.tmp" "k8s.io/kubernetes/cmd/$b" >>"$log" 2>&1) \
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

go_install() { # name module-path version dir
    local name=$1 pkg=$2 version=$3 dir=$4
    [[ -x $dir/$name ]] && return 0
    require_go
    say "building $name $version"
    local log=$cache/src/$name-$version.log
    mkdir -p "$dir" "$cache/src"
    GOBIN=$dir go install -trimpath -ldflags "-s -w" "$pkg@$version" >"$log" 2>&1 \
        || die "building $name $version failed (is the Go module proxy reachable?); see $log"
}

case "${1:-all}" in
    all)
        build_etcd
        build_kubernetes
        go_install kwok sigs.k8s.io/kwok/cmd/kwok "$KWOK_VERSION" "$kwok_dir"
        go_install coredns github.com/coredns/coredns "$COREDNS_VERSION" "$coredns_dir"
        ;;
    etcd) build_etcd ;;
    kubernetes) build_kubernetes ;;
    kwok) go_install kwok sigs.k8s.io/kwok/cmd/kwok "$KWOK_VERSION" "$kwok_dir" ;;
    coredns) go_install coredns github.com/coredns/coredns "$COREDNS_VERSION" "$coredns_dir" ;;
    paths)
        printf 'KUBE_BIN=%s\nETCD_BIN=%s\nKWOK_BIN=%s\nCOREDNS_BIN=%s\n' "$k8s_dir" "$etcd_dir" "$kwok_dir" "$coredns_dir"
        exit 0
        ;;
    *) die "usage: build.sh [all|etcd|kubernetes|kwok|coredns|paths]" ;;
esac
say "binaries ready under $cache/bin"

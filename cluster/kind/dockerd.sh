#!/usr/bin/env bash
# dockerd for make e2e-kind, started and stopped by the harness (no systemd here), apart from any
# other Docker on the machine: its own socket, exec-root and pidfile under .kind/ of this checkout,
# its data-root (the node image, kept between runs) in the build cache. It never touches the host's
# firewall or forwarding: "iptables": false, "ip-forward": false, "ip-masq": false, no default bridge.
# Its default runtime is cluster/kind/runc-wrapper (this host cannot grant CAP_SYS_RESOURCE).
#   dockerd.sh start   starts it unless running; prints `export DOCKER_HOST=...`
#   dockerd.sh stop    stops it (SIGTERM, then waits), and removes its runtime directory
#   dockerd.sh env     prints `export DOCKER_HOST=...`
#   dockerd.sh status  exits 0 if it runs
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${INSPECTOR_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/kubectl-inspect}
state=${KIND_STATE:-$root/.kind}
run=$state/docker
data=${KIND_DOCKER_DATA:-$cache/kind/docker}
sock=$run/docker.sock
pidfile=$run/dockerd.pid
say() { printf 'kind-dockerd: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

running() { [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

start() {
    if running; then echo "export DOCKER_HOST=unix://$sock"; return 0; fi
    command -v dockerd >/dev/null || die "dockerd is not installed (cluster/build.sh kind installs docker.io)"
    command -v jq >/dev/null || die "jq is not installed (the runc wrapper needs it)"
    local runc
    runc=$(command -v runc) || die "runc is not installed"
    mkdir -p "$run" "$data"
    # on cgroup v1, Docker makes a docker cgroup in every hierarchy and leaves it after its last
    # container: stop removes them if they were not there before
    compgen -G "/sys/fs/cgroup/*/docker" >/dev/null || : >"$run/cgroups-are-ours"
    cat >"$run/daemon.json" <<JSON
{
  "data-root": "$data",
  "exec-root": "$run/exec",
  "pidfile": "$pidfile",
  "hosts": ["unix://$sock"],
  "iptables": false,
  "ip-forward": false,
  "ip-masq": false,
  "bridge": "none",
  "userland-proxy": false,
  "storage-driver": "overlay2",
  "default-runtime": "inspector-runc",
  "runtimes": {"inspector-runc": {"path": "$here/runc-wrapper"}},
  "log-driver": "json-file",
  "log-opts": {"max-size": "10m"}
}
JSON
    say "starting dockerd (data-root $data, socket $sock)"
    # the wrapper finds the real runc by RUNC_WRAPPED; dockerd's own containerd runs as its child
    RUNC_WRAPPED=$runc setsid dockerd --config-file "$run/daemon.json" >"$run/dockerd.log" 2>&1 </dev/null &
    local i
    for i in $(seq 1 120); do
        if DOCKER_HOST=unix://$sock docker version >/dev/null 2>&1; then
            echo "export DOCKER_HOST=unix://$sock"
            return 0
        fi
        running || [[ $i -lt 10 ]] || break
        sleep 0.5
    done
    tail -20 "$run/dockerd.log" >&2
    die "dockerd did not answer on $sock within 60 s (log: $run/dockerd.log)"
}

stop() {
    if running; then
        local pid
        pid=$(cat "$pidfile")
        say "stopping dockerd ($pid)"
        kill -TERM "$pid"
        local i
        for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        kill -0 "$pid" 2>/dev/null && die "dockerd ($pid) did not stop within 30 s"
    fi
    # what a stopped dockerd may leave: its exec-root's mounts (netns files)
    if [[ -d $run/exec ]]; then
        local m
        while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(awk -v p="$run/" 'index($2, p) == 1 {print $2}' /proc/mounts | sort -r)
    fi
    if [[ -f $run/cgroups-are-ours ]]; then
        # deepest first; rmdir refuses a cgroup that still has processes or children
        find /sys/fs/cgroup/*/docker -depth -type d -exec rmdir {} \; 2>/dev/null || true
    fi
    rm -rf "$run"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    env) echo "export DOCKER_HOST=unix://$sock" ;;
    status) running ;;
    *) die "usage: dockerd.sh start|stop|env|status" ;;
esac

#!/usr/bin/env bash
# make e2e-kind: the whole e2e suite on a three-node kind cluster (one control plane, two workers,
# one zone each), built and run on this machine with nothing pulled from anywhere:
#   1. cluster/build.sh kind: Docker (Debian's), kind and kubeadm (Go modules), the node image
#      (cluster/kind/nodeimage.sh), all cached; a warm run only checks they are there;
#   2. dockerd of our own (cluster/kind/dockerd.sh: its own socket and directories, no firewall rule,
#      no forwarding), a Docker network of our own (KIND_SUBNET), the cluster from e2e/kind.yaml
#      with e2e/kind-offline.yaml (no kindnetd, CoreDNS's tag, cgroup v1);
#   3. our CNI (cluster/kind/cni.sh), CoreDNS without an upstream (cluster/components.py's Corefile),
#      host routes to the cluster's pod and Service ranges through the kind network (as the local
#      cluster has), so the host asks kube-dns's ClusterIP (INSPECTOR_DNS_SERVER);
#   4. pytest e2e against it (E2E_KUBECONFIG); the tests that need the local cluster's own handles
#      (its processes, network namespaces, audit log) skip there with the reason;
#   5. pass or fail: the cluster, its network and dockerd removed, and the host compared with what it
#      was before (cluster/kind/hoststate.py): any difference fails the run.
# Strict, as the rest of `make test`: if the tier cannot start (not root, Docker cannot be installed
# or started, the node image or the cluster cannot be built) the run fails; E2E_ALLOW_SKIP=1 makes
# that one line and exit 0 instead. A test that fails always fails the run.
# KIND_TESTS: what pytest runs (default e2e, the whole suite; make's KIND_E2E=subset names files).
# KEEP_KIND=1 keeps the cluster and dockerd for a look (`bash cluster/kind/dockerd.sh env`, then
# `kind delete cluster --name svc-inspect-e2e` and `dockerd.sh stop` by hand). Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
name=${KIND_CLUSTER:-svc-inspect-e2e}
network=${KIND_NETWORK:-inspector-kind}
subnet=${KIND_SUBNET:-172.29.0.0/24}
bridge=inspkind0
state=$root/.kind
say() { printf 'e2e-kind: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
[[ $(id -u) == 0 ]] || {
    if [[ ${E2E_ALLOW_SKIP:-0} == 1 ]]; then say "skipped: needs root (E2E_ALLOW_SKIP=1)"; exit 0; fi
    die "needs root: dockerd, and kind's privileged node containers (set E2E_ALLOW_SKIP=1 to skip make e2e-kind instead)"
}
mkdir -p "$state"
times=()
now() { date +%s; }
timed() { # label command... (not in a condition: errexit holds inside the command's functions)
    local t0
    t0=$(now)
    "${@:2}"
    times+=("$1: $(($(now) - t0)) s")
}
# what is under way: the tier starting (build, dockerd, image, create) or the suite; a failure while
# starting is the tier's unavailability, which E2E_ALLOW_SKIP=1 turns into a skip
phase=build

# the host as it was, for the comparison at the end (taken before anything of ours starts)
.venv/bin/python cluster/kind/hoststate.py snapshot "$state/host-before.json"
lib_modules=present
[[ -e /lib/modules ]] || lib_modules=missing
eval "$(bash cluster/build.sh paths)"
kind=$KIND_BIN/kind
kubectl=$KUBE_BIN/kubectl
kubeconfig=$state/kubeconfig

created=0 started=0 host_routes=()
cleanup() {
    local rc=$?
    set +e
    if [[ ${KEEP_KIND:-0} == 1 ]]; then
        say "KEEP_KIND=1: the cluster $name and dockerd stay up (DOCKER_HOST=${DOCKER_HOST:-}, KUBECONFIG=$kubeconfig)"
        exit $rc
    fi
    if ((rc)) && [[ $phase != suite ]]; then
        if [[ ${E2E_ALLOW_SKIP:-0} == 1 ]]; then
            say "skipped: the kind tier could not start ($phase failed; E2E_ALLOW_SKIP=1)"
            rc=0
        else
            say "the kind tier could not start: $phase failed (set E2E_ALLOW_SKIP=1 to skip make e2e-kind instead)"
        fi
    fi
    local t0
    t0=$(now)
    local route
    for route in "${host_routes[@]}"; do ip route del "$route" dev $bridge 2>/dev/null; done
    if ((created)); then "$kind" delete cluster --name "$name" --kubeconfig "$kubeconfig" >&2; fi
    [[ -n ${DOCKER_HOST:-} ]] && docker network rm "$network" >/dev/null 2>&1
    if ((started)); then bash cluster/kind/dockerd.sh stop; fi
    # kind bind-mounts /lib/modules into its nodes; Docker created it if it was missing
    if [[ $lib_modules == missing && -d /lib/modules ]]; then rmdir /lib/modules; fi
    # the host sysctls the nodes' kubelets set (not namespaced), as they were
    .venv/bin/python cluster/kind/hoststate.py restore "$state/host-before.json"
    rm -f "$kubeconfig"
    times+=("delete cluster, stop dockerd: $(($(now) - t0)) s")
    if ! .venv/bin/python cluster/kind/hoststate.py compare "$state/host-before.json"; then
        say "the host differs from before the run (lines above)"
        rc=1
    else
        say "the host is as it was: no cluster, container, network, link, route, rule, mount or process of ours"
    fi
    say "times: $(IFS=';'; echo "${times[*]}")"
    exit $rc
}
trap cleanup EXIT

timed "build (cluster/build.sh kind)" bash cluster/build.sh kind
phase=dockerd
bash cluster/kind/dockerd.sh status >/dev/null 2>&1 || started=1
docker_env=$(bash cluster/kind/dockerd.sh start)
eval "$docker_env"
phase=image
image=$(bash cluster/kind/nodeimage.sh)
phase=create

if "$kind" get clusters 2>/dev/null | grep -qx "$name"; then
    die "a kind cluster $name exists already (delete it: kind delete cluster --name $name)"
fi
docker network inspect "$network" >/dev/null 2>&1 || docker network create -d bridge --subnet "$subnet" \
    -o com.docker.network.bridge.name=$bridge -o com.docker.network.bridge.enable_ip_masquerade=false \
    "$network" >/dev/null
created=1
create() {
    # e2e/kind.yaml with e2e/kind-offline.yaml's keys
    .venv/bin/python - >"$state/kind.yaml" <<'PY'
import yaml
config = yaml.safe_load(open("e2e/kind.yaml"))
offline = yaml.safe_load(open("e2e/kind-offline.yaml"))
config.setdefault("networking", {}).update(offline["networking"])
config["kubeadmConfigPatches"] = config.get("kubeadmConfigPatches", []) + offline["kubeadmConfigPatches"]
print(yaml.safe_dump(config, sort_keys=False))
PY
    KIND_EXPERIMENTAL_DOCKER_NETWORK=$network "$kind" create cluster --name "$name" --config "$state/kind.yaml" \
        --image "$image" --kubeconfig "$kubeconfig" >&2
    # the API server on the control-plane node's address (Docker publishes no port: no firewall rule,
    # no userland proxy); that address is in its certificate
    local ip
    ip=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$network\").IPAddress}}" "$name-control-plane")
    sed -i "s|server: https://127.0.0.1:[0-9]*|server: https://$ip:6443|" "$kubeconfig"
    export KUBECONFIG=$kubeconfig KUBECTL=$kubectl
    bash cluster/kind/cni.sh "$name"
    "$kubectl" wait --for=condition=Ready nodes --all --timeout=180s >/dev/null
    # kind's nodes are real nodes (the local cluster's label for them, which tests select by), and
    # all three take pods, as the local cluster's three real nodes do: the control plane's taint goes
    "$kubectl" label nodes --all type=real >/dev/null
    "$kubectl" taint nodes -l node-role.kubernetes.io/control-plane node-role.kubernetes.io/control-plane:NoSchedule- >/dev/null
    # the host reaches pods and Services as on the local cluster: each node's pod range through that
    # node, the Service range through the control plane (its kube-proxy forwards); on our bridge
    # only, so they go when it goes
    local node cidr addr
    while read -r node cidr addr; do
        ip route replace "$cidr" via "$addr" dev $bridge
        host_routes+=("$cidr")
    done < <("$kubectl" get nodes -o jsonpath='{range .items[*]}{.metadata.name} {.spec.podCIDR} {.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}')
    service_subnet=$(sed -n 's/^ *serviceSubnet: *//p' e2e/kind-offline.yaml)
    pod_subnet=$(sed -n 's/^ *podSubnet: *//p' e2e/kind-offline.yaml)
    ip route replace "$service_subnet" via "$ip" dev $bridge
    host_routes+=("$service_subnet")
    # CoreDNS asks nothing outside the cluster: the local cluster's Corefile (no forward, no cache)
    local corefile
    corefile=$(.venv/bin/python -c 'import sys; sys.path.insert(0, "cluster"); import components; print(components.pod_corefile())')
    "$kubectl" -n kube-system create configmap coredns --from-literal=Corefile="$corefile" --dry-run=client -o yaml \
        | "$kubectl" apply -f - >/dev/null
    "$kubectl" -n kube-system rollout restart deployment/coredns >/dev/null
    # the NetworkPolicy enforcer on every node, as on the local cluster: kube-router's firewall alone
    "$kubectl" apply -f cluster/manifests/kube-router-rbac.yaml -f e2e/manifests/kind-kube-router.yaml >/dev/null
    "$kubectl" -n kube-system rollout status deployment/coredns --timeout=180s >/dev/null
    "$kubectl" -n kube-system rollout status daemonset/kube-router --timeout=180s >/dev/null
    # the cluster DNS for the host: kube-dns's ClusterIP, through the route above
    dns_server=$("$kubectl" -n kube-system get service kube-dns -o jsonpath='{.spec.clusterIP}'):53
    node_ip=$ip
}
timed "create cluster (kind create, CNI, CoreDNS)" create
phase=suite

say "running the e2e suite on kind ($name: $("$kubectl" get nodes -o name | wc -l) nodes, DNS at $dns_server)"
suite() {
    E2E_KIND=1 E2E_POD_CIDR=$pod_subnet E2E_NODE_IP=$node_ip E2E_KUBECONFIG=$kubeconfig E2E_KUBECTL=$kubectl INSPECTOR_DNS_SERVER=$dns_server \
        E2E_IMAGE=${E2E_IMAGE:-registry.k8s.io/pause:3.10} KIND_DOCKER_HOST=$DOCKER_HOST \
        .venv/bin/pytest ${KIND_TESTS:-e2e} --junitxml="$state/junit.xml" "$@"
}
t0=$(now) rc=0
suite "$@" || rc=$?  # (its one command's status; timed is for the steps that stop at their first failure)
times+=("e2e suite: $(($(now) - t0)) s")
exit $rc

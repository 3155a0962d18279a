#!/usr/bin/env bash
# `make demo`: the lesson's scenarios on a real cluster, and what the inspector says about them, and
# the README's picture (docs/demo.png). `make demo-picture` (demo.sh --picture) redraws only that.
# Uses the cluster KUBECONFIG names when it is set; otherwise brings up the local cluster (and leaves
# it up so you can explore: `source .cluster/env`, then `make cluster-down` when done).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

if [[ -z "${KUBECONFIG:-}" ]]; then
    python cluster/localcluster.py up >/dev/null
    # shellcheck source=/dev/null
    source .cluster/env
fi
KUBECTL=${LOCALCLUSTER_KUBECTL:-kubectl}
# the commands below go through kubectl's plugin discovery, as a user's would
[[ $KUBECTL == */* ]] && PATH="$(dirname "$KUBECTL"):$PATH"
echo "Cluster: KUBECONFIG=$KUBECONFIG, context $("$KUBECTL" config current-context)"

show() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@" || true; }

echo "Applying the demo scenarios (e2e/manifests/demo/) ..."
"$KUBECTL" apply -f e2e/manifests/demo/ >/dev/null
for d in demo/web-flask demo/prod-api demo/billing demo/checkout my-ns/redis-master; do
    "$KUBECTL" rollout status -n "${d%/*}" "deployment/${d#*/}" --timeout=90s >/dev/null
done
"$KUBECTL" wait -n test-ns --for=condition=Ready pod/redis-client --timeout=90s >/dev/null
"$KUBECTL" wait -n my-ns --for=condition=Ready pod/client --timeout=90s >/dev/null
# the endpoint controllers and CoreDNS follow within a moment: wait until the healthy Services
# are discoverable (endpoints and DNS), so what follows shows the deliberate problems only
discoverable() {
    kubectl svc-inspect wait demo/web-flask-svc demo/web-flask-nodeport demo/web-flask-lb demo/prod-v1 \
        my-ns/redis-master --for all --timeout 90s
}

# The picture: the demo namespace as Graphviz draws it (Service -> port -> EndpointSlice -> pod -> node).
picture() {
    local dot_file
    dot_file=$(mktemp)
    kubectl svc-inspect diff -n demo -o dot >"$dot_file" || true # exit 1: demo/billing is broken on purpose
    if command -v dot >/dev/null; then
        mkdir -p docs
        dot -Tpng "$dot_file" -o docs/demo.png
        echo "wrote docs/demo.png (kubectl svc-inspect diff -n demo -o dot, drawn by dot -Tpng)"
    else
        echo "Graphviz's dot is not installed (apt-get install graphviz): docs/demo.png not redrawn"
    fi
    rm -f "$dot_file"
}

if [[ ${1:-} == --picture ]]; then
    discoverable >/dev/null
    picture
    exit 0
fi
show discoverable

show kubectl svc-inspect services -A
show kubectl svc-inspect diff -A
# the two broken ones, in detail
show kubectl svc-inspect services billing -n demo
show kubectl svc-inspect services service-python -n demo
# the lesson's three name forms, from redis-master's own namespace and from the client's
for ns in my-ns test-ns; do
    for name in redis-master redis-master.my-ns redis-master.my-ns.svc.cluster.local; do
        show kubectl svc-inspect resolve "$name" --from-namespace "$ns"
    done
done
show kubectl svc-inspect dns -n my-ns
show picture

# why: the Debug Services checklist from inside the cluster (a probe pod, deleted at the end); the
# real nodes run it. checkout's pods listen on another port than they declare: diff is clean, why is not.
real_nodes=$("$KUBECTL" get nodes -l type=real -o jsonpath='{.items[*].metadata.name}' 2>/dev/null || true)
if [[ ${LOCALCLUSTER_MODE:-real} == real && -n $real_nodes ]]; then
    show kubectl svc-inspect diff checkout -n demo
    show kubectl svc-inspect why checkout -n demo
    show kubectl svc-inspect why redis-master --from-namespace test-ns -n my-ns
    show kubectl svc-inspect why web-flask-nodeport.demo --from-namespace test-ns
    # per node: nearby's only pod runs on real-node-a and its traffic policy is Local, so pods on the
    # other nodes get their packets dropped; one probe pod per node shows which nodes fail and why
    if [[ $real_nodes == *real-node-b* ]]; then
        "$KUBECTL" apply -f e2e/manifests/per-node.yaml >/dev/null
        "$KUBECTL" rollout status -n per-node deployment/nearby --timeout=90s >/dev/null
        kubectl svc-inspect wait nearby -n per-node --timeout 60s >/dev/null || true
        show kubectl svc-inspect diff nearby -n per-node
        show kubectl svc-inspect why nearby -n per-node --nodes all
    fi
fi

# On the real nodes the pods really run: the same answers, observed as traffic.
if [[ ${LOCALCLUSTER_MODE:-real} == real && -n $real_nodes ]]; then
    "$KUBECTL" wait -n my-ns --for=condition=Ready pod/client --timeout=90s >/dev/null
    printf '\n\033[1mThe web-flask pods and the nodes they run on\033[0m\n'
    "$KUBECTL" get pods -n demo -l app=web-flask -o wide | awk '{print "  " $1, $6, $7}' | column -t
    cluster_ip=$("$KUBECTL" get service -n demo web-flask-svc -o jsonpath='{.spec.clusterIP}')
    urls=("http://$cluster_ip:3000/hostname")
    for node in $real_nodes; do
        ip=$("$KUBECTL" get node "$node" -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}')
        urls+=("http://$ip:30480/hostname")
    done
    printf '\n\033[1mTraffic, observed: agnhost in each web-flask pod answers /hostname with its pod name\033[0m\n'
    printf '(the ClusterIP, then the node port of every node)\n'
    for url in "${urls[@]}"; do
        printf '$ curl %s   (x6)\n  ' "$url"
        for _ in 1 2 3 4 5 6; do curl -s --max-time 3 "$url"; printf ' '; done
        echo
    done
    # the lesson's DNS table, from a pod in redis-master's own namespace and from test-ns: glibc's
    # resolver in the pod (getent) finds the address, then a request reaches redis-master's pod
    printf '\n\033[1mThe DNS table, observed from inside pods (getent, then a request to port 6379)\033[0m\n'
    for from in my-ns/client test-ns/redis-client; do
        for name in redis-master redis-master.my-ns redis-master.my-ns.svc.cluster.local; do
            printf '%-22s %-40s ' "from ${from%/*}" "$name"
            "$KUBECTL" exec -n "${from%/*}" "${from#*/}" -- sh -c "
                if found=\$(getent hosts $name); then
                    set -- \$found
                    printf '%s -> ' \$1
                    printf 'GET /hostname HTTP/1.0\r\n\r\n' | nc -w 3 \$1 6379 | tail -n 1; echo
                else
                    echo 'does not resolve'
                fi" || true
        done
    done
fi
# serve: the demo namespace as Prometheus scrapes it (the findings, endpoints and health series),
# then SIGTERM, which stops it cleanly
serve_metrics() {
    local log port="" pid tries=0
    log=$(mktemp)
    kubectl svc-inspect serve -n "$1" --listen 127.0.0.1:0 2>"$log" &
    pid=$!
    while ((tries++ < 150)) && kill -0 "$pid" 2>/dev/null; do
        port=$(sed -n 's/^serve: listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$log")
        [[ -n $port ]] && curl -sf "127.0.0.1:$port/readyz" >/dev/null && break
        sleep 0.2
    done
    [[ -n $port ]] && curl -s "127.0.0.1:$port/metrics" | grep -v '^#'
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" || true
    cat "$log"
    rm -f "$log"
}
show serve_metrics demo
printf '\nThe cluster is still up: source .cluster/env to use it; make cluster-down stops it.\n'

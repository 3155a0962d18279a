#!/usr/bin/env bash
# `make demo`: the lesson's scenarios on a real cluster, and what the inspector says about them.
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
echo "Cluster: KUBECONFIG=$KUBECONFIG, context $("$KUBECTL" config current-context)"

show() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@" || true; }

echo "Applying the demo scenarios (e2e/manifests/demo/) ..."
"$KUBECTL" apply -f e2e/manifests/demo/ >/dev/null
for d in demo/web-flask demo/prod-api demo/billing my-ns/redis-master; do
    "$KUBECTL" rollout status -n "${d%/*}" "deployment/${d#*/}" --timeout=90s >/dev/null
done
"$KUBECTL" wait -n test-ns --for=condition=Ready pod/redis-client --timeout=90s >/dev/null
# the endpoint controllers and CoreDNS follow within a moment: wait until the healthy Services
# are discoverable (endpoints and DNS), so what follows shows the deliberate problems only
show kubectl-inspect wait demo/web-flask-svc demo/web-flask-nodeport demo/web-flask-lb demo/prod-v1 \
    my-ns/redis-master --for all --timeout 90s

show kubectl-inspect services -A
show kubectl-inspect diff -A
# the two broken ones, in detail
show kubectl-inspect services billing -n demo
show kubectl-inspect services service-python -n demo
# the lesson's three name forms, from redis-master's own namespace and from the client's
for ns in my-ns test-ns; do
    for name in redis-master redis-master.my-ns redis-master.my-ns.svc.cluster.local; do
        show kubectl-inspect resolve "$name" --from-namespace "$ns"
    done
done
show kubectl-inspect dns -n my-ns
printf '\nThe cluster is still up: source .cluster/env to use it; make cluster-down stops it.\n'

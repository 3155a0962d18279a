#!/usr/bin/env bash
# make e2e-kind: the same e2e suite against a kind cluster (needs Docker and kind). The cluster is
# created from e2e/kind.yaml unless it exists, and deleted afterwards unless KEEP_KIND=1.
# Tests that stop control-plane processes or read the audit log skip themselves there; DNS tests go
# through the API server's port-forward to kube-dns (no INSPECTOR_DNS_SERVER is reachable from the host).
set -euo pipefail
cd "$(dirname "$0")/.."
name=${KIND_CLUSTER:-svc-inspect-e2e}
created=0
if ! kind get clusters 2>/dev/null | grep -qx "$name"; then
    kind create cluster --name "$name" --config e2e/kind.yaml --wait 120s
    created=1
fi
cleanup() { if [[ $created == 1 && ${KEEP_KIND:-0} != 1 ]]; then kind delete cluster --name "$name"; fi; }
trap cleanup EXIT
kubeconfig=$(mktemp)
kind get kubeconfig --name "$name" >"$kubeconfig"
# pause is on every kind node (the sandbox image) and becomes Ready without probes
E2E_KUBECONFIG=$kubeconfig E2E_IMAGE=${E2E_IMAGE:-registry.k8s.io/pause:3.10} .venv/bin/pytest e2e "$@"

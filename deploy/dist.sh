#!/usr/bin/env bash
# `make dist`: the wheel and sdist (python -m build), and for krew one self-contained executable per
# platform (linux, darwin x amd64, arm64), a zipapp built with shiv, each in
# dist/kubectl-svc-inspect-<os>-<arch>.tar.gz beside LICENSE, and the krew manifest
# dist/svc-inspect.yaml rendered from deploy/krew/svc-inspect.yaml (version, each archive's sha256).
# The zipapps hold pure-Python wheels plus pydantic-core's builds for CPython 3.11-3.14; see
# deploy/zipapp.py for why, and for the check that nothing else compiled gets in.
set -euo pipefail
cd "$(dirname "$0")/.."
dist=${DIST:-dist}
bin=.venv/bin
work=build/zipapp
say() { printf 'dist: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

version=$("$bin/python" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
wheel=kubectl_svc_inspect-$version-py3-none-any.whl
pyz=kubectl-svc_inspect

rm -rf "$work"
mkdir -p "$dist" "$work/wheels"
rm -f "$dist"/kubectl_svc_inspect-* "$dist"/kubectl-svc-inspect-*.tar.gz "$dist/svc-inspect.yaml"

say "building the wheel and the sdist of kubectl-svc-inspect $version"
"$bin/python" -m build --outdir "$dist" . >"$work/build.log" 2>&1 || die "python -m build failed; see $work/build.log"
[[ -f $dist/$wheel ]] || die "python -m build made no $dist/$wheel; see $work/build.log"

# PyYAML publishes no pure wheel: build one from its sdist without the libyaml extension (PyYAML
# then runs its pure-Python implementation).
PYYAML_FORCE_LIBYAML=0 "$bin/pip" wheel --quiet --no-deps --no-binary pyyaml -w "$work/wheels" pyyaml \
    >"$work/wheels.log" 2>&1 || die "building a pure PyYAML wheel failed; see $work/wheels.log"
say "building the zipapps with shiv, one per platform (deploy/zipapp.py)"
"$bin/python" deploy/zipapp.py "$dist/$wheel" "$work/wheels" "$work" 2>&1 | tee "$work/zipapp.log" | grep '^dist:' >&2 \
    || die "building the zipapps failed; see $work/zipapp.log"

# a smoke run of this machine's zipapp with the bare interpreter, isolated from this venv
here=$(uname -s | tr '[:upper:]' '[:lower:]')-$(uname -m | sed -e 's/x86_64/amd64/' -e 's/aarch64/arm64/')
base_python=$("$bin/python" -c 'import sys; print(sys._base_executable)')
if [[ -d $work/$here ]]; then
    SHIV_ROOT=$PWD/$work/shiv-root "$base_python" -I "$work/$here/$pyz" --version >"$work/smoke.log" 2>&1 \
        || die "the $here zipapp does not run: $(tail -n 3 "$work/smoke.log")"
fi

say "packing the archives and rendering the krew manifest"
# the template's leading comments speak of the placeholders: not for the rendered manifest
sed -e '1,/^apiVersion:/{/^#/d}' -e "s/@VERSION@/v$version/g" deploy/krew/svc-inspect.yaml >"$dist/svc-inspect.yaml"
for platform in linux-amd64 linux-arm64 darwin-amd64 darwin-arm64; do
    cp LICENSE "$work/$platform/LICENSE"
    chmod 0755 "$work/$platform/$pyz"
    chmod 0644 "$work/$platform/LICENSE"
    archive=kubectl-svc-inspect-$platform.tar.gz
    # reproducible: names sorted, fixed times and owners, no name or time in the gzip header
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/$platform" -cf - "$pyz" LICENSE \
        | gzip -9 -n >"$dist/$archive"
    sha=$(sha256sum "$dist/$archive" | cut -d' ' -f1)
    placeholder=SHA256_$(tr '[:lower:]-' '[:upper:]_' <<<"$platform")
    sed -i "s/@$placeholder@/$sha/" "$dist/svc-inspect.yaml"
done
! grep -n '@[A-Z0-9_]*@' "$dist/svc-inspect.yaml" || die "placeholders left in $dist/svc-inspect.yaml"

say "done:"
(cd "$dist" && ls -l kubectl_svc_inspect-* kubectl-svc-inspect-*.tar.gz svc-inspect.yaml | awk '{printf "  %10d  %s\n", $5, $NF}') >&2

"""Builds the krew executables: one zipapp (shiv) per platform, for any CPython 3.11-3.14.

Every dependency goes in as a pure-Python wheel (py3-none-any) except the compiled-only ones:
pydantic-core, which the kubernetes client (37+) needs (Rust, no pure-Python fallback), and msgspec,
the inspector's decoder of LIST pages (C). Their extension modules are named per CPython version and
platform
(`_pydantic_core.cpython-312-aarch64-linux-gnu.so`), so one zipapp can hold the builds for every
supported version side by side; darwin's names carry no architecture, hence one zipapp per
platform. The script fails if any other compiled file gets in.

Usage: zipapp.py PROJECT_WHEEL WHEELHOUSE OUTDIR  (deploy/dist.sh calls it)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PYTHONS = ["3.11", "3.12", "3.13", "3.14"]
# compiled-only distributions -> the prefix of their extension modules inside the zipapp
COMPILED = {
    "pydantic-core": "site-packages/pydantic_core/_pydantic_core.cpython-3",
    "msgspec": "site-packages/msgspec/_core.cpython-3",
}
# krew's (os, arch) -> one wheel from each group of pip platform tags: glibc and musl on linux (their
# modules' names differ, so both fit). pip widens manylinux_2_17 to older glibc tags, not musllinux.
PLATFORMS = {
    ("linux", "amd64"): [["manylinux_2_17_x86_64"], ["musllinux_1_1_x86_64", "musllinux_1_2_x86_64"]],
    ("linux", "arm64"): [["manylinux_2_17_aarch64"], ["musllinux_1_1_aarch64", "musllinux_1_2_aarch64"]],
    ("darwin", "amd64"): [["macosx_11_0_x86_64"]],
    ("darwin", "arm64"): [["macosx_11_0_arm64"]],
}
EXECUTABLE = "kubectl-svc_inspect"
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]


def say(msg: str) -> None:
    print(f"dist: {msg}", file=sys.stderr)


def resolve(project_wheel: Path, wheelhouse: Path, scratch: Path) -> dict[str, str]:
    """name -> version of everything the project needs, as pip resolves it here."""
    report = scratch / "resolution.json"
    subprocess.run(
        [
            *PIP,
            "install",
            "--dry-run",
            "--ignore-installed",
            "--report",
            str(report),
            "--find-links",
            str(wheelhouse),
            str(project_wheel),
        ],
        check=True,
    )
    return {
        item["metadata"]["name"].lower().replace("_", "-"): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }


def download_pure(pins: dict[str, str], project_wheel: Path, wheelhouse: Path, dest: Path) -> None:
    """Only py3-none-any wheels match the platform "any" with the ABI "none"."""
    subprocess.run(
        [*PIP, "download", "--no-deps", "--only-binary=:all:", "--platform", "any"]
        + ["--implementation", "py", "--abi", "none", "--python-version", PYTHONS[0]]
        + ["--find-links", str(wheelhouse), "-d", str(dest), str(project_wheel)]
        + [f"{name}=={version}" for name, version in pins.items()],
        check=True,
    )


def download_compiled(name: str, version: str, tag_groups: list[list[str]], dest: Path) -> None:
    """One wheel per CPython version and tag group; pip calls in parallel, as each is mostly waiting."""
    commands = [
        [*PIP, "download", "--no-deps", "--only-binary=:all:"]
        + [arg for tag in tags for arg in ("--platform", tag)]
        + ["--implementation", "cp", "--abi", "cp" + python.replace(".", ""), "--python-version", python]
        + ["-d", str(dest), f"{name}=={version}"]
        for python in PYTHONS
        for tags in tag_groups
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda command: subprocess.run(command, check=True), commands))


def unpack(wheel: Path, site_packages: Path) -> None:
    """What installing a wheel does, minus scripts: its files, and *.data/{pure,plat}lib at the top."""
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            parts = Path(info.filename).parts
            if parts[0].endswith(".data"):
                if len(parts) < 3 or parts[1] not in ("purelib", "platlib"):
                    continue
                parts = parts[2:]
            target = site_packages.joinpath(*parts)
            if info.is_dir():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))


def compiled_files(pyz: Path) -> list[str]:
    names = zipfile.ZipFile(pyz).namelist()
    return [n for n in names if n.endswith((".so", ".pyd", ".dylib"))]


def build(project_wheel: Path, wheelhouse: Path, outdir: Path) -> None:
    scratch = outdir / "work"
    shutil.rmtree(scratch, ignore_errors=True)
    pure_dir = scratch / "pure"
    pure_dir.mkdir(parents=True)
    pins = resolve(project_wheel, wheelhouse, scratch)
    project = project_wheel.name.split("-")[0].replace("_", "-")
    compiled_versions = {name: pins.pop(name) for name in COMPILED if name in pins}
    pins.pop(project, None)
    listed = ", ".join(f"{n} {v}" for n, v in compiled_versions.items())
    say(f"{len(pins) + len(compiled_versions) + 1} distributions; compiled: {listed}")
    download_pure(pins, project_wheel, wheelhouse, pure_dir)
    for (os_name, arch), tags in PLATFORMS.items():
        target = f"{os_name}-{arch}"
        site_packages = scratch / target / "site-packages"
        site_packages.mkdir(parents=True)
        for wheel in sorted(pure_dir.glob("*.whl")):
            unpack(wheel, site_packages)
        for name, version in compiled_versions.items():
            compiled_dir = scratch / target / "compiled" / name
            download_compiled(name, version, tags, compiled_dir)
            for wheel in sorted(compiled_dir.glob("*.whl")):
                unpack(wheel, site_packages)
        pyz = outdir / target / EXECUTABLE
        pyz.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                str(Path(sys.executable).with_name("shiv")),
                *("--reproducible", "--compressed", "--python", "/usr/bin/env python3"),
                *("--console-script", EXECUTABLE, "--site-packages", str(site_packages)),
                *("--output-file", str(pyz)),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        compiled = compiled_files(pyz)
        stray = [n for n in compiled if not n.startswith(tuple(COMPILED.values()))]
        if stray:
            sys.exit(f"dist: compiled files other than {', '.join(COMPILED)}'s in {pyz}: {', '.join(stray)}")
        want = {python.replace(".", "") for python in PYTHONS}
        for name in compiled_versions:
            mine = [n for n in compiled if n.startswith(COMPILED[name])]
            versions = {n.split(".cpython-")[1].split("-")[0] for n in mine}
            if versions != want:
                sys.exit(f"dist: {pyz} lacks {name} for CPython {sorted(want - versions)}")
        say(
            f"{target}: {pyz.stat().st_size:,} bytes; compiled files: only {', '.join(compiled_versions)}'s "
            f"({len(compiled)}, for CPython {', '.join(PYTHONS)})"
        )


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    build(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))

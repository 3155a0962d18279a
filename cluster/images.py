"""Container images for the real node, built here from binaries this machine built or installed.

Why it exists: no container registry is reachable, so the pause container, Kubernetes' e2e test
image agnhost and CoreDNS are packed as docker-archive tarballs (the format `docker save` writes and
`ctr images import` reads) from local files, under the names the rest of the world pulls them by.
An image is one layer: the files, their mode bits, symlinks. Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

AGNHOST = "registry.k8s.io/e2e-test-images/agnhost:2.66.1"
PAUSE = "registry.k8s.io/pause:3.10"
COREDNS = "registry.k8s.io/coredns/coredns:v1.15.0"

# The applets a troubleshooting session reaches for inside a pod (busybox-static from Debian);
# `getent` is glibc's, so that a name resolves in the pod exactly as glibc's stub resolver does.
BUSYBOX_APPLETS = (
    "sh",
    "nc",
    "nslookup",
    "cat",
    "ls",
    "sleep",
    "echo",
    "printf",
    "env",
    "hostname",
    "ip",
    "ps",
    "grep",
    "sed",
    "awk",
    "cut",
    "head",
    "tr",
    "timeout",
    "true",
    "false",
    "test",
    "touch",
    "rm",
)


@dataclass(frozen=True)
class Image:
    name: str
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...] = ()
    # path in the image -> file on this machine
    files: dict[str, Path] = field(default_factory=dict)
    symlinks: dict[str, str] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    dirs: tuple[str, ...] = ("tmp",)
    env: tuple[str, ...] = ()  # NAME=value, after PATH
    user: str = ""  # the image's default user (uid[:gid]); "" is root
    # files keep their modification times (else 0): Python's bytecode caches are valid only while
    # their source's mtime matches, and a read-only image cannot write new ones
    mtimes: bool = False

    def key(self) -> str:
        """What the archive is made of, short: equal keys give equal archives."""
        files = {
            path: (str(src), src.stat().st_size, src.stat().st_mtime_ns) for path, src in self.files.items()
        }
        spec: list[Any] = [
            self.name,
            self.entrypoint,
            self.cmd,
            sorted(files.items()),
            sorted(self.symlinks.items()),
        ]
        spec += [sorted(self.texts.items()), self.dirs]
        if self.env or self.user or self.mtimes:  # only serve's: the other images keep their keys
            spec += [self.env, self.user, self.mtimes]
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]

    def layer(self) -> bytes:
        """The image's one layer as an uncompressed tar, byte-for-byte reproducible."""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
            parents: set[str] = set()

            def add_dir(path: str, mode: int = 0o755) -> None:
                if not path or path in parents:
                    return
                add_dir(str(Path(path).parent) if "/" in path else "")
                parents.add(path)
                info = tarfile.TarInfo(path)
                info.type, info.mode = tarfile.DIRTYPE, mode
                tar.addfile(info)

            for d in self.dirs:
                add_dir(d, 0o1777 if d == "tmp" else 0o755)
            for path, src in sorted(self.files.items()):
                add_dir(str(Path(path).parent) if "/" in path else "")
                data = src.read_bytes()
                info = tarfile.TarInfo(path)
                info.size, info.mode = len(data), 0o755 if src.stat().st_mode & 0o111 else 0o644
                if self.mtimes:
                    info.mtime = int(src.stat().st_mtime)
                tar.addfile(info, io.BytesIO(data))
            for path, text in sorted(self.texts.items()):
                add_dir(str(Path(path).parent) if "/" in path else "")
                data = text.encode()
                info = tarfile.TarInfo(path)
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
            for path, target in sorted(self.symlinks.items()):
                add_dir(str(Path(path).parent) if "/" in path else "")
                info = tarfile.TarInfo(path)
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, target, 0o777
                tar.addfile(info)
        return buf.getvalue()

    def archive(self) -> bytes:
        """The docker-archive tarball: manifest.json, the config, the layer."""
        layer = self.layer()
        diff_id = hashlib.sha256(layer).hexdigest()
        config = json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": {
                    "Entrypoint": list(self.entrypoint),
                    "Cmd": list(self.cmd) or None,
                    "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", *self.env],
                    "WorkingDir": "/",
                    **({"User": self.user} if self.user else {}),
                },
                "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]},
                "history": [{"created_by": "cluster/images.py (kubectl-inspect local cluster)"}],
            },
            sort_keys=True,
        ).encode()
        config_name = hashlib.sha256(config).hexdigest() + ".json"
        manifest = json.dumps(
            [{"Config": config_name, "RepoTags": [self.name], "Layers": [f"{diff_id}/layer.tar"]}]
        ).encode()
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for name, data in (
                (f"{diff_id}/layer.tar", layer),
                (config_name, config),
                ("manifest.json", manifest),
            ):
                info = tarfile.TarInfo(name)
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
        return buf.getvalue()


def shared_libraries(binary: Path) -> list[Path]:
    """The shared objects a dynamically linked binary loads (from ldd), loader included."""
    out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True).stdout
    libs = []
    for line in out.splitlines():
        parts = line.split()
        for part in parts:
            if part.startswith("/"):
                libs.append(Path(part))
                break
    return libs


def with_libraries(binaries: Iterable[Path]) -> dict[str, Path]:
    """Binaries copied at their own paths, with the shared libraries they need."""
    files: dict[str, Path] = {}
    for binary in binaries:
        files[str(binary).lstrip("/")] = binary
        for lib in shared_libraries(binary):
            files[str(lib).lstrip("/")] = lib.resolve()
    return files


PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
GROUP = "root:x:0:\nnogroup:x:65534:\n"


def images(bins: dict[str, Path]) -> list[Image]:
    busybox = Path(shutil.which("busybox") or "/bin/busybox")
    getent = Path(shutil.which("getent") or "/usr/bin/getent")
    return [
        Image(PAUSE, entrypoint=("/pause",), files={"pause": bins["pause"]}),
        Image(
            AGNHOST,
            entrypoint=("/agnhost",),
            cmd=("pause",),
            files={"agnhost": bins["agnhost"], "bin/busybox": busybox, **with_libraries([getent])},
            symlinks={
                "agnhost-2": "agnhost",
                **{f"bin/{applet}": "busybox" for applet in BUSYBOX_APPLETS},
            },
            texts={"etc/nsswitch.conf": "hosts: files dns\n", "etc/passwd": PASSWD, "etc/group": GROUP},
            dirs=("tmp", "uploads", "etc"),
        ),
        Image(COREDNS, entrypoint=("/coredns",), files={"coredns": bins["coredns"]}),
    ]


def build(bins: dict[str, Path], cache: Path) -> list[Path]:
    """Writes each image's archive under `cache`, returns their paths. An archive is named by what
    goes into it (the spec, and each file's path, size and mtime), so a warm `up` reads no binary."""
    return [written(image, cache) for image in images(bins)]


def written(image: Image, cache: Path) -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{image.name.rsplit('/', 1)[-1].replace(':', '-')}-{image.key()}.tar"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(image.archive())
        tmp.rename(path)
    return path


# serve's image: Debian's CPython 3.11 (the host's /usr/bin/python3.11, its standard library and the
# shared libraries its extension modules load) and the inspector installed with its dependencies
# (compiled ones, msgspec and pydantic-core, as wheels for CPython 3.11) in its dist-packages
SERVE = "localhost/svc-inspect:dev"
PYTHON = Path("/usr/bin/python3.11")
STDLIB = Path("/usr/lib/python3.11")
STDLIB_LEFT_OUT = {"test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "pydoc_data"}
SITE = "usr/local/lib/python3.11/dist-packages"


def serve_image(site: Path) -> Image:
    """The image of `kubectl svc-inspect serve`, from `site` (the package installed with `pip install
    --target`). It runs as nobody (65534), writes nothing (no bytecode cache), and its entry point is
    the CLI: `serve` and its flags are the container's args."""
    files = with_libraries([PYTHON])
    for path in sorted(STDLIB.rglob("*")):
        rel = path.relative_to(STDLIB)
        if path.is_dir() or rel.parts[0] in STDLIB_LEFT_OUT:
            continue
        if rel.parts[0] == "site-packages" or rel.parts[0] == "dist-packages":
            continue
        files[str(path).lstrip("/")] = path
        if path.suffix == ".so":
            files.update({k: v for k, v in with_libraries([path]).items() if k != str(path).lstrip("/")})
    for path in sorted(site.rglob("*")):
        rel = path.relative_to(site)
        if path.is_file() and rel.parts[0] != "bin":
            files[f"{SITE}/{rel}"] = path
            if path.suffix == ".so":  # msgspec's, pydantic-core's: the libraries they link
                files.update({k: v for k, v in with_libraries([path]).items() if not k.endswith(str(rel))})
    # glibc loads libgcc_s when a thread exits (its unwinder), which no ldd line names
    libgcc = next(Path("/").glob("lib/x86_64-linux-gnu/libgcc_s.so.1"), None)
    if libgcc is not None:
        files[str(libgcc).lstrip("/")] = libgcc.resolve()
    return Image(
        SERVE,
        entrypoint=("/usr/bin/python3.11", "-m", "inspector"),
        cmd=("serve", "-A"),
        files=files,
        texts={"etc/passwd": PASSWD, "etc/group": GROUP},
        dirs=("tmp", "etc"),
        env=("PYTHONDONTWRITEBYTECODE=1",),
        user="65534:65534",
        mtimes=True,  # with the bytecode compiled when installed: a start reads it, compiles nothing
    )


# kind's node image (cluster/kind/nodeimage.sh): the images kubeadm asks for (`kubeadm config images
# list`), packed the same way from the binaries cluster/build.sh built. Every name must be exact: a
# node that lacks one would try to pull it. kube-proxy needs iptables and nft, so nodeimage.sh builds
# it on the node's own Debian root instead; CoreDNS is ours under its own tag (kind.yaml sets it).
def kind_images(bins: dict[str, Path], k8s_version: str, etcd_version: str) -> list[Image]:
    components = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
    out = [
        Image(
            f"registry.k8s.io/{name}:{k8s_version}",
            entrypoint=(f"/usr/local/bin/{name}",),
            files={f"usr/local/bin/{name}": bins["kube"] / name},
        )
        for name in components
    ]
    # kubeadm's etcd image tag: the version without its v, and kubeadm's own build suffix
    etcd = Image(
        f"registry.k8s.io/etcd:{etcd_version.removeprefix('v')}-0",
        entrypoint=("/usr/local/bin/etcd",),
        files={"usr/local/bin/etcd": bins["etcd"] / "etcd"},
        dirs=("tmp", "var/lib/etcd"),
    )
    pods = {"pause": bins["pause"], "agnhost": bins["kube"] / "agnhost", "coredns": bins["coredns"]}
    return [*out, etcd, *images(pods)]


def main(argv: list[str]) -> int:
    """`images.py kind OUTDIR`: writes kind's node images (see kind_images) as archives under OUTDIR,
    from the binaries `cluster/build.sh paths` names; prints one archive path per line."""
    if len(argv) != 2 or argv[0] != "kind":
        print("usage: images.py kind OUTDIR", flush=True)
        return 2
    here = Path(__file__).resolve().parent
    paths = dict(
        line.split("=", 1)
        for line in subprocess.run(
            ["bash", str(here / "build.sh"), "paths"], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    versions = dict(
        line.split("=", 1)
        for line in (here / "versions.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    bins = {
        "kube": Path(paths["KUBE_BIN"]),
        "etcd": Path(paths["ETCD_BIN"]),
        "pause": Path(paths["PAUSE_BIN"]) / "pause",
        "coredns": Path(paths["COREDNS_BIN"]) / "coredns",
    }
    out = Path(argv[1])
    for image in kind_images(bins, versions["K8S_VERSION"], versions["ETCD_VERSION"]):
        print(written(image, out))
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))

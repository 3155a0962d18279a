"""Reading a what-if run's files: `-f PATH` (a file, a directory, `-` for stdin), as kubectl reads them.

Why it exists: `kubectl svc-inspect diff -f deploy/` and `helm template ... | kubectl svc-inspect
diff -f -` must read what `kubectl apply -f` would: YAML documents (several to a file), JSON, `List`
objects; a directory's `.yaml`, `.yml` and `.json` files (its subdirectories too with `-R`). A
file that does not parse, a document that is not a Kubernetes object, a missing file or an empty
stdin is bad input: one line naming the file and the document. An object without a namespace
lands in the run's namespace, as `kubectl apply -n` puts it. YAML is read with PyYAML's safe loader
(libyaml's when built in); nothing here touches a cluster or a kubeconfig.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import yaml

from inspector.errors import BadInput
from inspector.model.overlaying import CLUSTER_SCOPED, Manifest

EXTENSIONS = (".yaml", ".yml", ".json")
STDIN = "-"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def files_of(paths: Sequence[str], recursive: bool) -> list[str]:
    """Each -f PATH as the files it names: a directory's manifest files (sorted; -R descends)."""
    out: list[str] = []
    for path in paths:
        if path == STDIN:
            out.append(STDIN)
            continue
        p = Path(path)
        if p.is_dir():
            found = sorted(
                f
                for f in (p.rglob("*") if recursive else p.iterdir())
                if f.is_file() and f.suffix in EXTENSIONS
            )
            if not found:
                raise BadInput(
                    f"{path}: no {', '.join(EXTENSIONS)} file in this directory"
                    + ("" if recursive else " (-R descends into subdirectories)")
                )
            out += [str(f) for f in found]
        elif p.exists():
            out.append(path)
        else:
            raise BadInput(f'the path "{path}" does not exist')
    return out


def _text(path: str, stdin: TextIO) -> str:
    if path == STDIN:
        text = stdin.read()
        if not text.strip():
            raise BadInput("-f -: stdin is empty: no objects to judge")
        return text
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: cannot read: {exc}") from None


def _name(path: str) -> str:
    return "stdin" if path == STDIN else path


def _documents(path: str, text: str) -> Iterator[tuple[int, Any]]:
    """Each document of a file, numbered from 1 (a JSON file is one document)."""
    if path.endswith(".json"):
        try:
            yield 1, json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadInput(f"{path}: document 1: not valid JSON: {exc}") from None
        return
    n = 0
    try:
        for n, doc in enumerate(yaml.load_all(text, Loader=_LOADER), start=1):
            yield n, doc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise BadInput(f"{_name(path)}: document {n + 1}: not valid YAML: {problem}{where}") from None


def _objects(doc: Any, path: str, n: int) -> Iterator[Mapping[str, Any]]:
    """A document's objects: itself, or a List's items."""
    where = f"{_name(path)}: document {n}"
    if not isinstance(doc, Mapping):
        raise BadInput(
            f"{where}: not a Kubernetes object (a mapping with apiVersion, kind and metadata.name)"
        )
    kind = doc.get("kind")
    if not isinstance(kind, str) or not kind or not isinstance(doc.get("apiVersion"), str):
        raise BadInput(f"{where}: not a Kubernetes object: apiVersion and kind are required")
    if kind.endswith("List") and "items" in doc:
        items = doc.get("items") or []
        if not isinstance(items, list):
            raise BadInput(f"{where}: {kind} items is not a list")
        for i, item in enumerate(items):
            if not isinstance(item, Mapping) or not isinstance(item.get("kind"), str) or not item.get("kind"):
                raise BadInput(f"{where}: item {i + 1} of the {kind} is not a Kubernetes object (no kind)")
            yield item
        return
    yield doc


def _placed(obj: Mapping[str, Any], namespace: str, where: str) -> dict[str, Any]:
    """The object with its namespace: the run's when it names none (cluster-scoped kinds have none)."""
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping) or not isinstance(meta.get("name"), str) or not meta.get("name"):
        raise BadInput(f"{where}: {obj.get('kind')} has no metadata.name")
    meta = dict(meta)
    if obj.get("kind") not in CLUSTER_SCOPED and not meta.get("namespace"):
        meta["namespace"] = namespace
    return {**obj, "metadata": meta}


def read_manifests(paths: Sequence[str], recursive: bool, namespace: str, stdin: TextIO) -> list[Manifest]:
    """Every object of the files, in order; bad input (one line naming file and document) raised."""
    manifests: list[Manifest] = []
    for path in files_of(paths, recursive):
        count = 0
        for n, doc in _documents(path, _text(path, stdin)):
            if doc is None:  # an empty document (a leading or trailing ---)
                continue
            for obj in _objects(doc, path, n):
                where = f"{_name(path)}: document {n}"
                manifests.append(Manifest(_placed(obj, namespace, where), _name(path), n))
                count += 1
        if count == 0 and path == STDIN:
            raise BadInput("-f -: stdin holds no objects")
    if not manifests:
        raise BadInput(f"no objects in {', '.join(_name(p) for p in paths)}")
    return manifests

"""Label selectors: which pods a Service selects, which almost do, and kubectl's `-l` syntax.

Why it exists: "does this Service select the pods I think" is the first question, and answering it
for thousands of Services must not cost Services x pods. A `LabelIndex` maps (namespace, key, value)
to pods, so a Service's selector is answered by intersecting a few sets.
"""

from __future__ import annotations

import heapq
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from inspector.errors import BadInput
from inspector.model.snapshot import Pod

# ----------------------------------------------------------------- kubectl's -l / --selector syntax

_KEY = (
    r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,251}[A-Za-z0-9])?/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
)
_VALUE = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?"
_KEY_RE = re.compile(_KEY)  # used with fullmatch: `$` would let a trailing "\n" through
_VALUE_RE = re.compile(_VALUE)


class Operator(StrEnum):
    EQUALS = "="
    NOT_EQUALS = "!="
    IN = "in"
    NOT_IN = "notin"
    EXISTS = "exists"
    DOES_NOT_EXIST = "!"


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    operator: Operator
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        has = self.key in labels
        if self.operator is Operator.EXISTS:
            return has
        if self.operator is Operator.DOES_NOT_EXIST:
            return not has
        if self.operator in (Operator.EQUALS, Operator.IN):
            return has and labels[self.key] in self.values
        return not has or labels[self.key] not in self.values  # !=, notin


@dataclass(frozen=True, slots=True)
class LabelSelector:
    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(r.matches(labels) for r in self.requirements)


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


_SET_RE = re.compile(r"^(?P<key>\S+)\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)$")
_EQ_RE = re.compile(r"^(?P<key>[^=!\s]+)\s*(?P<op>==|=|!=)\s*(?P<value>\S*)$")


def parse_selector(text: str) -> LabelSelector:
    """Parses kubectl's selector syntax: `a=b,c!=d,e in (x,y),f notin (z),g,!h`."""
    requirements = []
    if not text.strip():
        return LabelSelector()
    for raw in _split_top_level(text):
        part = raw.strip()
        if not part:
            raise BadInput(f"invalid selector {text!r}: empty requirement")
        if m := _SET_RE.match(part):
            values = frozenset(v.strip() for v in m["values"].split(","))
            req = Requirement(m["key"], Operator(m["op"]), values)
        elif m := _EQ_RE.match(part):
            op = Operator.NOT_EQUALS if m["op"] == "!=" else Operator.EQUALS
            req = Requirement(m["key"], op, frozenset({m["value"]}))
        elif part.startswith("!"):
            req = Requirement(part[1:].strip(), Operator.DOES_NOT_EXIST)
        else:
            req = Requirement(part, Operator.EXISTS)
        if not _KEY_RE.fullmatch(req.key):
            raise BadInput(f"invalid selector {text!r}: {req.key!r} is not a valid label key")
        bad = [v for v in req.values if not _VALUE_RE.fullmatch(v)]
        if bad:
            raise BadInput(f"invalid selector {text!r}: {bad[0]!r} is not a valid label value")
        requirements.append(req)
    return LabelSelector(tuple(requirements))


def format_selector(selector: Mapping[str, str] | None) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted((selector or {}).items()))


# ----------------------------------------------------------------- Service selectors over an index


class LabelIndex:
    """Pods by (namespace, key, value) and by (namespace, key); built once, queried per Service."""

    def __init__(self, pods: Iterable[Pod]) -> None:
        self._by_label: dict[tuple[str, str, str], list[Pod]] = defaultdict(list)
        self._by_key: dict[tuple[str, str], list[Pod]] = defaultdict(list)
        for pod in pods:
            for key, value in pod.labels.items():
                self._by_label[(pod.namespace, key, value)].append(pod)
                self._by_key[(pod.namespace, key)].append(pod)
        self._sorted: dict[tuple[str, str, str | None], list[Pod]] = {}

    def select(self, namespace: str, selector: Mapping[str, str]) -> list[Pod]:
        """Pods carrying every key=value of the selector (Boolean AND), in index order.

        Only the pods of the selector's rarest key=value are checked, so a label every pod carries
        costs nothing per Service."""
        if not selector:
            return []
        smallest = min((self._by_label.get((namespace, k, v), []) for k, v in selector.items()), key=len)
        return [p for p in smallest if all(p.labels.get(k) == v for k, v in selector.items())]

    def by_name(self, namespace: str, key: str, value: str | None = None) -> list[Pod]:
        """The pods carrying key=value (or key with any value, for None), sorted by name; sorted once
        per label and kept, so a near-miss query can stop after the first few names."""
        label = (namespace, key, value)
        cached = self._sorted.get(label)
        if cached is None:
            pods = (
                self._by_key.get((namespace, key), [])
                if value is None
                else self._by_label.get((namespace, key, value), [])
            )
            cached = self._sorted[label] = sorted(pods, key=_name)
        return cached


def _name(pod: Pod) -> str:
    return pod.name


def _unique(pods: Iterable[Pod]) -> list[Pod]:
    return list({id(p): p for p in pods}.values())


@dataclass(frozen=True, slots=True)
class NearMiss:
    """A pod that matches part of a selector, and how it differs."""

    pod: Pod
    matched: tuple[str, ...]
    missing: tuple[tuple[str, str], ...]  # (key, wanted) the pod does not carry
    different: tuple[tuple[str, str, str], ...]  # (key, wanted, actual)

    def describe(self) -> str:
        parts = [f"missing label {k}={v}" for k, v in self.missing]
        parts += [f"label {k}={actual} (selector wants {k}={wanted})" for k, wanted, actual in self.different]
        return "; ".join(parts)


def near_misses(
    index: LabelIndex, namespace: str, selector: Mapping[str, str], limit: int = 5
) -> list[NearMiss]:
    """The pods of the namespace closest to the selector: most keys matched first, then fewest wrong.

    Pods sharing at least one key=value count; only when none does, pods carrying a selector key with
    another value. Found through the index, so a Service costs only the pods it could be near.
    """
    keys = sorted(selector.items())
    lists = sorted((index.by_name(namespace, k, v) for k, v in keys), key=len)
    if not lists or not lists[-1]:
        # no pod shares a key=value: the closest are those carrying a key, all equally far (by name)
        by_key = [index.by_name(namespace, k)[:limit] for k, _ in keys]
        return [
            _near_miss(p, keys)
            for p in heapq.nsmallest(limit, _unique(p for ps in by_key for p in ps), key=_name)
        ]
    # Every pod is ranked by (keys matched, name): missing + different = keys - matched. A pod outside
    # the smaller lists carries only the commonest key=value, so it matches exactly one key, and only
    # the first few such names can rank: 20,000 pods sharing one label cost a few, not 20,000.
    scored = [_near_miss(p, keys) for p in _unique(p for ps in lists[:-1] for p in ps)]
    seen = {id(m.pod) for m in scored}
    singles: list[NearMiss] = []
    for pod in lists[-1]:
        if len(singles) == limit:
            break
        if id(pod) not in seen:
            singles.append(_near_miss(pod, keys))
    return heapq.nsmallest(
        limit,
        scored + singles,
        key=lambda m: (-len(m.matched), len(m.missing) + len(m.different), m.pod.name),
    )


def _near_miss(pod: Pod, keys: list[tuple[str, str]]) -> NearMiss:
    matched: list[str] = []
    missing: list[tuple[str, str]] = []
    different: list[tuple[str, str, str]] = []
    for key, wanted in keys:
        actual = pod.labels.get(key)
        if actual is None:
            missing.append((key, wanted))
        elif actual == wanted:
            matched.append(key)
        else:
            different.append((key, wanted, actual))
    return NearMiss(pod, tuple(matched), tuple(missing), tuple(different))

"""Label selectors: kubectl's -l syntax, matching, the label index and near-miss pods."""

from __future__ import annotations

import pytest

from inspector.errors import BadInput
from inspector.model.selectors import (
    LabelIndex,
    LabelSelector,
    Requirement,
    format_selector,
    near_misses,
    parse_selector,
)
from tests.conftest import snapshot_of


def req(key: str, operator: str, *values: str) -> Requirement:
    return Requirement(key, operator, frozenset(values))


@pytest.mark.parametrize(
    ("text", "requirements"),
    [
        pytest.param("app=web", (req("app", "=", "web"),), id="equals"),
        pytest.param("app==web", (req("app", "=", "web"),), id="double-equals-is-equals"),
        pytest.param("tier!=cache", (req("tier", "!=", "cache"),), id="not-equals"),
        pytest.param("env in (prod, staging)", (req("env", "in", "prod", "staging"),), id="in"),
        pytest.param("env notin (dev)", (req("env", "notin", "dev"),), id="notin"),
        pytest.param("gpu", (req("gpu", "exists"),), id="exists"),
        pytest.param("!canary", (req("canary", "!"),), id="does-not-exist"),
        pytest.param("release=", (req("release", "=", ""),), id="empty-value"),
        pytest.param("  app = web  ", (req("app", "=", "web"),), id="spaces-around-operator"),
        pytest.param(
            "app.kubernetes.io/name=web,version in (1,2),!legacy,tier!=db",
            (
                req("app.kubernetes.io/name", "=", "web"),
                req("version", "in", "1", "2"),
                req("legacy", "!"),
                req("tier", "!=", "db"),
            ),
            id="several-requirements-comma-inside-parentheses-not-split",
        ),
        pytest.param("", (), id="empty-selects-everything"),
    ],
)
def test_parse_selector_reads_kubectl_syntax(text: str, requirements: tuple[Requirement, ...]) -> None:
    assert parse_selector(text) == LabelSelector(requirements)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("a=b=c", "invalid selector 'a=b=c': 'b=c' is not a valid label value", id="two-equals"),
        pytest.param("app=web,", "invalid selector 'app=web,': empty requirement", id="trailing-comma"),
        pytest.param(",app=web", "invalid selector ',app=web': empty requirement", id="leading-comma"),
        pytest.param("a=1,,b=2", "invalid selector 'a=1,,b=2': empty requirement", id="double-comma"),
        pytest.param(
            "env in (prod",
            "invalid selector 'env in (prod': 'env in (prod' is not a valid label key",
            id="open-paren",
        ),
        pytest.param(
            "app=web)", "invalid selector 'app=web)': 'web)' is not a valid label value", id="stray-paren"
        ),
        pytest.param(
            "my app=web",
            "invalid selector 'my app=web': 'my app=web' is not a valid label key",
            id="space-in-key",
        ),
        pytest.param(
            "-app=web", "invalid selector '-app=web': '-app' is not a valid label key", id="key-dash"
        ),
        pytest.param(
            "app=-web", "invalid selector 'app=-web': '-web' is not a valid label value", id="value-dash"
        ),
        pytest.param("!", "invalid selector '!': '' is not a valid label key", id="bang-alone"),
        pytest.param("a!b", "invalid selector 'a!b': 'a!b' is not a valid label key", id="bang-inside"),
        pytest.param(
            "env in (a b)",
            "invalid selector 'env in (a b)': 'a b' is not a valid label value",
            id="space-in-value",
        ),
        pytest.param(
            "v=" + "x" * 64,
            f"invalid selector 'v={'x' * 64}': '{'x' * 64}' is not a valid label value",
            id="value-longer-than-63",
        ),
    ],
)
def test_invalid_selector_is_bad_input_naming_the_culprit(text: str, message: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_selector(text)
    assert str(caught.value) == message


def test_value_of_63_characters_is_valid() -> None:
    assert parse_selector("v=" + "x" * 63) == LabelSelector((req("v", "=", "x" * 63),))


@pytest.mark.parametrize(
    ("selector", "labels", "matches"),
    [
        pytest.param("app=web", {"app": "web", "tier": "frontend"}, True, id="extra-labels-irrelevant"),
        pytest.param("app=web", {"app": "api"}, False, id="other-value"),
        pytest.param("app=web", {}, False, id="equals-needs-the-key"),
        pytest.param("tier!=cache", {}, True, id="not-equals-holds-when-key-absent"),
        pytest.param("tier!=cache", {"tier": "cache"}, False, id="not-equals-same-value"),
        pytest.param("tier!=cache", {"tier": "db"}, True, id="not-equals-other-value"),
        pytest.param("env in (prod,staging)", {"env": "staging"}, True, id="in-one-of"),
        pytest.param("env in (prod,staging)", {"env": "dev"}, False, id="in-none-of"),
        pytest.param("env in (prod,staging)", {}, False, id="in-needs-the-key"),
        pytest.param("env notin (dev)", {}, True, id="notin-holds-when-key-absent"),
        pytest.param("env notin (dev)", {"env": "dev"}, False, id="notin-listed"),
        pytest.param("gpu", {"gpu": ""}, True, id="exists-with-empty-value"),
        pytest.param("gpu", {"cpu": "x"}, False, id="exists-absent"),
        pytest.param("!canary", {}, True, id="not-exists-absent"),
        pytest.param("!canary", {"canary": "false"}, False, id="not-exists-present-with-any-value"),
        pytest.param("app=web,!canary", {"app": "web", "canary": "true"}, False, id="requirements-are-anded"),
        pytest.param("app=web,!canary", {"app": "web"}, True, id="all-requirements-hold"),
        pytest.param("", {"anything": "x"}, True, id="empty-selector-matches-everything"),
    ],
)
def test_label_selector_matches(selector: str, labels: dict[str, str], matches: bool) -> None:
    assert parse_selector(selector).matches(labels) is matches


@pytest.mark.parametrize(
    ("selector", "text"),
    [
        pytest.param({"zone": "prod", "app": "web"}, "app=web,zone=prod", id="sorted-by-key"),
        pytest.param({}, "", id="empty"),
        pytest.param(None, "", id="none"),
    ],
)
def test_format_selector_is_sorted_key_value_pairs(selector: dict[str, str] | None, text: str) -> None:
    assert format_selector(selector) == text


# ----------------------------------------------------------------------------- the label index

PODS = """
apiVersion: v1
kind: Pod
metadata: {name: web-frontend, namespace: shop, labels: {app: web, tier: frontend, team: blue}}
---
apiVersion: v1
kind: Pod
metadata: {name: web-backend, namespace: shop, labels: {app: web, tier: backend}}
---
apiVersion: v1
kind: Pod
metadata: {name: static-frontend, namespace: shop, labels: {tier: frontend}}
---
apiVersion: v1
kind: Pod
metadata: {name: web-frontend, namespace: staging, labels: {app: web, tier: frontend}}
"""


def _select(namespace: str, selector: dict[str, str]) -> list[str]:
    index = LabelIndex(snapshot_of(PODS).pods)
    return [f"{p.namespace}/{p.name}" for p in index.select(namespace, selector)]


@pytest.mark.parametrize(
    ("namespace", "selector", "selected"),
    [
        pytest.param("shop", {"app": "web", "tier": "frontend"}, ["shop/web-frontend"], id="boolean-and"),
        pytest.param("shop", {"app": "web"}, ["shop/web-frontend", "shop/web-backend"], id="index-order"),
        pytest.param(
            "shop", {"tier": "frontend"}, ["shop/web-frontend", "shop/static-frontend"], id="one-key"
        ),
        pytest.param(
            "staging", {"app": "web", "tier": "frontend"}, ["staging/web-frontend"], id="own-namespace"
        ),
        pytest.param("shop", {"app": "web", "tier": "db"}, [], id="one-key-unmatched"),
        pytest.param("shop", {"release": "1"}, [], id="unknown-key"),
        pytest.param("prod", {"app": "web"}, [], id="empty-namespace"),
        pytest.param("shop", {}, [], id="no-selector-selects-nothing"),
    ],
)
def test_label_index_select_is_boolean_and_in_one_namespace(
    namespace: str, selector: dict[str, str], selected: list[str]
) -> None:
    assert _select(namespace, selector) == selected


def test_service_selects_no_pod_of_another_namespace_with_every_label() -> None:
    index = LabelIndex(snapshot_of("shop.yaml", "selection.yaml").pods)

    assert index.select("shop", {"zone": "prod", "version": "1"}) == []
    assert [p.key for p in index.select("staging", {"zone": "prod", "version": "1"})] == [
        "staging/checkout-1"
    ]


# ----------------------------------------------------------------------------- near misses


def test_pod_with_only_part_of_the_selector_is_described_by_the_label_it_lacks() -> None:
    index = LabelIndex(snapshot_of("shop.yaml", "selection.yaml").pods)

    misses = near_misses(index, "shop", {"zone": "prod", "version": "1"})

    assert [(m.pod.name, m.matched, m.missing, m.different) for m in misses] == [
        ("checkout-5c6d-x", ("zone",), (("version", "1"),), ()),
        ("checkout-canary", ("zone",), (), (("version", "1", "2"),)),
    ]
    assert [m.describe() for m in misses] == [
        "missing label version=1",
        "label version=2 (selector wants version=1)",
    ]


NEAR = """
apiVersion: v1
kind: Pod
metadata: {name: alpha, namespace: shop, labels: {app: shop}}
---
apiVersion: v1
kind: Pod
metadata: {name: delta, namespace: shop, labels: {app: shop, tier: backend, zone: us}}
---
apiVersion: v1
kind: Pod
metadata: {name: charlie, namespace: shop, labels: {app: shop, tier: backend}}
---
apiVersion: v1
kind: Pod
metadata: {name: bravo, namespace: shop, labels: {app: shop, tier: frontend, zone: eu}}
---
apiVersion: v1
kind: Pod
metadata: {name: echo, namespace: shop, labels: {tier: frontend}}
---
apiVersion: v1
kind: Pod
metadata: {name: foxtrot, namespace: shop, labels: {app: billing-unrelated}}
---
apiVersion: v1
kind: Pod
metadata: {name: golf, namespace: shop, labels: {team: red}}
---
apiVersion: v1
kind: Pod
metadata: {name: hotel, namespace: staging, labels: {app: shop, tier: backend, zone: eu}}
"""
NEAR_SELECTOR = {"app": "shop", "tier": "backend", "zone": "eu"}


def test_near_misses_most_keys_matched_first_then_fewest_wrong_then_by_name() -> None:
    index = LabelIndex(snapshot_of(NEAR).pods)

    misses = near_misses(index, "shop", NEAR_SELECTOR)

    assert [(m.pod.name, m.describe()) for m in misses] == [
        ("bravo", "label tier=frontend (selector wants tier=backend)"),
        ("charlie", "missing label zone=eu"),
        ("delta", "label zone=us (selector wants zone=eu)"),
        ("alpha", "missing label tier=backend; missing label zone=eu"),
    ]


def test_near_misses_are_limited() -> None:
    index = LabelIndex(snapshot_of(NEAR).pods)

    assert [m.pod.name for m in near_misses(index, "shop", NEAR_SELECTOR, limit=2)] == ["bravo", "charlie"]


def test_pod_differing_in_value_is_a_near_miss_when_no_pod_shares_a_label() -> None:
    index = LabelIndex(snapshot_of(NEAR).pods)

    misses = near_misses(index, "shop", {"tier": "db"})

    assert [(m.pod.name, m.describe()) for m in misses] == [
        ("bravo", "label tier=frontend (selector wants tier=db)"),
        ("charlie", "label tier=backend (selector wants tier=db)"),
        ("delta", "label tier=backend (selector wants tier=db)"),
        ("echo", "label tier=frontend (selector wants tier=db)"),
    ]


def test_pods_sharing_no_selector_key_are_not_near_misses() -> None:
    index = LabelIndex(snapshot_of(NEAR).pods)

    assert near_misses(index, "shop", {"release": "stable"}) == []

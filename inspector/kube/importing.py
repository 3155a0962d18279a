"""The client library's kubeconfig and HTTP code, imported without what only some paths use.

Why it exists: `import kubernetes.config` cost a short command about half its run. The package's
`__init__` imports every sibling (dynamic, watch, stream with websocket and requests, leaderelection,
informer), and `kubernetes.config.kube_config` imports requests-oauthlib and oauthlib (requests again)
for the one path that refreshes an OIDC token. The kubeconfig is still read by the library's own code
(`KubeConfigLoader`, `load_kube_config`, `load_incluster_config`, `ExecProvider`): only the moment
those modules are imported moves, to the first use.

- `kubernetes` and `oauthlib.oauth2` are made *deferred*: the real module object, from the real spec,
  whose code runs the first time someone asks it for a name it does not hold yet (`kubernetes.watch`,
  `kubernetes.__version__`, `oauthlib.oauth2.rfc6749`). Importing a submodule (`kubernetes.config`)
  does not run it. (`importlib.util.LazyLoader` cannot do this on 3.11: importing a submodule reads
  the package's `__path__`, and any import statement naming the module reads its `__spec__`, either
  of which runs it.)
- `requests_oauthlib`, which kube_config imports by `from requests_oauthlib import OAuth2Session`
  (a name read at import time), is a stand-in in `sys.modules` while kube_config is imported, and
  gone after: kube_config's `OAuth2Session` is `_OAuth2Session` below, which imports the real
  module on its first call and returns the real session.

Whatever was imported before this module (a test suite that imported `kubernetes`, say) is used as
it is.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from types import ModuleType
from typing import Any

_RUNNING: set[str] = set()
_LOCK = threading.RLock()


class _Deferred(ModuleType):
    """A module whose code has not run: it runs when a name it lacks is asked for, in any thread
    (one at a time); asked for while its code runs, a name is missing, as in any module being
    initialised."""

    def __getattr__(self, name: str) -> Any:
        with _LOCK:
            if type(self) is _Deferred and self.__name__ not in _RUNNING:
                _RUNNING.add(self.__name__)
                try:
                    spec = self.__spec__
                    assert spec is not None and spec.loader is not None
                    spec.loader.exec_module(self)
                    self.__class__ = ModuleType  # type: ignore[assignment]  # a plain module from now on
                finally:
                    _RUNNING.discard(self.__name__)
        if type(self) is _Deferred:
            raise AttributeError(f"partially initialized module {self.__name__!r} has no attribute {name!r}")
        return getattr(self, name)


def _defer(name: str) -> None:
    """`name` in sys.modules, its code not run yet (nothing done if it is imported already or
    missing: an import of it then fails as it would have)."""
    if name in sys.modules:
        return
    try:
        spec = importlib.util.find_spec(name)  # imports the parent package, if any
    except ModuleNotFoundError:  # its parent is missing
        return
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    module.__class__ = _Deferred
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)


def _OAuth2Session(*args: Any, **kwargs: Any) -> Any:
    """kube_config's `OAuth2Session` (OIDC refresh): requests-oauthlib's own, imported now."""
    return importlib.import_module("requests_oauthlib").OAuth2Session(*args, **kwargs)


def _import_kubeconfig_code() -> None:
    _defer("kubernetes")
    _defer("oauthlib.oauth2")
    if "requests_oauthlib" in sys.modules or "kubernetes.config.kube_config" in sys.modules:
        importlib.import_module("kubernetes.config")
        return
    stand_in = ModuleType("requests_oauthlib", "stands in while kubernetes.config.kube_config is imported")
    stand_in.OAuth2Session = _OAuth2Session  # type: ignore[attr-defined]
    sys.modules["requests_oauthlib"] = stand_in
    try:
        importlib.import_module("kubernetes.config")
    finally:
        if sys.modules.get("requests_oauthlib") is stand_in:
            del sys.modules["requests_oauthlib"]


with _LOCK:
    _import_kubeconfig_code()

import kubernetes.client as k8s_client  # noqa: E402 (after the deferral above)
import kubernetes.config as k8s_config  # noqa: E402
from kubernetes.config.config_exception import ConfigException  # noqa: E402

__all__ = ["ConfigException", "k8s_client", "k8s_config"]

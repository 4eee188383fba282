"""Where a provider finds its API key: call-time option > environment > project secret.

Providers stay ignorant of projects and of the catalog: a service that works for one project
opens :func:`project_key_scope` with a lookup (env-var name -> value or None) that reads that
project's encrypted secrets, and providers call :func:`resolve_api_key` when they need a key.
The scope is visible to the thread that opened it and, as a fallback, to worker threads of the
same process (the pipeline's candidate pool), which is how one CLI command or one panel action
runs for one project.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

KeyLookup = Callable[[str], "str | None"]

_SCOPED: ContextVar[KeyLookup | None] = ContextVar("kroma_key_lookup", default=None)
_process_stack: list[KeyLookup] = []
_stack_lock = threading.Lock()


@contextmanager
def project_key_scope(lookup: KeyLookup) -> Iterator[None]:
    """Let providers built or called inside this block fall back to ``lookup``."""
    token = _SCOPED.set(lookup)
    with _stack_lock:
        _process_stack.append(lookup)
    try:
        yield
    finally:
        _SCOPED.reset(token)
        with _stack_lock:
            _process_stack.remove(lookup)


def current_key_lookup() -> KeyLookup | None:
    """The lookup of this context; else, on a worker thread, the one scope open in this process.

    When scopes for different projects are open at once (two runs in one kernel), a worker thread
    cannot tell which is its own: it gets None (the provider then says its key is missing) rather
    than another project's key. Lookups compare equal when they read the same project.
    """
    scoped = _SCOPED.get()
    if scoped is not None:
        return scoped
    with _stack_lock:
        distinct = set(_process_stack)
        return _process_stack[-1] if len(distinct) == 1 else None


def resolve_api_key(env_name: str, *, explicit: str | None = None, env: Mapping[str, str] | None = None,
                    lookup: KeyLookup | None = None) -> str | None:
    """The key for ``env_name``: ``explicit`` if given, else the environment, else the project's
    secret through ``lookup`` (one a provider captured when it was built) or the current scope;
    ``None`` when none of them has one."""
    if explicit and explicit.strip():
        return explicit.strip()
    value = (os.environ if env is None else env).get(env_name, "")
    if value and value.strip():
        return value.strip()
    lookup = lookup or current_key_lookup()
    if lookup is None:
        return None
    found = lookup(env_name)
    return found.strip() if found and found.strip() else None

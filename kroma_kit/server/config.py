"""How one server instance runs: its workspace, the address it is bound to and the auth switches
(kroma-behavior.md §8.2, Appendix A), read once when the app is built."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass

from kroma_kit.workspace import Workspace

DEFAULT_BIND = "127.0.0.1:8788"
TRUE_WORDS = ("1", "true", "yes", "on")


def env_flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    return default if raw is None or raw.strip() == "" else raw.strip().lower() in TRUE_WORDS


def split_bind(bind: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:port`` for IPv6) -> (host, port); a bad value -> ValueError."""
    host, sep, port = bind.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"--bind {bind!r} is not HOST:PORT (e.g. 127.0.0.1:8788)")
    return host.strip("[]"), int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServerConfig:
    """``dev_bypass``: ``KROMA_API_AUTH_DEV_BYPASS`` (no auth at all, local development only);
    ``bootstrap_first_token``: ``KROMA_API_AUTH_BOOTSTRAP_FIRST_TOKEN`` (default on), honoured only
    on a loopback bind while no active token exists."""

    ws: Workspace
    bind_host: str = "127.0.0.1"
    dev_bypass: bool = False
    bootstrap_first_token: bool = True

    @classmethod
    def from_env(cls, ws: Workspace, bind_host: str = "127.0.0.1") -> ServerConfig:
        return cls(ws=ws, bind_host=bind_host, dev_bypass=env_flag("KROMA_API_AUTH_DEV_BYPASS", False),
                   bootstrap_first_token=env_flag("KROMA_API_AUTH_BOOTSTRAP_FIRST_TOKEN", True))

    @property
    def may_bootstrap(self) -> bool:
        return self.bootstrap_first_token and is_loopback(self.bind_host)

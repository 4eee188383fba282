"""What a push or pull did, and how progress reaches a face (tqdm in the CLI, a widget in a panel)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol


class SyncProgress(Protocol):
    """Told the size of the work once, then every chunk of bytes moved."""

    def start(self, files: int, total_bytes: int, label: str) -> None: ...

    def advance(self, nbytes: int) -> None: ...

    def close(self) -> None: ...


class NoProgress:
    def start(self, files: int, total_bytes: int, label: str) -> None:
        return None

    def advance(self, nbytes: int) -> None:
        return None

    def close(self) -> None:
        return None


@dataclass
class SyncReport:
    """Counts and bytes of one sync; ``failed`` maps a path to its one-line error."""

    project: str
    direction: str
    destination: str
    dry_run: bool
    files_total: int = 0
    bytes_total: int = 0
    transferred: int = 0
    bytes_transferred: int = 0
    bytes_planned: int = 0  # dry run: what a real sync would move
    unchanged: int = 0
    verified: int = 0
    deleted: int = 0
    archived: int = 0
    remote_only: int = 0
    skipped: bool = False
    reason: str | None = None
    planned: dict[str, list[str]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    archived_paths: list[str] = field(default_factory=list)
    seconds: float = 0.0
    sync_id: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def status(self) -> str:
        if self.skipped:
            return "skipped"
        if not self.failed:
            return "ok"
        return "partial" if self.transferred or self.unchanged or self.deleted else "failed"

    def counts(self) -> dict[str, Any]:
        """The numbers worth keeping (audit payload, sync_runs summary)."""
        return {"files_total": self.files_total, "bytes_total": self.bytes_total, "transferred": self.transferred,
                "bytes_transferred": self.bytes_transferred, "unchanged": self.unchanged,
                "verified": self.verified, "deleted": self.deleted, "archived": self.archived,
                "remote_only": self.remote_only, "failed": len(self.failed), "dry_run": self.dry_run,
                "seconds": round(self.seconds, 3)}

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        data["status"] = self.status
        return data

"""What the worker runs for each instruction, in-process, through the same functions as the CLI.

A small registry keyed ``"<instruction_type>:<action>"`` (like the provider registry): adding a
capability is registering one function. Capabilities this build does not have (S3 sync, character
sheets) are registered as :func:`missing`, which fails the instruction with an error naming what is
missing; the features that bring them register their own executor with :func:`register_executor`.

Executors are registered by ``"module:function"`` and imported on first use, so a worker process
loads only what it runs (the pipeline and post-processing stacks take a CPU-second to import).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from kroma_kit.catalog import instruction_queue as queue
from kroma_kit.catalog import instructions as ins
from kroma_kit.copilot.context import ProjectContext
from kroma_kit.errors import KromaError
from kroma_kit.workspace import Workspace


class Canceled(Exception):
    """The person asked a running instruction to stop; raised between steps."""


class MissingCapability(KromaError):
    """The instruction needs a feature this installation does not have."""


@dataclass
class StepContext:
    """What an executor gets: the instruction, its project, and the means to report and stop."""

    ws: Workspace
    instruction: ins.Instruction
    project: ProjectContext
    worker_id: str
    cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def payload(self) -> dict[str, Any]:
        return self.instruction.payload

    def step(self, event_type: str, message: str = "", *, payload: dict[str, Any] | None = None,
             result: dict[str, Any] | None = None) -> None:
        queue.record_step(self.ws, self.instruction.id, self.worker_id, event_type, message=message, payload=payload,
                        result=result)

    def check_cancel(self) -> None:
        """Between steps: stop when the person asked to (read from the catalog, so a request made
        a moment ago counts even before the next heartbeat)."""
        if not self.cancel.is_set() and ins.get_instruction(self.ws, self.instruction.id).cancel_requested:
            self.cancel.set()
        if self.cancel.is_set():
            raise Canceled("cancel requested")


@dataclass
class Outcome:
    """An executor's result: one line for the chat and the data for ``result_json``."""

    message: str
    result: dict[str, Any] = field(default_factory=dict)
    status: str = "done"  # done | failed | canceled (a run stopped by a cancel request)


Executor = Callable[[StepContext], Outcome]
EXECUTORS: dict[str, Executor | str] = {}


def register_executor(key: str, executor: Executor | str) -> None:
    """Register (or replace) the executor for ``"<instruction_type>:<action>"``: a function, or
    ``"package.module:function"`` imported when first needed."""
    EXECUTORS[key] = executor


def executor_for(instruction: ins.Instruction) -> Executor:
    key = f"{instruction.instruction_type}:{instruction.action}"
    if key not in EXECUTORS:
        raise MissingCapability(f"No executor for {key}: this worker cannot run it. Known: "
                                f"{', '.join(sorted(EXECUTORS))}. Configure KROMA_AGENT_API_URL to hand such "
                                "instructions to an external agent.")
    found = EXECUTORS[key]
    if isinstance(found, str):
        module, _, name = found.partition(":")
        found = EXECUTORS[key] = getattr(import_module(module), name)
    return found


def missing(capability: str, where: str) -> Executor:
    """An executor for a capability this build lacks: fails with an error that names it."""
    def execute(ctx: StepContext) -> Outcome:
        raise MissingCapability(f"{ctx.instruction.instruction_type}:{ctx.instruction.action} needs {capability}, "
                                f"which this installation does not have yet ({where}).")
    return execute


register_executor("pipeline_run:dry_run", "kroma_kit.copilot.run_executors:run_dry")
register_executor("pipeline_run:run", "kroma_kit.copilot.run_executors:run_pipeline")
register_executor("qa_check:qa_check", "kroma_kit.copilot.asset_executors:qa_check")
register_executor("asset_edit:archive_bad", "kroma_kit.copilot.asset_executors:archive_bad")
register_executor("asset_edit:postprocess", "kroma_kit.copilot.edit_executors:postprocess")
register_executor("asset_edit:set_winner", "kroma_kit.copilot.edit_executors:set_winner")
register_executor("storage_sync:sync_push", "kroma_kit.copilot.sync_executors:sync_push")
register_executor("storage_sync:sync_pull", "kroma_kit.copilot.sync_executors:sync_pull")
register_executor("custom:character_reference", "kroma_kit.copilot.character_executors:character_reference")
register_executor("custom:character_portfolio", "kroma_kit.copilot.character_executors:character_portfolio")

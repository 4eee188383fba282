"""The generation pipeline: plan, execute candidates, guard (QA), ranking, post chain, run log.

Each step is a plain module with plain functions so the CLI, the panels and the worker call the
same code; nothing here imports widgets or the CLI.
"""

# The public face of the staged generation pipeline (imported lazily: `import kroma_kit.pipeline`
# must stay cheap for the guard and ranking modules that live beside it).
_EXPORTS = {
    "PlanRequest": "kroma_kit.pipeline.plan_model", "Plan": "kroma_kit.pipeline.plan_model",
    "PlannedJob": "kroma_kit.pipeline.plan_model", "plan_run": "kroma_kit.pipeline.plan",
    "dry_run": "kroma_kit.pipeline.execute", "execute_run": "kroma_kit.pipeline.execute",
    "resume_run": "kroma_kit.pipeline.resume", "RunSummary": "kroma_kit.pipeline.summary",
    "read_run_log": "kroma_kit.pipeline.runlog", "RunEvent": "kroma_kit.pipeline.events",
    "EventCallback": "kroma_kit.pipeline.events",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        from importlib import import_module

        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'kroma_kit.pipeline' has no attribute {name!r}")

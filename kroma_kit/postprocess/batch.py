"""Standalone post-processing of files in a project: `kroma bgremove | upscale | color`
(:func:`process_files`, one step) and the PostProcessPanel (:func:`process_chain`, several steps in
order). Each output is written atomically into the project's folder for that step
(or ``output_dir``), an existing output goes to ``archive/replaced/`` first, and every output is
registered as an asset ``derived_from`` its input. One bad file is reported and skipped; the
others still run, and nothing already written is lost."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kroma_kit.errors import InputError, KromaError, SpendError
from kroma_kit.providers.spend import Budgets, SpendGuard
from kroma_kit.security.secrets import with_project_keys
from kroma_kit.sync.files import local_copy
from kroma_kit.sync.s3_first import is_s3_first, put_outputs
from kroma_kit.workspace import Workspace

if TYPE_CHECKING:
    from kroma_kit.postprocess import ChainConfig, ChainResult, StepRecord

STEPS = ("bg_remove", "upscale", "color")
ASSET_KIND = {"bg_remove": "bg_removed", "upscale": "upscaled", "color": "color_corrected"}
PAID_BG_BACKENDS = {"removebg", "photoroom"}


@dataclass
class BatchResult:
    """What a batch did: one record per processed file, one entry per failure."""

    step: str
    project: str
    output_dir: str
    processed: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)  # left unchanged on purpose, with why
    cost_usd: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "step": self.step, "project": self.project, "output_dir": self.output_dir,
                "processed_count": len(self.processed), "failed_count": len(self.failed),
                "skipped_count": len(self.skipped), "cost_usd": round(self.cost_usd, 6),
                "processed": self.processed, "failed": self.failed, "skipped": self.skipped}


def _inputs(input_path: str | os.PathLike[str], output_dir: Path) -> list[tuple[Path, Path]]:
    """(file, its output folder) pairs; a folder input mirrors its sub-folders under output_dir,
    and files already inside output_dir are skipped (re-running never feeds outputs back in)."""
    from kroma_kit.imaging import list_images

    source = Path(input_path).expanduser().resolve()
    files = list_images(source)
    if not files:
        raise InputError(f"No images found under {source} (extensions: png, jpg, jpeg, webp, bmp, tif, tiff).")
    out = output_dir.resolve()
    pairs = []
    for file in files:
        if out in file.resolve().parents:
            continue
        rel_parent = file.parent.relative_to(source) if source.is_dir() else Path()
        pairs.append((file, output_dir / rel_parent))
    return pairs


@with_project_keys
def process_files(ws: Workspace, project: str, step: str, input_path: str | os.PathLike[str], *,
                  output_dir: str | os.PathLike[str] | None = None, confirm_spend: bool = False,
                  bg_backends: list[str] | None = None, upscale_backend: str | None = None,
                  upscale_scale: int | None = None, color_profile: str | None = None,
                  archive_replaced: bool = True,
                  on_progress: Callable[[int, int, dict[str, Any]], None] | None = None,
                  executor: str | None = None, scheduler: str | None = None) -> BatchResult:
    """Run one post-processing ``step`` over a file or folder for ``project``.

    Defaults come from the project's layered settings and its ``postprocess.json``; the keyword
    arguments override them. Paid background-removal backends need ``confirm_spend`` and are
    checked against the project budget before each call. ``executor="dask"`` (or the settings'
    ``pipeline.executor``) runs the files' steps as tasks on a Dask cluster (``scheduler``, else
    a local one) when the step has no paid backend; registering the outputs stays here.
    """
    from kroma_kit.catalog.projects import get_project
    from kroma_kit.config import resolve_project_settings
    from kroma_kit.postprocess import ChainDirs
    from kroma_kit.postprocess.project import chain_config
    from kroma_kit.workspace import ProjectLayout

    if step not in STEPS:
        raise InputError(f"Unknown post-processing step '{step}'. Expected one of: {', '.join(STEPS)}.")
    info = get_project(ws, project)
    layout = ProjectLayout(Path(info["root"])).ensure()
    resolved = resolve_project_settings(layout.root)
    from dataclasses import replace

    chosen = {"bg_backends": bg_backends, "upscale_backend": upscale_backend, "upscale_scale": upscale_scale,
              "color_profile": color_profile}
    config = replace(chain_config(resolved), **{k: v for k, v in chosen.items() if v is not None})
    dirs = ChainDirs.for_project(layout.root, config.postprocess, archive_replaced=archive_replaced)
    default_dir = {"bg_remove": dirs.background_removed, "upscale": dirs.upscaled,
                   "color": dirs.color_corrected}[step]
    target_dir = Path(output_dir).expanduser().resolve() if output_dir else default_dir
    budget = _project_guard(ws, info["id"], resolved.settings.budgets.per_project_usd)
    if step == "bg_remove":
        _require_spend_consent(config.backends, confirm_spend)
    [input_path] = _cached_inputs(ws, info, [input_path])
    pairs = _inputs(input_path, target_dir)
    remote = _steps_on_dask(step, pairs, config, dirs, confirm_spend, resolved.settings.pipeline, executor,
                            scheduler)
    result = BatchResult(step, project, str(target_dir))
    for number, (file, out_dir) in enumerate(pairs, start=1):
        try:
            record = _first_step(remote[number - 1]) if remote is not None else \
                _run_step(step, file, out_dir, config, dirs, confirm_spend, budget)
        except KromaError as exc:
            budget.settle_calls(0.0)
            failure = {"input": str(file), "error": str(exc)}
            result.failed.append(failure)
            if on_progress:
                on_progress(number, len(pairs), failure)
            continue
        entry = record.to_dict()
        budget.settle_calls(record.cost_usd)
        result.cost_usd += record.cost_usd
        if record.skipped:
            result.skipped.append(entry)
        else:
            _register(ws, info["id"], layout.root, step, file, Path(record.output), record)
            _upload_output(ws, info, layout.root, Path(record.output))
            result.processed.append(entry)
        if on_progress:
            on_progress(number, len(pairs), entry)
    return result


@with_project_keys
def process_chain(ws: Workspace, project: str, files: list[str | os.PathLike[str]], config: ChainConfig, *,
                  archive_replaced: bool | None = None, confirm_spend: bool = False,
                  on_step: Callable[[str, StepRecord], None] | None = None,
                  should_stop: Callable[[], bool] | None = None) -> list[ChainResult]:
    """Run ``config``'s enabled steps, in chain order, on each of ``files`` for ``project``.

    The same bookkeeping as :func:`process_files`, so a panel's outputs are catalog assets too:
    each step's output is registered ``derived_from`` that step's input (the file, then the
    previous step's output) as soon as it is written, so a later failure loses nothing already
    registered. Outputs go to the project's step folders; a replaced output goes to
    ``archive/replaced/`` unless ``archive_replaced`` is False (None: the project's setting).
    Paid background removal needs ``confirm_spend`` and every paid call is checked against the
    project budget. A failing step stops that file only and is in its ChainResult; ``on_step``
    sees every step record as it finishes, ``should_stop`` is asked before each file.
    """
    from dataclasses import replace

    from kroma_kit.catalog.projects import get_project
    from kroma_kit.config import resolve_project_settings
    from kroma_kit.postprocess import ChainDirs, run_chain

    if not files:
        raise InputError("No files to post-process: choose at least one.")
    if not config.steps():
        raise InputError("No post-processing step enabled: choose background removal, upscale or colour.")
    info = get_project(ws, project)
    resolved = resolve_project_settings(Path(info["root"]))
    root = Path(info["root"]).resolve()
    if config.bg_remove:
        _require_spend_consent(config.backends, confirm_spend)
    budget = _project_guard(ws, info["id"], resolved.settings.budgets.per_project_usd)
    config = replace(config, confirm_spend=confirm_spend, before_paid_call=budget.check_call)
    keep_replaced = resolved.settings.pipeline.archive_replaced if archive_replaced is None else archive_replaced
    dirs = ChainDirs.for_project(root, config.postprocess, archive_replaced=keep_replaced)

    def finished(file: str, record: StepRecord) -> None:
        if record.ok:
            _register(ws, info["id"], root, record.step, Path(record.input), Path(str(record.output)), record)
            _upload_output(ws, info, root, Path(str(record.output)))
        if on_step is not None:
            on_step(file, record)

    files = _cached_inputs(ws, info, list(files))
    results = []
    for file in map(str, files):
        if should_stop is not None and should_stop():
            break
        results.append(run_chain(file, dirs, config, on_step=lambda record, f=file: finished(f, record)))
        budget.settle_calls(results[-1].cost_usd)
    return results


def _require_spend_consent(backends: list[str], confirm_spend: bool) -> None:
    paid = PAID_BG_BACKENDS & set(backends)
    if paid and not confirm_spend:
        raise SpendError(f"Backends {', '.join(sorted(paid))} are paid. "
                         "Add --confirm-spend (or tick the spend box) to allow paid calls.")


DIR_FIELD = {"bg_remove": "background_removed", "upscale": "upscaled", "color": "color_corrected"}


def _single(step: str, config: Any, confirm_spend: bool, before_paid_call: Any) -> Any:
    """``config`` with only ``step`` enabled."""
    from dataclasses import replace

    return replace(config, bg_remove=step == "bg_remove", upscale=step == "upscale", color=step == "color",
                   confirm_spend=confirm_spend, before_paid_call=before_paid_call)


def _first_step(result: Any) -> Any:
    result.raise_for_error()
    return result.steps[0]


def _run_step(step: str, file: Path, out_dir: Path, config: Any, dirs: Any, confirm_spend: bool,
              budget: SpendGuard) -> Any:
    """One step through the same chain the pipeline uses, with only ``step`` enabled."""
    from dataclasses import replace

    from kroma_kit.postprocess import run_chain

    single = _single(step, config, confirm_spend, budget.check_call)
    return _first_step(run_chain(file, replace(dirs, **{DIR_FIELD[step]: out_dir}), single))


def _steps_on_dask(step: str, pairs: list[tuple[Path, Path]], config: Any, dirs: Any, confirm_spend: bool,
                   pipeline: Any, executor: str | None, scheduler: str | None) -> list[Any] | None:
    """Every file's step as a Dask task, all submitted at once: their ChainResults in ``pairs``
    order, or None when the executor is threads or the step may spend money (the budget is checked
    before each paid call, in this process)."""
    from dataclasses import replace

    from kroma_kit.dask_cluster import dask_client, executor_name
    from kroma_kit.postprocess.dask_chains import chain_has_paid_step, chains_on_cluster

    if executor_name(executor, scheduler, pipeline) != "dask":
        return None
    single = _single(step, config, confirm_spend, None)
    if chain_has_paid_step(single):
        return None
    items = [(str(file), replace(dirs, **{DIR_FIELD[step]: out_dir}), single) for file, out_dir in pairs]
    with dask_client(scheduler or pipeline.dask_scheduler, workers=pipeline.dask_workers) as client:
        return [done.result for done in chains_on_cluster(client, items)]


def _project_guard(ws: Workspace, project_id: str, limit_usd: float | None) -> SpendGuard:
    """The spend guard of a batch: the project's budget over what its cost events already hold."""
    from kroma_kit.catalog.runs import project_spent_usd

    spent = project_spent_usd(ws, project_id) if limit_usd is not None else 0.0
    return SpendGuard(paid=True, budgets=Budgets(per_project_usd=limit_usd), project_spent=spent)


def _register(ws: Workspace, project_id: str, root: Path, step: str, source: Path, output: Path,
              record: Any) -> None:
    """Register input and output as assets, link them, and book any cost as a cost event."""
    from kroma_kit.catalog.assets import find_asset, link_assets, register_asset
    from kroma_kit.catalog.audit import record_event
    from kroma_kit.catalog.costs import upsert_cost_event
    from kroma_kit.catalog.db import new_id, transaction

    conn = ws.connect()
    try:
        with transaction(conn):
            existing = find_asset(conn, project_id, source)
            parent = existing["id"] if existing else register_asset(conn, project_id, source, "input",
                                                                    project_root=root)
            child = register_asset(conn, project_id, output, ASSET_KIND[step], project_root=root,
                                   metadata={"step": step, **{k: v for k, v in record.fields.items()
                                                              if isinstance(v, (str, int, float, bool))}})
            link_assets(conn, project_id, parent, child, "derived_from")
            if record.cost_usd:
                upsert_cost_event(conn, new_id(), project_id, None, {
                    "provider_code": record.fields.get("backend") or "unknown", "operation_code": step, "units": 1,
                    "cost_usd": record.cost_usd, "currency": "USD", "event_key": f"post:{new_id()}",
                    "input": str(source), "output": str(output), "usage": record.usage})
            record_event(conn, f"postprocess.{step}", {"input": str(source), "output": str(output),
                                                       "archived": list(getattr(record, "archived", None) or [])},
                         project_id=project_id)
    finally:
        conn.close()


def _upload_output(ws: Workspace, project: dict[str, Any], root: Path, output: Path) -> None:
    """S3-first projects: the finished output goes to the bucket now (a failure leaves it local and
    pending for the next write or push; it never fails the step)."""
    try:
        rel = output.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return  # written outside the project (--output-dir elsewhere): not the project's file
    put_outputs(ws, project, [rel])


def _cached_inputs(ws: Workspace, project: dict[str, Any], paths: list[Any]) -> list[Any]:
    """Inputs an S3-first project evicted from its local cache, fetched back (sha256 verified);
    a project-relative path counts as well. Other paths are returned as given."""
    if not is_s3_first(ws, project):
        return paths
    root = Path(project["root"])
    found = []
    for path in paths:
        given = Path(path).expanduser()
        candidates = [given] if given.is_absolute() else [given, root / given]
        if any(c.exists() for c in candidates):
            found.append(path)
            continue
        target = candidates[-1]
        found.append(str(local_copy(ws, project, target)) if root.resolve() in target.resolve().parents else path)
    return found

"""ipywidgets panels for the artist's notebooks and the Voilà dashboards.

Panels compose widgets and call ``kroma_kit`` functions; they hold no business logic, so every
action a button performs is also a method (``plan.run_dry()``, ``grid.select_winner(...)``)
and a library function the CLI calls. Each panel is built as ``Panel(ws, project=..., ...)``,
exposes ``.widget`` and can be shown with ``display(panel)``.

Names load lazily, so importing one panel does not import matplotlib or the pipeline.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_PANELS = {
    "ProjectPicker": "kroma_kit.widgets.project_picker",
    "open_workbench": "kroma_kit.widgets.project_picker",
    "ManifestEditor": "kroma_kit.widgets.manifest_editor",
    "PlanPanel": "kroma_kit.widgets.plan_panel",
    "RunPanel": "kroma_kit.widgets.run_panel",
    "CandidateGrid": "kroma_kit.widgets.candidate_grid",
    "QAChartPanel": "kroma_kit.widgets.qa_chart",
    "PostProcessPanel": "kroma_kit.widgets.postprocess_panel",
    "CharacterWorkspace": "kroma_kit.widgets.character_workspace",
    "ChatPanel": "kroma_kit.widgets.chat_panel",
    "StoragePanel": "kroma_kit.widgets.storage_panel",
}

__all__ = sorted(_PANELS)


def __getattr__(name: str) -> Any:
    if name in _PANELS:
        return getattr(import_module(_PANELS[name]), name)
    raise AttributeError(f"module 'kroma_kit.widgets' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__

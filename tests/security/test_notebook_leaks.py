"""Notebook outputs never show a secret value: the storage notebook, executed for real against a
workspace whose project holds a known secret, is scanned output by output."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from kroma_kit.security.secrets import set_secret
from kroma_kit.widgets import open_workbench

REPO = Path(__file__).resolve().parents[2]
VALUE = "sk-notebook-leak-check-77a1b2c3d4"


def test_storage_notebook_outputs_hold_no_secret(kroma_home: Path, monkeypatch) -> None:
    monkeypatch.delenv("KROMA_MASTER_KEY", raising=False)
    ws = open_workbench("demo", home=kroma_home)
    set_secret(ws, "demo", "openai", "api_key", VALUE)
    notebook = nbformat.read(REPO / "notebooks" / "08_storage.ipynb", as_version=4)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    NotebookClient(notebook, timeout=120, kernel_name="python3", store_widget_state=True,
                   resources={"metadata": {"path": str(REPO)}}).execute()
    saved = json.dumps({"outputs": [cell.get("outputs", []) for cell in notebook.cells],
                        "widgets": notebook.metadata.get("widgets", {})})
    assert "api_key" in saved  # the secret's name is shown in the panel's saved widget state...
    assert VALUE not in saved  # ...its value never is

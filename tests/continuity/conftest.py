"""A small labelled continuity set, drawn once per session (192 px, three characters, a dozen
cases): enough to exercise calibration, the gate and the eval command in seconds."""

from __future__ import annotations

from pathlib import Path

import pytest

from kroma_kit.continuity.evalset import ALL_KINDS, CAST, generate_eval_set

SMALL_CAST = CAST[:3]


@pytest.fixture(scope="session")
def small_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("continuity-set")
    generate_eval_set(root, cases=12, size=192, seed=11, cast=SMALL_CAST, style_refs=3, portfolio=1,
                      kinds=ALL_KINDS)  # one case of each kind
    return root

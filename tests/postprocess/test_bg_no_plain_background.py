"""`auto` on an image with no plain background: the chain says "skipped", not "failed", and says
why; a backend named explicitly still does what it was asked; a subject is measured as one."""

from __future__ import annotations

import numpy as np
import pytest

from kroma_kit.postprocess import bg_remove_file
from kroma_kit.providers.bg_opencv import AutoRemover
from kroma_kit.providers.bg_remove import (
    NO_PLAIN_BACKGROUND,
    BackgroundRemovalFailed,
    BackgroundRemovalSkipped,
    NoPlainBackground,
    remove_background,
)
from kroma_kit.providers.bg_subject import subject_shape
from kroma_kit.samples import draw_character, draw_scene
from tests.fakes.comic_images import busy_figure


def test_a_scene_is_skipped_by_auto_and_the_reason_survives_the_chain(tmp_path):
    harbor = draw_scene("harbor")  # its border is too busy even for `flat` to try
    with pytest.raises(NoPlainBackground, match="no plain background"):
        AutoRemover().remove(harbor, source_name="harbor.png")
    with pytest.raises(BackgroundRemovalSkipped) as skipped:
        remove_background(harbor, ["flat", "auto"], source_name="harbor.png")
    assert skipped.value.reason == NO_PLAIN_BACKGROUND and len(skipped.value.failures) == 2
    with pytest.raises(BackgroundRemovalFailed) as failed:  # no backend judged the image: a real failure
        remove_background(harbor, ["flat"], source_name="harbor.png")
    assert not isinstance(failed.value, BackgroundRemovalSkipped)

    source = tmp_path / "harbor.png"
    harbor.save(source)
    record = bg_remove_file(source, tmp_path / "out", backends=["auto"])
    assert record.output is None and record.skipped == NO_PLAIN_BACKGROUND and record.errors == []
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_characters_and_a_figure_on_a_busy_page_are_still_cut_out():
    for image in (draw_character("detective"), busy_figure()[0]):
        result = AutoRemover().remove(image, source_name="figure.png")
        shape = subject_shape(np.asarray(result.image.getchannel("A")))
        assert shape.separable and shape.parts == 1

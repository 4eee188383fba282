"""Post-processing on files: background removal (+ OpenAI refine), upscale, colour correction.

The per-file steps and the chain that orders them; the pipeline and the CLI call these. Backends
live in :mod:`kroma_kit.providers`; settings in :mod:`kroma_kit.postprocess.config`.
"""

from kroma_kit.postprocess.chain import STEP_ORDER, ChainConfig, ChainDirs, ChainResult, run_chain
from kroma_kit.postprocess.config import PostprocessConfig, load_postprocess_config, parse_postprocess_config
from kroma_kit.postprocess.records import StepRecord
from kroma_kit.postprocess.steps import bg_remove_file, color_file, output_base, upscale_file

__all__ = [
    "STEP_ORDER", "ChainConfig", "ChainDirs", "ChainResult", "PostprocessConfig", "StepRecord",
    "bg_remove_file", "color_file", "load_postprocess_config", "output_base", "parse_postprocess_config",
    "run_chain", "upscale_file",
]

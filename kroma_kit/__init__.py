"""Kroma Kit: a notebook-first workbench for long-form AI image production.

Importing the package stays cheap (no numpy, duckdb, cv2, onnxruntime or ipywidgets at import
time) so the CLI starts fast and notebooks only pay for what they use.
"""

from kroma_kit.errors import KromaError

__version__ = "0.1.0"
__all__ = ["KromaError", "__version__"]

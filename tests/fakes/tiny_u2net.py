"""A tiny ONNX model that honours the U2-Net contract, so rembg's whole path runs offline in tests.

Built with the ``onnx`` helper API exactly as ``reference/ml-offline.md`` §1.4 shows: the input is
the first graph input (float32 NCHW, ImageNet-normalised), the output's channel 0 is a saliency
map. This one is "corner key": saliency = sigmoid(10 * (sum_c |x - x[:, :, 0, 0]| - 0.5)), i.e.
distance from the top-left pixel's colour, which is the background on a flat page. rembg
min-max normalises the output, so only the ordering matters. The file is ~414 bytes.

rembg finds a named model at ``<U2NET_HOME>/<name>.onnx`` (legacy layout) or
``<U2NET_HOME>/models/<name>/<name>.onnx``; :func:`install_tiny_u2net` puts it there.
"""

from __future__ import annotations

from pathlib import Path


def build_corner_key_model() -> bytes:
    """The serialised ONNX model (opset 18, IR 8), checked with ``onnx.checker``."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("input.1", TensorProto.FLOAT, ["N", 3, "H", "W"])
    y = helper.make_tensor_value_info("d0", TensorProto.FLOAT, ["N", 1, "H", "W"])
    inits = [numpy_helper.from_array(np.array(v, dt), n) for n, v, dt in
             [("st", [0, 0], np.int64), ("en", [1, 1], np.int64), ("ax", [2, 3], np.int64),
              ("cax", [1], np.int64), ("thr", 0.5, np.float32), ("gain", 10.0, np.float32)]]
    nodes = [helper.make_node("Slice", ["input.1", "st", "en", "ax"], ["bg"]),
             helper.make_node("Sub", ["input.1", "bg"], ["d"]), helper.make_node("Abs", ["d"], ["a"]),
             helper.make_node("ReduceSum", ["a", "cax"], ["s"], keepdims=1),
             helper.make_node("Sub", ["s", "thr"], ["c"]), helper.make_node("Mul", ["c", "gain"], ["z"]),
             helper.make_node("Sigmoid", ["z"], ["d0"])]
    model = helper.make_model(helper.make_graph(nodes, "corner_key", [x], [y], inits),
                              opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString()


def install_tiny_u2net(home: Path, name: str = "u2net", *, layout: str = "legacy") -> Path:
    """Write the model where rembg looks for ``name`` under ``home`` and return its path.

    ``layout="legacy"`` -> ``<home>/<name>.onnx``; ``"models"`` -> ``<home>/models/<name>/<name>.onnx``.
    """
    target = home / f"{name}.onnx" if layout == "legacy" else home / "models" / name / f"{name}.onnx"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(build_corner_key_model())
    return target

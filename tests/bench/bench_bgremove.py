"""bgremove_batch_speedup: 20 images through one warm rembg session vs the ``rembg i`` CLI per image.

The seed's R port shelled out to ``rembg i -m <model> in out`` once per file, paying interpreter
start, the rembg import (scipy, numba, pymatting) and the ONNX session load every time. Kroma Kit
keeps one warm session per model per process. Both sides use the same tiny U2-Net-contract model
(``tests/fakes/tiny_u2net.py``) under the same ``U2NET_HOME``, the same 512x512 inputs, and both
read and write PNG files. The warm side's time includes its one session load (and the rembg
import if this process had not done it yet).

The real ``rembg`` console script needs the ``rembg[cli]`` extra (``filetype``, ...); when it
cannot start, the baseline runs rembg's own ``i`` click command in a fresh interpreter (the same
code path minus the other subcommands' imports, so the baseline is if anything flattered), and
the line says so.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.lines import BenchLine, ratio
from tests.fakes.comic_images import flat_figure
from tests.fakes.tiny_u2net import install_tiny_u2net

IMAGES = 20
SIDE = 512
MODEL = "u2net"
REPO = Path(__file__).resolve().parents[2]
_I_COMMAND_SHIM = (
    "import sys, types, pathlib, rembg\n"
    "pkg = types.ModuleType('rembg.commands')\n"
    "pkg.__path__ = [str(pathlib.Path(rembg.__file__).parent / 'commands')]\n"
    "sys.modules['rembg.commands'] = pkg\n"
    "from rembg.commands.i_command import i_command\n"
    "i_command.main(sys.argv[1:], prog_name='rembg i')\n")


def _cli_command(env: dict[str, str], probe_in: Path, probe_out: Path) -> tuple[list[str], str]:
    """The ``rembg i`` invocation to time, and its label."""
    script = Path(sys.executable).with_name("rembg")
    if script.exists():
        done = subprocess.run([str(script), "i", "-m", MODEL, str(probe_in), str(probe_out)], env=env,
                              capture_output=True, text=True, timeout=300)
        if done.returncode == 0:
            return [str(script), "i", "-m", MODEL], "rembg i CLI"
    return [sys.executable, "-c", _I_COMMAND_SHIM, "-m", MODEL], "rembg's i command in a fresh python " \
        "(rembg CLI needs the rembg[cli] extra)"


def bench() -> list[BenchLine]:
    from kroma_kit.postprocess import bg_remove_file
    from kroma_kit.providers.bg_rembg import clear_sessions

    with tempfile.TemporaryDirectory(prefix="kroma-bench-bg-") as scratch:
        root = Path(scratch)
        home = root / "u2net-home"
        install_tiny_u2net(home, MODEL)
        inputs = []
        for index in range(IMAGES):
            path = root / "in" / f"panel_{index:02d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            flat_figure(SIDE, SIDE, noise=2.0, seed=index)[0].save(path)
            inputs.append(path)
        env = {**os.environ, "U2NET_HOME": str(home), "PYTHONPATH": str(REPO)}
        command, label = _cli_command(env, inputs[0], root / "probe.png")

        clear_sessions()
        started = time.perf_counter()
        for path in inputs:
            bg_remove_file(path, root / "warm", backends=["rembg"], backend_options={"rembg": {"home": str(home)}})
        warm_s = time.perf_counter() - started

        (root / "cli").mkdir()
        started = time.perf_counter()
        for path in inputs:
            subprocess.run([*command, str(path), str(root / "cli" / path.name)], env=env, check=True,
                           capture_output=True, timeout=300)
        cli_s = time.perf_counter() - started
        written = len(list((root / "cli").glob("*.png"))), len(list((root / "warm").glob("*.png")))
        if written != (IMAGES, IMAGES):
            raise RuntimeError(f"expected {IMAGES} outputs on each side, got cli={written[0]} warm={written[1]}")
    return [BenchLine(
        "bgremove_batch_speedup", ratio(cli_s, warm_s), ">= 3x",
        f"{IMAGES} images {SIDE}px: warm session {warm_s:.2f} s ({warm_s / IMAGES * 1000:.0f} ms/image incl. "
        f"load) vs {label} {cli_s:.1f} s ({cli_s / IMAGES * 1000:.0f} ms/image)")]

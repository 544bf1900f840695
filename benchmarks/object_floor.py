"""What one API object costs cdk8s and jsii alone, as a ratio against the synthesis floor.

The floor is ``benchmarks/synth_bench.py``'s: a fresh interpreter that imports cdk8s and
cdk8s_plus_27 and synthesizes an empty chart. Each other process synthesizes ``--objects``
copies of one Service, made three ways that involve none of this library's code:

- ``typed``: ``k8s.KubeService`` with typed ``ObjectMeta`` / ``ServiceSpec`` structs (how the
  library's non-workload objects are made);
- ``patched``: a plain ``cdk8s.ApiObject`` whose spec is one JSON patch of plain data;
- ``lazy``: a ``cdk8s.ApiObject`` subclass whose ``to_json`` adds the spec at synth (how the
  library's workloads are made).

Cold processes, alternating, medians of CPU time (the process and its Node.js child, ``wait4``).
The per-object figure, times the default app's 27 objects, is what any design built on cdk8s
objects pays before its own logic runs (docs/performance.md). One more process, ``bare``,
imports cdk8s alone (not cdk8s_plus_27) and synthesizes the empty chart: the difference is what
importing cdk8s_plus_27 (its Python bindings and its jsii assembly) costs inside the floor.

    python benchmarks/object_floor.py [--runs 5] [--objects 25]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

from synth_bench import node_env

CHILD = """
import os, sys, tempfile
how, count = sys.argv[1], int(sys.argv[2])
os.chdir(tempfile.mkdtemp())
import cdk8s
if how != "bare":
    import cdk8s_plus_27
    from cdk8s_plus_27 import k8s
app = cdk8s.App(outdir="dist")
chart = cdk8s.Chart(app, "c", namespace="vllm")
LABELS = {"app.kubernetes.io/name": "x", "app.kubernetes.io/part-of": "vllm-nfs-constructs"}
SPEC = {"type": "ClusterIP", "selector": LABELS,
        "ports": [{"name": "http", "port": 8000, "targetPort": "http", "protocol": "TCP"}]}

class Lazy(cdk8s.ApiObject):
    def to_json(self):
        out = dict(super().to_json())
        out["spec"] = SPEC
        return out

for i in range(count if how not in ("floor", "bare") else 0):
    name = f"s{i}"
    if how == "typed":
        k8s.KubeService(chart, name, metadata=k8s.ObjectMeta(name=name, labels=LABELS),
            spec=k8s.ServiceSpec(type="ClusterIP", selector=LABELS, ports=[k8s.ServicePort(
                name="http", port=8000, target_port=k8s.IntOrString.from_string("http"),
                protocol="TCP")]))
    elif how == "patched":
        obj = cdk8s.ApiObject(chart, name, api_version="v1", kind="Service",
            metadata=cdk8s.ApiObjectMetadata(name=name, labels=LABELS))
        obj.add_json_patch(cdk8s.JsonPatch.add("/spec", SPEC))
    else:
        Lazy(chart, name, api_version="v1", kind="Service",
            metadata=cdk8s.ApiObjectMetadata(name=name, labels=LABELS))
app.synth()
"""

WAYS = ("floor", "typed", "patched", "lazy", "bare")
OBJECT_WAYS = ("typed", "patched", "lazy")


def cpu_seconds(script: str, how: str, count: int, env: dict[str, str]) -> float:
    proc = subprocess.Popen(
        [sys.executable, script, how, str(count)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if status != 0:
        raise SystemExit(f"{how}: exit status {status}: {err[-1000:]}")
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--objects", type=int, default=25)
    args = parser.parse_args(argv)
    env = node_env()
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "child.py")
        with open(script, "w") as f:
            f.write(CHILD)
        times: dict[str, list[float]] = {way: [] for way in WAYS}
        for _ in range(args.runs):
            for way in WAYS:
                times[way].append(cpu_seconds(script, way, args.objects, env))
    floor = statistics.median(times["floor"])
    print(
        f"## One API object, cold ({args.runs} alternating runs, medians, {args.objects} objects)"
    )
    print()
    print("| process | CPU s | ms per object | per object, % of the floor |")
    print("|---|---|---|---|")
    print(f"| floor (empty chart) | {floor:.3f} | | |")
    for way in OBJECT_WAYS:
        median = statistics.median(times[way])
        per = (median - floor) / args.objects
        print(f"| {way} | {median:.3f} | {per * 1000:.2f} | {per / floor:.2%} |")
    bare = statistics.median(times["bare"])
    print()
    print(
        f"cdk8s alone (no cdk8s_plus_27 imported), empty chart: {bare:.3f} s CPU; importing "
        f"cdk8s_plus_27 costs {floor - bare:.3f} s = {(floor - bare) / floor:.0%} of the floor."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

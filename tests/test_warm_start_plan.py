"""#20 on paper and in the share benchmark: the overlapped timeline, the targets, the fleet view,
the ASCII Gantt, ``bench_share.py`` on real files, its aggregate, ``vllm-nfs bench-share`` and
``vllm-nfs plan --measured-share``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import cdk8s
import pytest

from tests.conftest import find, readable
from tests.k8s._fixtures import volume
from vllm_nfs_constructs import cli
from vllm_nfs_constructs.errors import ConfigurationError
from vllm_nfs_constructs.gantt import ascii_gantt, svg_gantt
from vllm_nfs_constructs.k8s.share_bench import ShareBenchmarkJob
from vllm_nfs_constructs.planner import plan_cold_start
from vllm_nfs_constructs.runtime import bench_share
from vllm_nfs_constructs.share_results import read_measured_share, with_measured_share
from vllm_nfs_constructs.taints import NOT_TUNED_TAINT_KEY

GB_PER_GIB = 1024**3 / 1e9
H100X8 = "gpu-h100x8-640gb"
ALL = {"prepull_image": True, "warm_up": True, "compile_cache": True}


def step(plan: Any, name: str) -> Any:
    return next(s for s in plan.steps if s.name == name)


def test_targets_from_node_join() -> None:
    before = plan_cold_start(140, H100X8)
    assert round(before.from_node_join_seconds) == 410
    bf16 = plan_cold_start(140, H100X8, **ALL)
    fp8 = plan_cold_start(70, H100X8, **ALL)
    assert bf16.from_node_join_seconds <= 300
    assert fp8.from_node_join_seconds <= 190
    # The arithmetic behind it: tuning + gate, then the read (longer than the pre-pulled pull),
    # the page-cache load, the engine with a warm compile cache.
    gb = 140 * GB_PER_GIB
    read, cache = gb * 1000 / 880, gb * 1000 / 10_000
    tuning = step(bf16, "tuning").seconds
    expected = tuning + 3 + read + cache + (64 + 35 + 20 - 33.4)
    assert bf16.from_node_join_seconds == pytest.approx(expected)


def test_warm_up_takes_the_max_of_pull_and_read_not_the_sum() -> None:
    seq = plan_cold_start(16)
    warm = plan_cold_start(16, warm_up=True)
    pull, read = step(seq, "image pull").seconds, step(seq, "weight read").seconds
    cache = step(warm, "page cache load").seconds
    assert seq.from_node_join_seconds - warm.from_node_join_seconds == pytest.approx(
        pull + read - max(pull, read) - cache
    )
    # Both start when the gate ends (the kubelet pulls the main image once the init containers
    # ran; the sidecar reads from then on).
    gate_end = step(warm, "gate").start + step(warm, "gate").seconds
    assert step(warm, "image pull").start == pytest.approx(gate_end)
    assert step(warm, "weight read").start == pytest.approx(gate_end)
    # With pre-pull the pull starts at node join, beside tuning.
    pre = plan_cold_start(16, warm_up=True, prepull_image=True)
    assert step(pre, "image pull").start == pytest.approx(300)
    assert pre.total_seconds < warm.total_seconds


def test_without_new_flags_the_figures_are_unchanged() -> None:
    plan = plan_cold_start(140, H100X8, 4)
    assert round(plan.total_seconds) == 710 and round(plan.all_ready_seconds) == 1140
    assert [b[1] for b in plan.bars()][:2] == [0, 300]


def test_warm_up_with_contention_all_ready() -> None:
    four = plan_cold_start(140, H100X8, 4, **ALL)
    gate = step(four, "gate")
    engine = step(four, "engine start").seconds
    cache = step(four, "page cache load").seconds
    assert four.all_ready_seconds == pytest.approx(
        gate.start + gate.seconds + four.together_read_seconds + cache + engine
    )


def test_ascii_gantt_shows_overlap() -> None:
    plan = plan_cold_start(140, H100X8, **ALL)
    text = ascii_gantt(plan, width=60, from_node_join=True)
    rows = {
        line.split("|")[0].strip(): line.split("|")[1] for line in text.splitlines() if "|" in line
    }
    pull = {i for i, ch in enumerate(rows["image pull"]) if ch == "#"}
    read = {i for i, ch in enumerate(rows["weight read"]) if ch == "#"}
    tuning = {i for i, ch in enumerate(rows["tuning"]) if ch == "#"}
    assert pull & read and pull & tuning  # bars overlap on the axis
    assert "node provisioning" not in rows
    assert "(s from node join)" in text


def test_svg_gantt_is_well_formed_and_made_of_the_plan() -> None:
    import xml.etree.ElementTree as ET

    before = plan_cold_start(140, H100X8)
    after = plan_cold_start(140, H100X8, **ALL)
    svg = svg_gantt([("before", before), ("after", after)])
    root = ET.fromstring(svg)
    rects = root.findall("{http://www.w3.org/2000/svg}rect")
    assert len(rects) == 1 + 5 + 6  # background, the steps after node join of each plan
    assert "410 s from node join" in svg and f"{after.from_node_join_seconds:.0f} s" in svg


def test_cli_plan_targets_and_bars(capsys: pytest.CaptureFixture[str]) -> None:
    rc = cli.main(["plan", "--size-gib", "140", "--gpu-slug", H100X8, "--prepull-image",
                   "--warm-up", "--compile-cache"])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0
    join = next(line for line in out.splitlines() if line.strip().startswith("from node join"))
    assert int(join.split()[3]) <= 300
    assert "timeline" in out and "#" in out
    rc = cli.main(["plan", "--size-gib", "70", "--gpu-slug", H100X8, "--prepull-image",
                   "--warm-up", "--compile-cache"])  # fmt: skip
    out = capsys.readouterr().out
    join = next(line for line in out.splitlines() if line.strip().startswith("from node join"))
    assert int(join.split()[3]) <= 190


def test_cli_fleet_view(capsys: pytest.CaptureFixture[str]) -> None:
    rc = cli.main(["plan", "--size-gib", "140", "--gpu-slug", H100X8, "--warm-up",
                   "--scale-from", "2", "--scale-to", "10", "--strict"])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 1  # warnings with --strict
    assert "scale-up 2 -> 10 replicas: 8 new node(s)" in out
    assert "over the mount limit of 8" in out
    assert "125 MB/s each" in out  # 8 new loaders share 1000 MB/s
    for bad in (["--scale-to", "2", "--scale-from", "2"], ["--scale-from", "1"]):
        assert cli.main(["plan", "--size-gib", "1", *bad]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: --scale-") and err.count("\n") == 1


def write_files(d: Path, n: int = 3, mib: int = 4) -> int:
    d.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (d / f"model-{i}.safetensors").write_bytes(os.urandom(mib * 1024 * 1024))
    return n * mib * 1024 * 1024


def test_bench_share_program_and_aggregate(tmp_path: Path) -> None:
    total = write_files(tmp_path / "set")
    (tmp_path / "set" / "link").symlink_to(tmp_path)
    prog = Path(bench_share.__file__)
    logs = []
    for node in ("node-a", "node-b"):
        proc = subprocess.run(
            [sys.executable, str(prog), "--dir", str(tmp_path / "set"), "--node", node],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        result = json.loads(proc.stdout)
        assert result["bytes"] == total and result["node"] == node and result["mbps"] > 0
        log = tmp_path / f"{node}.log"
        log.write_text(f"[pod/share-bench-x/bench] some line\n[pod/x/bench] {proc.stdout}")
        logs.append(str(log))
    out = subprocess.run(
        [sys.executable, "-m", "vllm_nfs_constructs.cli", "bench-share", "--aggregate", *logs],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    agg = json.loads(out.stdout)
    assert agg["kind"] == "vllm-nfs-share-benchmark" and agg["node_count"] == 2
    assert agg["bytes"] == 2 * total
    # Sequential runs: the span covers both, so the aggregate is at most the faster node.
    assert agg["aggregate_mbps"] <= agg["per_node_mbps_max"] * 1.01
    share = tmp_path / "share.json"
    share.write_text(out.stdout)
    measured = read_measured_share(str(share))
    a = with_measured_share(plan_cold_start(1).assumptions, measured, "high")
    plan = plan_cold_start(16, assumptions=a)
    read = step(plan, "weight read")
    assert read.basis == "measured" and "share.json" in read.source


def test_bench_share_run_locally(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    total = write_files(tmp_path / "set", n=2, mib=2)
    assert cli.main(["bench-share", "--run", str(tmp_path / "set")]) == 0
    lines = capsys.readouterr().out
    first = json.loads(lines.splitlines()[0])
    assert first["bytes"] == total
    assert cli.main(["bench-share", "--run", str(tmp_path / "nope")]) == 2


def test_aggregate_refuses_bad_logs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.log"
    empty.write_text("nothing here\n")
    assert cli.main(["bench-share", "--aggregate", str(empty)]) == 2
    bad = tmp_path / "bad.log"
    bad.write_text('{"event": "share-bench", "node": "a", "bytes": -1}\n')
    assert cli.main(["bench-share", "--aggregate", str(bad)]) == 2
    dup = tmp_path / "dup.log"
    line = json.dumps(
        {
            "event": "share-bench",
            "node": "a",
            "bytes": 1,
            "seconds": 1,
            "mbps": 1,
            "started_at": 1,
            "ended_at": 2,
        }
    )
    dup.write_text(line + "\n" + line + "\n")
    assert cli.main(["bench-share", "--aggregate", str(dup)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3 and all(e.startswith("error: --aggregate") for e in err)


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        '{"kind": "other", "version": 1}',
        '{"kind": "vllm-nfs-share-benchmark", "version": 1, "nodes": [], "aggregate_mbps": 5}',
        '{"kind": "vllm-nfs-share-benchmark", "version": 1, "aggregate_mbps": 1e400, '
        '"nodes": [{"node": "a", "mbps": 1, "bytes": 1, "seconds": 1}]}',
        '{"kind": "vllm-nfs-share-benchmark", "version": 1, "aggregate_mbps": 5, '
        '"nodes": [{"node": "a b", "mbps": 1, "bytes": 1, "seconds": 1}]}',
        "x" * (1024 * 1024 + 10),
    ],
)
def test_measured_share_file_is_validated(
    tmp_path: Path, content: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "share.json"
    path.write_text(content)
    with pytest.raises(ConfigurationError, match="--measured-share"):
        read_measured_share(str(path))
    assert cli.main(["plan", "--size-gib", "1", "--measured-share", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --measured-share") and err.count("\n") == 1


def test_measured_share_fifo_and_missing(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ConfigurationError, match="regular file"):
        read_measured_share(str(fifo))
    with pytest.raises(ConfigurationError, match="cannot be read"):
        read_measured_share(str(tmp_path / "missing.json"))


def test_measured_share_of_several_nodes_sets_the_share_rate(tmp_path: Path) -> None:
    data = {
        "kind": "vllm-nfs-share-benchmark",
        "version": 1,
        "aggregate_mbps": 1800.0,
        "nodes": [
            {"node": "a", "mbps": 900.0, "bytes": 10, "seconds": 1},
            {"node": "b", "mbps": 950.0, "bytes": 10, "seconds": 1},
        ],
    }
    path = tmp_path / "share.json"
    path.write_text(json.dumps(data))
    a = with_measured_share(plan_cold_start(1).assumptions, read_measured_share(str(path)))
    assert (a.node_read_mbps_tuned, a.share_read_mbps_high) == (950.0, 1800.0)
    four = plan_cold_start(140, H100X8, 4, assumptions=a)
    assert four.per_loader_mbps_together == pytest.approx(450.0)
    assert a.basis("share_read_mbps_high")[0] == "measured"


def test_share_benchmark_job_construct() -> None:
    app = cdk8s.Testing.app()
    chart = cdk8s.Chart(app, "t", disable_resource_name_hashes=True)
    vol = volume(chart)
    bench = ShareBenchmarkJob(chart, "share-bench", volume=vol, gpu_node_pool="gpu", nodes=4)
    objs = [dict(o) for o in cdk8s.Testing.synth(chart)]
    job = find(objs, "Job")
    assert readable(job["metadata"]["name"]) == "share-bench" == bench.name
    assert job["metadata"]["name"] == bench.job_name
    assert job["spec"]["parallelism"] == job["spec"]["completions"] == 4
    pod = job["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"doks.digitalocean.com/node-pool": "gpu"}
    assert NOT_TUNED_TAINT_KEY not in json.dumps(pod["tolerations"])
    anti = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert anti[0]["topologyKey"] == "kubernetes.io/hostname"
    (c,) = pod["containers"]
    assert {"mountPath": "/models", "name": "models", "readOnly": True} in c["volumeMounts"]
    args = bench_share.parse_args(c["command"][2:])
    assert args.dir.startswith("/models/Qwen/")
    assert "bench_share.py" in find(objs, "ConfigMap", "vllm-nfs-bench-program")["data"]
    for i, bad in enumerate(({"nodes": 9}, {"test_dir": "../etc"}, {"test_dir": "/abs"})):
        with pytest.raises(ConfigurationError, match="ShareBenchmarkJob"):
            ShareBenchmarkJob(
                chart,
                f"b{i}",
                volume=vol,
                gpu_node_pool="gpu",
                **bad,  # type: ignore[arg-type]
            )


def test_cli_bench_share_synthesizes_the_job(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert cli.main(["bench-share", "--nodes", "3", "--outdir", str(out)]) == 0
    text = (out / "share-bench.k8s.yaml").read_text()
    assert "parallelism: 3" in text and "bench_share.py" in text
    assert cli.main(["bench-share", "--nodes", "12", "--outdir", str(out)]) == 2


def test_docs_picture_is_generated_at_build_from_the_planner() -> None:
    import yaml

    from tests.conftest import ROOT
    from vllm_nfs_constructs.gantt import cold_start_charts, cold_start_svg

    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.Loader)
    assert "docs/hooks/cold_start_gantt.py" in config["hooks"]
    hook = (ROOT / "docs" / "hooks" / "cold_start_gantt.py").read_text()
    assert "cold_start_svg" in hook and "img/cold-start-timeline.svg" in hook
    assert "](img/cold-start-timeline.svg)" in (ROOT / "docs" / "cold-start.md").read_text()
    assert not (ROOT / "docs" / "img" / "cold-start-timeline.svg").exists()  # not checked in
    svg = cold_start_svg()
    for _, plan in cold_start_charts():
        join = plan.total_seconds - step(plan, "node provisioning").seconds
        assert f"{join:.0f} s from node join" in svg

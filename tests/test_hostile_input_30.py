"""Hostile input, round 3 (issue #30), the construct and command-line side: one test per class,
named for it. The in-pod programs' side is in tests/runtime/; the Hypothesis properties of the
same surfaces are in tests/test_properties_hostile_30.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import cdk8s
import pytest
import yaml

from tests._promtool import promtool_path
from tests.conftest import find_all
from vllm_nfs_constructs import (
    DEFAULT_IMAGES,
    ConfigurationError,
    GpuPool,
    InfraOutputs,
    LoraAdapter,
    LoraServing,
    ModelDownloadJob,
    ModelSource,
    NfsEndpoint,
    PlatformDefaults,
    PrefixAwareRouting,
    ServedModel,
    ShareBenchmarkJob,
    SharedModelVolume,
    Taint,
    VllmNfsChart,
    VllmOptions,
)
from vllm_nfs_constructs.cli import main as cli_main
from vllm_nfs_constructs.k8s.warm_start import COMPILE_CACHE_ROOT, compile_cache_subpath

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

SCALE_FROM_ZERO = Taint("startup-taint.cluster-autoscaler.kubernetes.io/network-not-tuned")
SMALL = GpuPool("small", size="gpu-h100x1-80gb", min_nodes=1, max_nodes=2)
BIG = GpuPool("big", size="gpu-h100x8-640gb", min_nodes=0, max_nodes=2, taint=SCALE_FROM_ZERO)
TWO_POOLS = InfraOutputs(
    nfs_host="10.110.0.12",
    nfs_mount_path="/2633050/share",
    gpu_node_pool_name="small",
    nfs_size_gb=1000,
    gpu_pools=(SMALL, BIG),
)


def synth_app(app: cdk8s.App) -> list[dict[str, Any]]:
    return [dict(o) for chart in app.charts for o in cdk8s.Testing.synth(chart)]


# --- every GPU pool's tuner scraped and alerted on -------------------------------------------


def _two_pool_app() -> list[dict[str, Any]]:
    app = cdk8s.Testing.app()
    VllmNfsChart(
        app,
        "vllm",
        infra=TWO_POOLS,
        models=[ServedModel("qwen", pool="small"), ServedModel("qwen-big", pool="big")],
        monitoring=True,
    )
    return synth_app(app)


def _promtool_test(tmp_path: Path, groups: Any, test: dict[str, Any]) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    spec = tmp_path / "test.yaml"
    spec.write_text(
        yaml.safe_dump(
            {"rule_files": [rules.name], "evaluation_interval": "1m", "tests": [test]},
            sort_keys=False,
        )
    )
    proc = subprocess.run(
        [promtool_path(), "test", "rules", spec.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_gpu_pools_tuner_is_scraped_with_its_own_pod_monitor() -> None:
    objects = _two_pool_app()
    tuners = {
        d["metadata"]["name"]: d
        for d in find_all(objects, "DaemonSet")
        if d["metadata"]["labels"]["app.kubernetes.io/component"] == "network-tuner"
    }
    assert len(tuners) == 2
    monitors = {
        m["metadata"]["name"]: m["spec"]
        for m in find_all(objects, "PodMonitor")
        if m["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"
    }
    assert set(monitors) == set(tuners)
    for name, spec in monitors.items():
        selector = tuners[name]["spec"]["selector"]["matchLabels"]
        assert spec["selector"]["matchLabels"] == selector
        assert spec["namespaceSelector"]["matchNames"] == [tuners[name]["metadata"]["namespace"]]


@pytest.mark.parametrize("stuck", [True, False], ids=["second-pool-stuck", "both-lifted"])
def test_gpu_node_not_tuned_alert_watches_every_pools_taint_key(
    tmp_path: Path, stuck: bool
) -> None:
    """The second pool's node keeps its own (scale-from-zero) taint: the alert fires for it; the
    first pool's node, whose taint was lifted, stays silent (promtool evaluates the rule)."""
    objects = _two_pool_app()
    (rule,) = find_all(objects, "PrometheusRule")
    groups = rule["spec"]["groups"]
    alert = next(r for g in groups for r in g["rules"] if r.get("alert") == "GpuNodeNotTuned")
    ksm = 'job="kube-state-metrics",instance="10.244.0.7:8080"'

    def taint(node: str, key: str, values: str) -> dict[str, str]:
        series = (
            f'kube_node_spec_taint{{{ksm},node="{node}",key="{key}",value="true",'
            f'effect="NoSchedule"}}'
        )
        return {"series": series, "values": values}

    series = [
        taint("small-1", SMALL.taint.key, "1x5"),  # type: ignore[union-attr]
        taint("big-1", SCALE_FROM_ZERO.key, "1x30" if stuck else "1x5"),
        # a key no tuner of this app lifts
        taint("other-1", "example.com/not-ours", "1x30"),
    ]
    labels = {"node": "big-1", **alert["labels"]}
    expected = (
        [
            {
                "exp_labels": labels,
                "exp_annotations": {
                    k: v.replace("{{ $labels.node }}", "big-1")
                    for k, v in alert["annotations"].items()
                },
            }
        ]
        if stuck
        else []
    )
    _promtool_test(
        tmp_path,
        groups,
        {
            "interval": "1m",
            "input_series": series,
            "alert_rule_test": [
                {"eval_time": "20m", "alertname": "GpuNodeNotTuned", "exp_alerts": expected}
            ],
        },
    )


# --- one app with every construct, for the checks over rendered pods -------------------------

A = "a" * 40
B = "b" * 40
SQL = LoraAdapter("sql", ModelSource("org/sql-lora", A), rank=8)
CHAT = LoraAdapter("chat", ModelSource("org/chat-lora", B), rank=16)


def kitchen_sink(platform: PlatformDefaults | None = None, outdir: Path | None = None) -> cdk8s.App:
    """Two pools (tuners, pre-pullers), the compile cache and warm-up, static and on-demand
    adapters (download and publish Jobs), prefix-aware routing (picker and Envoy), monitoring,
    and a share benchmark in a chart of its own: every pod the library makes."""
    app = cdk8s.App(outdir=str(outdir)) if outdir else cdk8s.Testing.app()
    chart = VllmNfsChart(
        app,
        "vllm",
        infra=TWO_POOLS,
        models=[
            ServedModel(
                "qwen",
                options=VllmOptions(compile_cache=True),
                adapters=(SQL,),
                routing=PrefixAwareRouting(),
                pool="small",
            ),
            ServedModel(
                "qwen-big",
                options=VllmOptions(lora=LoraServing(mode="on_demand")),
                adapters=(CHAT,),
                pool="big",
            ),
        ],
        monitoring=True,
        platform=platform,
    )
    bench = cdk8s.Chart(app, "bench", namespace="vllm", disable_resource_name_hashes=True)
    ShareBenchmarkJob(bench, "share-bench", volume=chart.volume, gpu_node_pool="small")
    return app


def pod_specs(objects: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(object, pod spec) for every workload."""
    out = []
    for obj in objects:
        spec = obj.get("spec", {})
        template = spec.get("template") if isinstance(spec, dict) else None
        if isinstance(template, dict) and "spec" in template:
            out.append((obj, template["spec"]))
    return out


def containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod.get("initContainers", []), *pod["containers"]]


def test_kitchen_sink_holds_every_kind_of_pod() -> None:
    """The app the checks below run over really makes every pod (else they prove little)."""
    objects = synth_app(kitchen_sink())
    names = {c["name"] for _, pod in pod_specs(objects) for c in containers(pod)}
    assert {
        "vllm",
        "model-gate",
        "warm-up",
        "compile-cache-dir",
        "fetch",
        "publish",
        "tuner",
        "pause",
        "epp",
        "envoy",
        "bench",
    } <= names


# --- DEFAULT_IMAGES and `vllm-nfs images` ------------------------------------------------------


def test_default_images_list_every_image_the_synthesized_apps_pull(tmp_path: Path) -> None:
    """Derived from the output: every image of every pod of the app (and of the default app
    `vllm-nfs synth` writes) is in DEFAULT_IMAGES, and `vllm-nfs images` prints exactly them."""
    app = kitchen_sink(outdir=tmp_path / "sink")
    objects = synth_app(app)
    app.synth()
    pulled = {c["image"] for _, pod in pod_specs(objects) for c in containers(pod)}
    assert pulled <= set(DEFAULT_IMAGES.values()), pulled - set(DEFAULT_IMAGES.values())
    assert cli_main(["synth", "--layers", "cluster", "--outdir", str(tmp_path / "dist")]) == 0
    default_app = [
        d
        for f in (tmp_path / "dist").glob("*.yaml")
        for d in yaml.safe_load_all(f.read_text())
        if d
    ]
    default_pulled = {c["image"] for _, pod in pod_specs(default_app) for c in containers(pod)}
    assert default_pulled <= set(DEFAULT_IMAGES.values())
    # every default image is pulled by some pod of these apps: the list holds no stale entry
    assert set(DEFAULT_IMAGES.values()) == pulled | default_pulled
    proc = subprocess.run(
        [str(Path(".venv/bin/vllm-nfs")), "images", str(tmp_path / "sink")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == sorted(pulled)


def test_images_mirror_prints_the_copy_list_from_mirrored_manifests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Manifests synthesized with a mirror name only mirror paths; `--mirror` traces each back
    to the image it copies (the fill list), the same list as from the unmirrored manifests."""
    mirror = "registry.internal.example/mirror"
    for name, platform in (("plain", None), ("mirrored", PlatformDefaults(registry_mirror=mirror))):
        kitchen_sink(platform, tmp_path / name).synth()
    lists = {}
    for name in ("plain", "mirrored"):
        assert cli_main(["images", "--mirror", mirror, str(tmp_path / name)]) == 0
        lists[name] = capsys.readouterr().out.splitlines()
    assert lists["plain"] == lists["mirrored"]
    assert f"registry.k8s.io/pause:3.10 {mirror}/registry.k8s.io/pause:3.10" in lists["plain"]
    assert cli_main(["images", str(tmp_path / "mirrored")]) == 0
    assert all(line.startswith(mirror + "/") for line in capsys.readouterr().out.splitlines())


def test_pull_secrets_reach_every_namespace_the_library_puts_pods_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every pod (the tuner's, in its own namespace, included) names the platform's pull
    secret, and `vllm-nfs images --pull-secrets` lists the Secret to create in each of those
    namespaces."""
    app = kitchen_sink(PlatformDefaults(image_pull_secrets=["regcred"]), tmp_path / "dist")
    objects = synth_app(app)
    app.synth()
    namespaces = set()
    for obj, pod in pod_specs(objects):
        assert pod.get("imagePullSecrets") == [{"name": "regcred"}], obj["metadata"]["name"]
        namespaces.add(obj["metadata"]["namespace"])
    assert namespaces == {"vllm", "vllm-network-tuner"}
    assert cli_main(["images", "--pull-secrets", str(tmp_path / "dist")]) == 0
    assert capsys.readouterr().out.splitlines() == [f"{ns} regcred" for ns in sorted(namespaces)]


# --- the model tree read-only in every container -----------------------------------------------


def test_share_mounts_read_only_except_writers_each_in_its_own_subpath() -> None:
    """Every mount of the share is readOnly, except the writers that must write: the download
    and adapter Jobs (fetch, publish: the share root) and the compile cache (the vLLM
    container's `.vllm-cache/<tag>/<gpu size>`, its init container's `.vllm-cache`)."""
    objects = synth_app(kitchen_sink())
    claims = {o["metadata"]["name"] for o in objects if o["kind"] == "PersistentVolumeClaim"}
    writers: list[tuple[str, str, str | None]] = []
    for obj, pod in pod_specs(objects):
        share = {
            v["name"]
            for v in pod.get("volumes", [])
            if v.get("persistentVolumeClaim", {}).get("claimName") in claims
        }
        for container in containers(pod):
            for mount in container.get("volumeMounts", []):
                if mount["name"] in share and mount.get("readOnly") is not True:
                    writers.append((obj["kind"], container["name"], mount.get("subPath")))
    cache = compile_cache_subpath(VllmOptions().image, SMALL.size)
    assert set(writers) == {
        ("Job", "fetch", None),
        ("Job", "publish", None),
        ("Deployment", "compile-cache-dir", COMPILE_CACHE_ROOT),
        ("Deployment", "vllm", cache),
    }
    # The compile cache's writers are in the one deployment that asked for it.
    assert sum(1 for w in writers if w[0] == "Deployment") == 2


# --- readers bounded: a huge integer or deep nesting is one clean error --------------------------

HUGE = "9" * 5000
DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize(
    "pools",
    [
        f'[{{"name":"gpu","size":"gpu-h100x1-80gb","min_nodes":{HUGE},"max_nodes":1,"taint":""}}]',
        DEEP,
        "[" * 900 + "]" * 900,
    ],
    ids=["huge-integer", "deep", "deep-below-recursion-limit"],
)
def test_gpu_pools_output_huge_integer_or_deep_nesting_refused(pools: str) -> None:
    base = {"nfs_host": "10.0.0.5", "nfs_mount_path": "/1/a", "gpu_node_pool_name": "gpu"}
    with pytest.raises(ConfigurationError, match=r"gpu_pools"):
        InfraOutputs.from_mapping({**base, "gpu_pools": pools})
    with pytest.raises(ConfigurationError):  # already decoded, as from a Python caller
        InfraOutputs.from_mapping({**base, "gpu_pools": [[[[10**5000]]]]})


def run_cli(*argv: str, stdout: Any = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    """The installed `vllm-nfs`, in its own process (so stderr shows any traceback)."""
    return subprocess.run(
        [str(Path(".venv/bin/vllm-nfs").resolve()), *argv],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize(
    "content",
    [DEEP, '{"kind": ' + HUGE + "}", '{"nodes": [' + "{" * 0 + DEEP + "]}"],
    ids=["deep", "huge-integer", "deep-inside"],
)
def test_measured_share_file_huge_integer_or_deep_nesting_refused(
    tmp_path: Path, content: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "share.json"
    path.write_text(content)
    assert cli_main(["plan", "--size-gib", "10", "--measured-share", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --measured-share: ") and err.count("\n") == 1


@pytest.mark.parametrize(
    "line",
    [
        '{"event": "share-bench", "x": ' + DEEP + "}",
        '{"event": "share-bench", "node": "n", "bytes": ' + HUGE + "}",
    ],
    ids=["deep", "huge-integer"],
)
def test_bench_logs_huge_integer_or_deep_nesting_refused(
    tmp_path: Path, line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "bench.log"
    log.write_text(f"[pod/share-bench-abc/bench] {line}\n")
    assert cli_main(["bench-share", "--aggregate", str(log)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --aggregate: ") and err.count("\n") == 1


# --- commands: a message and an exit status, never a traceback ---------------------------------


def test_bench_share_full_disk_gives_message_and_status(tmp_path: Path) -> None:
    log = tmp_path / "bench.log"
    # A result line exactly as bench_share.py prints it (json.dumps(result, sort_keys=True)).
    result = {
        **{"bytes": 100, "ended_at": 2, "errors": 0, "event": "share-bench", "files": 1},
        **{"mbps": 0.0001, "node": "n1", "seconds": 1, "started_at": 1, "threads": 4},
    }
    log.write_text(json.dumps(result, sort_keys=True) + "\n")
    with open("/dev/full", "w") as full:
        proc = run_cli("bench-share", "--aggregate", str(log), stdout=full)
    assert proc.returncode == 1
    assert proc.stderr == "error: writing the output failed: No space left on device\n"


@pytest.mark.parametrize("outdir", ["a-file", "a-file/below", "/dev/full"])
def test_bench_share_outdir_that_is_a_file_gives_message_and_status(
    tmp_path: Path, outdir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a-file").write_text("x")
    target = outdir if outdir.startswith("/") else str(tmp_path / outdir)
    for argv in (["bench-share", "--outdir", target], ["synth", "--outdir", target]):
        assert cli_main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: --outdir: ") and "is not a folder" in err


#: Bad input for every subcommand (test_every_subcommand_is_driven_with_bad_input checks none
#: is missing).
BAD_INPUT: dict[str, list[list[str]]] = {
    "synth": [["--infra-outputs", "/nonexistent.json"], ["--layers", "cluster", "--outdir", "F"]],
    "validate": [["/nonexistent"], ["--platform-mirror", "u:hunter2@x.example/m", "F"]],
    "plan": [["--size-gib", "nan"], ["--size-gib", "10", "--measured-share", "F"]],
    "bench-share": [["--nodes", "99"], ["--aggregate", "F"], ["--run", "F"]],
    "images": [["F"], ["--mirror", "user:hunter2@x.example/m"], ["--pull-secrets"]],
    "diff": [["F", "/nonexistent"], ["/nonexistent", "F"]],
    "applyset": [["F", "-n", "vllm"], ["F", "-n", "Not A Namespace"]],
}


def test_every_subcommand_is_driven_with_bad_input() -> None:
    from vllm_nfs_constructs.cli import build_parser

    parser = build_parser()
    (sub,) = [a for a in parser._actions if a.dest == "command"]
    assert set(sub.choices) == set(BAD_INPUT)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "argv",
    [[cmd, *args] for cmd, cases in BAD_INPUT.items() for args in cases],
    ids=" ".join,
)
def test_cli_bad_input_gives_message_and_status_never_traceback(
    tmp_path: Path, argv: list[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("[" * 5000 + "]" * 5000)
    proc = run_cli(*[str(bad) if a == "F" else a for a in argv])
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    # a one-line error (argparse: its usage, then the error), or validate's report on stdout
    assert proc.stderr.startswith(("error: ", "usage: ")) or (
        proc.stderr == "" and "vllm-nfs validate: " in proc.stdout
    )
    assert "hunter2" not in proc.stderr + proc.stdout


# --- PlatformDefaults.apply and the node selector ---------------------------------------------


@pytest.mark.parametrize("scope", [42, None, "chart", object()])
def test_platform_apply_on_something_not_a_construct_is_configuration_error(scope: Any) -> None:
    with pytest.raises(ConfigurationError, match=r"PlatformDefaults\.apply\.scope"):
        PlatformDefaults().apply(scope)


@pytest.mark.parametrize("apply_first", [True, False], ids=["apply-first", "apply-after"])
def test_node_selector_conflict_is_configuration_error_not_jsii_runtime_error(
    apply_first: bool,
) -> None:
    """At the line that makes the conflict (construction or apply), not from app.synth()."""
    app = cdk8s.Testing.app()
    chart = cdk8s.Chart(app, "ml", namespace="ml")
    volume = SharedModelVolume(chart, "models", nfs=NfsEndpoint("10.110.0.12", "/26/share"))
    platform = PlatformDefaults(node_selector={"doks.digitalocean.com/node-pool": "system"})
    if apply_first:
        platform.apply(chart)
    with pytest.raises(ConfigurationError, match=r"node_selector.*'mgmt'"):
        ModelDownloadJob(chart, "download", volume=volume, node_pool="mgmt")
        platform.apply(chart)


# --- checks for meaning: the registry mirror ---------------------------------------------------


@pytest.mark.parametrize(
    ("mirror", "says"),
    [
        ("registry.example:0/mirror", "port 0 is outside 1-65535"),
        ("registry.example:99999/mirror", "port 99999 is outside 1-65535"),
        ("a" * 64 + ".example/mirror", "host label of 64 characters"),
        ("[::1::2]:5000/mirror", "is not an IPv6 address"),
        ("registry.example/" + "/".join(["abcdefghij"] * 22), "at most 255 characters"),
    ],
    ids=["port-0", "port-99999", "64-char-label", "bad-ipv6", "names-past-255"],
)
def test_registry_mirror_refused_for_meaning_not_only_grammar(mirror: str, says: str) -> None:
    with pytest.raises(ConfigurationError, match="PlatformDefaults.registry_mirror") as err:
        PlatformDefaults(registry_mirror=mirror)
    assert says in str(err.value)


@pytest.mark.parametrize(
    "mirror",
    [
        "user:hunter2@registry.example/mirror",
        "https://user:hunter2@registry.example/mirror",
        "user:hun@ter2@registry.example/mirror",
        "hunter2@registry.example",
    ],
)
def test_registry_mirror_with_credentials_refused_without_repeating_them(mirror: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        PlatformDefaults(registry_mirror=mirror)
    assert "hunter2" not in str(err.value) and "hun@ter2" not in str(err.value)
    assert "hunter2" not in repr(err.value.value)
    assert "image_pull_secrets" in str(err.value)


def test_ipv6_source_registry_rewritten_into_a_valid_reference() -> None:
    from vllm_nfs_constructs.values.images import image_problem
    from vllm_nfs_constructs.values.platform import mirror_image, unmirror

    mirror = "registry.internal.example/mirror"
    for image in (
        "[::1]:5000/img:tag",
        "[2001:db8::1]/team/img:1.0",
        "[::1]/img@sha256:" + "a" * 64,
    ):
        out = mirror_image(mirror, image)
        assert image_problem(out) is None, out
        assert unmirror(mirror, out) == image


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("localhost:5000/app:1", "localhost-5000/app:1"),  # 0.3.0: both <mirror>/localhost-5000
        ("registry.example:5000/app:1", "registry.example-5000/app:1"),
        ("[::1]:5000/img:tag", "ip6-0000-0000-0000-0000-0000-0000-0000-0001:5000/img:tag"),
        ("myreg:443/app:1", "myreg.port/app:1"),
    ],
)
def test_two_source_registries_never_share_a_mirror_path(first: str, second: str) -> None:
    from vllm_nfs_constructs.values.platform import mirror_image

    mirror = "registry.internal.example/mirror"
    assert mirror_image(mirror, first) != mirror_image(mirror, second)


def test_registry_written_only_by_its_capitals_refused_under_a_mirror() -> None:
    """`MyReg/app:1` names the registry MyReg (Docker's rule); lower-cased into a path it would
    be Docker Hub's `myreg/app`: refused with the way out, not rewritten into a collision."""
    from vllm_nfs_constructs.values.platform import mirror_image

    with pytest.raises(ConfigurationError, match="MyReg:443"):
        mirror_image("registry.internal.example/mirror", "MyReg/app:1")


# --- checks for meaning: ShareBenchmarkJob -----------------------------------------------------


def _bench(**kwargs: Any) -> ShareBenchmarkJob:
    app = cdk8s.Testing.app()
    chart = cdk8s.Chart(app, "b", namespace="vllm")
    volume = SharedModelVolume(chart, "models", nfs=NfsEndpoint("10.110.0.12", "/26/share"))
    return ShareBenchmarkJob(chart, "share-bench", volume=volume, gpu_node_pool="gpu", **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [{"uid": 0}, {"uid": -1}, {"gid": -5}, {"gid": 0}, {"uid": 2**31}],
    ids=["uid-0-with-runAsNonRoot", "negative-uid", "negative-gid", "gid-0", "uid-past-int32"],
)
def test_share_benchmark_job_refuses_root_and_negative_ids(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match=r"ShareBenchmarkJob\.(uid|gid)"):
        _bench(**kwargs)


@pytest.mark.parametrize("max_gib", [0.0001, 0.0009, 0.001, 1, 50.5, 100_000, 100_000.5, 1e9])
def test_share_benchmark_job_max_gib_accepted_exactly_when_the_program_accepts_it(
    max_gib: float,
) -> None:
    """The construct's rule is the in-pod program's (contracts.BENCH_MAX_GIB): what the Job
    passes, the program's own parser takes; what the parser would refuse, the Job refuses."""
    from vllm_nfs_constructs.runtime import bench_share

    try:
        bench_share.parse_args(["--dir", "/models/x", "--max-gib", str(max_gib)])
        program_ok = True
    except SystemExit:
        program_ok = False
    if not program_ok:
        with pytest.raises(ConfigurationError, match=r"ShareBenchmarkJob\.max_gib"):
            _bench(max_gib=max_gib)
        return
    job = _bench(max_gib=max_gib)
    command = job.pod.containers[0].command
    assert command is not None
    args = command[command.index("--dir") :]
    assert bench_share.parse_args(args).max_gib == pytest.approx(max_gib, rel=1e-5)


# --- one warm-up rule for the chart and the planner --------------------------------------------


@pytest.mark.filterwarnings("ignore::vllm_nfs_constructs.errors.ConfigurationWarning")
@pytest.mark.parametrize("strategy", ["prefetch", "eager", "lazy", "runai_streamer"])
def test_planner_plans_warm_up_exactly_where_the_chart_adds_the_sidecar(strategy: str) -> None:
    from vllm_nfs_constructs import WeightLoading
    from vllm_nfs_constructs.planner import plan_cold_start

    app = cdk8s.Testing.app()
    options = VllmOptions(loading=WeightLoading(strategy))
    infra = InfraOutputs(
        nfs_host="10.110.0.12",
        nfs_mount_path="/2633050/share",
        gpu_node_pool_name="gpu",
        gpu_node_size="gpu-h100x1-80gb",
    )
    VllmNfsChart(app, "vllm", infra=infra, models=[ServedModel("m", options=options)])
    (deployment,) = [o for o in synth_app(app) if o["kind"] == "Deployment"]
    inits = [c["name"] for c in deployment["spec"]["template"]["spec"]["initContainers"]]
    plan = plan_cold_start(16, "gpu-h100x1-80gb", strategy=strategy, warm_up=True)
    assert plan.warm_up == ("warm-up" in inits)
    assert ("page cache load" in [s.name for s in plan.steps]) == ("warm-up" in inits)


# --- annotations within the API server's limit --------------------------------------------------


def test_platform_annotations_merged_over_256_kib_refused_naming_object_and_size() -> None:
    """Each map alone is within 256 KiB; with the library's own annotations (checkov skips,
    programs checksum) the object would pass it: refused, naming the object and the size."""
    big = "x" * (256 * 1024 - 40)
    platform = PlatformDefaults(annotations={"example.com/big": big})
    app = cdk8s.Testing.app()
    with pytest.raises(ConfigurationError, match=r"PlatformDefaults\.annotations") as err:
        VllmNfsChart(app, "vllm", infra=TWO_POOLS, platform=platform)
    message = str(err.value)
    assert "bytes of annotations on " in message and "262144" in message


def test_apps_cluster_entry_point_gives_message_and_status(tmp_path: Path) -> None:
    """apps/cluster.py (`make synth`, `cdk8s synth`) is a command line too."""
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "deep.json").write_text(DEEP)
    for argv in (
        ["--outdir", str(tmp_path / "a-file")],
        ["--infra-outputs", str(tmp_path / "deep.json"), "--outdir", str(tmp_path / "out")],
    ):
        proc = subprocess.run(
            [sys.executable, "apps/cluster.py", *argv],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr

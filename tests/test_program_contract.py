"""The constructs and the in-pod programs agree.

Every ``python3 /programs/<name>.py ...`` command a synthesized chart runs is parsed by that
program's own ``parse_args``; the values must land where the construct meant them. Then the real
``fetch.py`` downloads from a loopback Hub stand-in and the real ``gate.py`` runs with exactly the
arguments ``VllmDeployment`` passes, and the model path vLLM serves (its positional argument;
vLLM 0.33 deprecates ``--model``) must be the model directory ``fetch.py`` wrote
(``ModelSource.relative_path`` pinned to the on-disk layout).
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cdk8s
import pytest

from tests.conftest import ROOT, find
from tests.runtime._hfhub import HubStandIn, fake_model
from vllm_nfs_constructs import InfraOutputs, ModelSource, ServedModel, VllmNfsChart
from vllm_nfs_constructs.runtime import drain, fetch, gate, tuner

PROGRAMS = ROOT / "src" / "vllm_nfs_constructs" / "runtime"
MODULES = {"fetch": fetch, "gate": gate, "drain": drain, "tuner": tuner}
INFRA = InfraOutputs(nfs_host="10.10.0.7", nfs_mount_path="/42/abc", gpu_node_pool_name="gpu-h100")
REPO = "org/model"
DEFAULT_MODELS = inspect.signature(VllmNfsChart.__init__).parameters["models"].default

pytestmark = pytest.mark.timeout(60)


@dataclass(frozen=True)
class Invocation:
    kind: str
    workload: str
    namespace: str | None
    container: str
    where: str  # "containers", "initContainers" or "preStop"
    program: str
    args: list[str]
    pod: dict[str, Any]
    spec: dict[str, Any]  # the container


def synth_chart(**kwargs: Any) -> tuple[VllmNfsChart, list[dict[str, Any]]]:
    app = cdk8s.Testing.app()
    chart = VllmNfsChart(app, "vllm", infra=INFRA, **kwargs)
    return chart, [dict(o) for o in cdk8s.Testing.synth(chart)]


def program_of(argv: list[str] | None) -> tuple[str, list[str]] | None:
    if not argv or argv[0] != "python3" or len(argv) < 2 or not argv[1].startswith("/programs/"):
        return None
    name = argv[1][len("/programs/") :]
    assert name.endswith(".py") and "/" not in name, argv
    return name[: -len(".py")], argv[2:]


def invocations(objs: list[dict[str, Any]]) -> list[Invocation]:
    found = []
    for o in objs:
        template = (o.get("spec") or {}).get("template")
        if not template:
            continue
        pod = template["spec"]
        for where in ("initContainers", "containers"):
            for ct in pod.get(where, []):
                argv = [*(ct.get("command") or []), *(ct.get("args") or [])]
                for place, cmd in (
                    (where, argv),
                    (
                        "preStop",
                        ct.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command"),
                    ),
                ):
                    hit = program_of(cmd)
                    if hit:
                        found.append(
                            Invocation(
                                o["kind"],
                                o["metadata"]["name"],
                                o["metadata"].get("namespace"),
                                ct["name"],
                                place,
                                hit[0],
                                hit[1],
                                pod,
                                ct,
                            )
                        )
                # Nothing else may run a program some other way.
                assert "/programs/" not in " ".join(argv[2:] if program_of(argv) else argv), ct
    return found


def flag(args: list[str], name: str) -> str:
    assert args.count(name) == 1, (name, args)
    return args[args.index(name) + 1]


def served_model_path(args: list[str]) -> str:
    """The model ``vllm serve`` loads: its positional ``model_tag``, given as the first argument
    (before any flag, so no flag can take it as its value); never ``--model`` (deprecated)."""
    assert not any(a == "--model" or a.startswith("--model=") for a in args), args
    assert args and not args[0].startswith("-"), args
    assert not any(a.startswith("/models/") for a in args[1:]), args
    return args[0]


def mount_path(container: dict[str, Any], volume: str) -> str:
    (path,) = [m["mountPath"] for m in container.get("volumeMounts", []) if m["name"] == volume]
    return path


def volume(pod: dict[str, Any], name: str) -> dict[str, Any]:
    (vol,) = [v for v in pod["volumes"] if v["name"] == name]
    return vol


@pytest.fixture
def tuner_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # The DaemonSet passes NODE_NAME from spec.nodeName; the API server comes from the in-cluster
    # service environment.
    monkeypatch.setenv("NODE_NAME", "gpu-node-1")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.245.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")


VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "branch-and-tag": {
        "models": (
            ServedModel("pr", ModelSource(REPO, "refs/pr/1", moving_revision=True)),
            ServedModel("tagged", ModelSource(REPO, "v1.0", moving_revision=True)),
        )
    },
}


# ---------------------------------------------------------------------------------------------
# Every command parses, and the values are the construct's


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.usefixtures("tuner_env")
def test_every_program_command_parses_with_the_programs_own_parser(variant: str) -> None:
    chart, objs = synth_chart(**VARIANTS[variant])
    found = invocations(objs)
    assert {i.program for i in found} == set(MODULES)
    served = VARIANTS[variant].get("models", DEFAULT_MODELS)
    assert [m.name for m in served] == list(chart.deployments)

    for inv in found:
        parsed = MODULES[inv.program].parse_args(inv.args)  # exits (SystemExit) on a bad flag
        assert parsed is not None
        # The program file is mounted from a ConfigMap of the pod's namespace that ships it,
        # byte for byte.
        programs_dir = mount_path(inv.spec, "programs")
        assert programs_dir == "/programs"
        vol = volume(inv.pod, "programs")
        cm = find(
            [o for o in objs if o["metadata"].get("namespace") == inv.namespace],
            "ConfigMap",
            vol["configMap"]["name"],
        )
        source = (PROGRAMS / f"{inv.program}.py").read_text(encoding="utf-8")
        assert cm["data"][f"{inv.program}.py"] == source

    fetches = {(i.workload, i.namespace): i for i in found if i.program == "fetch"}
    gates = {i.workload: i for i in found if i.program == "gate"}
    drains = {i.workload: i for i in found if i.program == "drain"}
    assert len(fetches) == len(gates) == len(drains) == len(chart.deployments)

    for served_model in served:
        model = served_model.source
        g = gates[served_model.name]
        assert g.kind == "Deployment" and g.where == "initContainers"
        ga = gate.parse_args(g.args)
        # The download Job for the same model: same repo, revision and volume root.
        (f,) = [
            i
            for i in fetches.values()
            if fetch.parse_args(i.args).repo == model.repo_id
            and fetch.parse_args(i.args).revision == model.revision
        ]
        assert f.kind == "Job" and f.where == "containers"
        fa = fetch.parse_args(f.args)
        assert (ga.repo, ga.revision) == (fa.repo, fa.revision) == (model.repo_id, model.revision)
        assert ga.root == fa.root
        assert mount_path(f.spec, "models") == fa.root
        assert mount_path(g.spec, "models") == ga.root
        assert volume(f.pod, "models") == volume(g.pod, "models")  # the same claim
        assert ga.timeout > 0 and ga.interval > 0

        # vLLM loads the path the gate waited for.
        (vllm,) = [c for c in g.pod["containers"] if c["name"] == "vllm"]
        args = vllm["args"]
        assert served_model_path(args) == f"{ga.root}/{model.relative_path}"
        assert served_model_path(args) == os.path.join(
            ga.root, ga.repo, ga.revision.replace("/", "--")
        )
        assert mount_path(vllm, "models") == ga.root

        # preStop drain: scrapes this container's port, finishes within the grace period.
        d = drains[served_model.name]
        assert d.container == "vllm" and d.where == "preStop"
        da = drain.parse_args(d.args)
        assert da.url == f"http://127.0.0.1:{flag(args, '--port')}/metrics"
        assert da.deadline < d.pod["terminationGracePeriodSeconds"]

    (t,) = [i for i in found if i.program == "tuner"]
    cfg = tuner.parse_args(t.args)
    construct = chart.tuner
    assert construct is not None
    assert t.kind == "DaemonSet" and t.namespace == construct.namespace
    assert cfg.node_name == "gpu-node-1"
    assert cfg.interface == "eth1"
    assert cfg.mtu == construct.mtu
    assert cfg.buffer_bytes == construct.buffer_bytes
    assert (cfg.taint_key, cfg.taint_value, cfg.taint_effect) == (
        construct.taint.key,
        construct.taint.value,
        construct.taint.effect.value,
    )
    assert t.spec["readinessProbe"]["exec"]["command"] == ["test", "-f", cfg.ready_file]
    assert Path(cfg.ready_file).parent.as_posix() == mount_path(t.spec, "run")
    env = {e["name"]: e for e in t.spec["env"]}
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    assert "--node-name" not in t.args  # taken from NODE_NAME


# ---------------------------------------------------------------------------------------------
# The real fetch writes what the real gate and vLLM's model path expect


@pytest.fixture
def hub() -> Iterator[HubStandIn]:
    with HubStandIn() as stand_in:
        yield stand_in


def program_argv(inv: Invocation, volume_root: str, tmp_root: Path) -> list[str]:
    """The synthesized command with the program path and the volume root made local."""
    args = [str(tmp_root) if a == volume_root else a for a in inv.args]
    return [sys.executable, str(PROGRAMS / f"{inv.program}.py"), *args]


@pytest.mark.parametrize("revision", ["refs/pr/1", "v1.0", "commit"])
def test_fetch_layout_satisfies_gate_and_vllm_model_path(
    hub: HubStandIn, tmp_path: Path, revision: str
) -> None:
    files = fake_model(seed=3, weight_size=50_000)
    commit = hub.add_commit(REPO, files, ref=None if revision == "commit" else revision)
    if revision == "commit":
        revision = commit
    source = ModelSource(REPO, revision, moving_revision=revision != commit)
    _, objs = synth_chart(models=(ServedModel("m", source),))
    found = invocations(objs)
    (f,) = [i for i in found if i.program == "fetch"]
    (g,) = [i for i in found if i.program == "gate"]
    volume_root = flag(g.args, "--root")
    assert flag(f.args, "--root") == volume_root
    root = tmp_path / "models"
    root.mkdir()

    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_ENDPOINT=hub.url, HF_HOME=str(tmp_path / "hf-home"), HF_HUB_DISABLE_TELEMETRY="1")
    proc = subprocess.run(
        program_argv(f, volume_root, root),
        env=env,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr

    start = time.monotonic()
    proc = subprocess.run(
        program_argv(g, volume_root, root),
        env={k: v for k, v in os.environ.items() if not k.startswith("HF_")},
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    assert time.monotonic() - start < 5
    assert "is complete" in proc.stdout

    (vllm,) = [c for c in g.pod["containers"] if c["name"] == "vllm"]
    model_arg = served_model_path(vllm["args"])
    assert model_arg.startswith(volume_root + "/")
    model_dir = root / model_arg[len(volume_root) + 1 :]
    assert model_dir == root / source.relative_path
    assert model_dir.is_dir()
    assert model_dir.resolve() == (root / "org" / "model" / commit).resolve()
    assert (model_dir / "config.json").read_bytes() == files["config.json"]
    assert (model_dir / "model.safetensors.index.json").is_file()
    if not source.is_commit:
        assert model_dir.is_symlink()

"""The constructs and the in-pod programs agree.

Every ``python3 /programs/<name>.py ...`` command a synthesized chart runs is parsed by that
program's own ``parse_args``; the values must land where the construct meant them. Then the real
``fetch.py`` downloads from a loopback Hub stand-in and the real ``gate.py`` runs with exactly the
arguments ``VllmDeployment`` passes, and the model path vLLM serves (its positional argument;
vLLM 0.33 deprecates ``--model``) must be the model directory ``fetch.py`` wrote
(``ModelSource.relative_path`` pinned to the on-disk layout). The programs run as the pods run
them: from a directory holding only their ConfigMap's files (the programs and ``contracts.py``).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import conftest
from tests.conftest import ROOT, find
from tests.runtime._hfhub import HubStandIn, fake_model
from vllm_nfs_constructs import (
    InfraOutputs,
    LoraAdapter,
    LoraServing,
    ModelSource,
    ServedModel,
    VllmNfsChart,
    VllmNfsProps,
    VllmOptions,
    contracts,
)
from vllm_nfs_constructs.runtime import drain, fetch, gate, publish, tuner, warm

PROGRAMS = ROOT / "src" / "vllm_nfs_constructs" / "runtime"
MODULES = {"fetch": fetch, "gate": gate, "drain": drain, "tuner": tuner, "warm": warm}
INFRA = InfraOutputs(nfs_host="10.10.0.7", nfs_mount_path="/42/abc", gpu_node_pool_name="gpu-h100")
REPO = "org/model"
# The composition's arguments are VllmNfsProps' fields (declared once, since 0.4.0).
DEFAULT_MODELS = next(f for f in dataclasses.fields(VllmNfsProps) if f.name == "models").default

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
    programs: dict[str, str]  # the data of the programs ConfigMap the pod mounts


synth_chart = functools.partial(conftest.synth_chart, infra=INFRA)


def program_of(argv: list[str] | None) -> tuple[str, list[str]] | None:
    if not argv or argv[0] != "python3" or len(argv) < 2 or not argv[1].startswith("/programs/"):
        return None
    name = argv[1][len("/programs/") :]
    assert name.endswith(".py") and "/" not in name, argv
    return name[: -len(".py")], argv[2:]


def programs_of(objs: list[dict[str, Any]], pod: dict[str, Any], namespace: str | None) -> Any:
    """The data of the programs ConfigMap ``pod`` mounts (from its namespace), or {}."""
    vols = [v for v in pod.get("volumes", []) if v["name"] == "programs"]
    if not vols:
        return {}
    same_ns = [o for o in objs if o["metadata"].get("namespace") == namespace]
    return find(same_ns, "ConfigMap", vols[0]["configMap"]["name"])["data"]


def invocations(objs: list[dict[str, Any]]) -> list[Invocation]:
    found = []
    for o in objs:
        template = (o.get("spec") or {}).get("template")
        if not template:
            continue
        pod = template["spec"]
        programs = programs_of(objs, pod, o["metadata"].get("namespace"))
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
                                programs,
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
        assert cm["data"] == inv.programs
        source = (PROGRAMS / f"{inv.program}.py").read_text(encoding="utf-8")
        assert cm["data"][f"{inv.program}.py"] == source
        # ... beside the contracts it imports, byte for byte.
        contracts_source = (PROGRAMS / contracts.CONTRACTS_FILE).read_text(encoding="utf-8")
        assert cm["data"][contracts.CONTRACTS_FILE] == contracts_source

    fetches = {(i.workload, i.namespace): i for i in found if i.program == "fetch"}
    gates = {i.workload: i for i in found if i.program == "gate"}
    drains = {i.workload: i for i in found if i.program == "drain"}
    warms = {i.workload: i for i in found if i.program == "warm"}
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
            ga.root, contracts.model_path(ga.repo, ga.revision)
        )
        assert mount_path(vllm, "models") == ga.root

        # The warm-up sidecar (#20) reads exactly that directory, after the gate, from the same
        # claim, and stays running (a native sidecar).
        w = warms[served_model.name]
        wa = warm.parse_args(w.args)
        assert wa.dirs[0] == served_model_path(args) and wa.sidecar
        assert w.spec["restartPolicy"] == "Always" and w.where == "initContainers"
        names = [c["name"] for c in w.pod["initContainers"]]
        assert names.index(w.container) > names.index(g.container)
        assert volume(w.pod, "models") == volume(g.pod, "models")

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


def programs_dir(inv: Invocation, where: Path) -> Path:
    """The pod's ``/programs``: a directory holding only its ConfigMap's files, read-only."""
    assert contracts.CONTRACTS_FILE in inv.programs and f"{inv.program}.py" in inv.programs
    if not where.exists():
        where.mkdir()
        for name, text in inv.programs.items():
            (where / name).write_text(text, encoding="utf-8")
            (where / name).chmod(0o444)
    assert {p.name: p.read_text(encoding="utf-8") for p in where.iterdir()} == inv.programs
    return where


def program_argv(inv: Invocation, volume_root: str, tmp_root: Path) -> list[str]:
    """The synthesized command with the volume root made local, run as the pod runs it: from a
    directory of the ConfigMap's files, in an isolated interpreter (-I: no PYTHONPATH, and not
    the current directory, on sys.path; -B: the mount is read-only, so no ``__pycache__``)."""
    args = [str(tmp_root) if a == volume_root else a for a in inv.args]
    where = programs_dir(inv, tmp_root.parent / f"programs-{inv.workload}")
    return [sys.executable, "-I", "-B", str(where / f"{inv.program}.py"), *args]


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


# ---------------------------------------------------------------------------------------------
# LoRA adapters: the adapter Jobs' and gates' commands parse, and the real fetch + publish put an
# adapter where vLLM reads it (its resolver directory, or --lora-modules), never before complete

ADAPTER_REPO = "org/sql-lora"


def fake_adapter(seed: int = 0) -> dict[str, bytes]:
    config = {
        "peft_type": "LORA",
        "r": 8,
        "lora_alpha": 16,
        "target_modules": ["q_proj", "v_proj"],
        "base_model_name_or_path": "Qwen/Qwen2.5-0.5B-Instruct",
    }
    return {
        "adapter_config.json": json.dumps(config).encode(),
        "adapter_model.safetensors": bytes((seed + i) % 251 for i in range(300_000)),
        "README.md": b"# an adapter\n",  # not selected by the fetcher's defaults
    }


def resolver_sees(resolver_dir: Path, name: str, base_model: str) -> Path | None:
    """vLLM 0.33's FilesystemResolver, re-implemented: ``<dir>/<name>/adapter_config.json`` with
    ``peft_type`` LORA and ``base_model_name_or_path`` equal to the model path vLLM serves."""
    path = resolver_dir / name
    config = path / "adapter_config.json"
    if not (path.exists() and config.exists()):
        return None
    data = json.loads(config.read_text())
    ok = data["peft_type"] == "LORA" and data["base_model_name_or_path"] == base_model
    return path if ok else None


def lora_chart(commit: str, mode: str) -> tuple[VllmNfsChart, list[dict[str, Any]]]:
    adapter = LoraAdapter("sql", ModelSource(ADAPTER_REPO, commit), rank=8)
    return synth_chart(
        models=(
            ServedModel(
                "qwen", options=VllmOptions(lora=LoraServing(mode=mode)), adapters=(adapter,)
            ),
        )
    )


@pytest.mark.parametrize("mode", ["static", "on_demand"])
def test_adapter_commands_parse_with_the_programs_own_parsers(mode: str) -> None:
    _, objs = lora_chart("a" * 40, mode)
    found = invocations(objs)
    (g,) = [i for i in found if i.program == "gate"]
    ga = gate.parse_args(g.args)
    (vllm,) = [c for c in g.pod["containers"] if c["name"] == "vllm"]
    env = {e["name"]: e.get("value") for e in vllm["env"]}
    adapter_jobs = [
        i for i in found if i.program == "fetch" and fetch.parse_args(i.args).repo == ADAPTER_REPO
    ]
    (f,) = adapter_jobs
    fa = fetch.parse_args(f.args)
    assert fa.root == ga.root and fa.revision == "a" * 40
    publishes = [i for i in found if i.program == "publish"]
    if mode == "static":
        assert ga.also == [(ADAPTER_REPO, "a" * 40)] and ga.dir == []
        assert f.where == "containers" and publishes == []
        (module,) = vllm["args"][vllm["args"].index("--lora-modules") + 1 :][:1]
        assert module == f"sql={ga.root}/{ADAPTER_REPO}/{'a' * 40}"
        return
    (p,) = publishes
    pa = publish.parse_args(p.args)
    assert f.where == "initContainers" and p.where == "containers" and p.workload == f.workload
    assert (pa.root, pa.repo, pa.revision) == (fa.root, fa.repo, fa.revision)
    assert ga.also == [] and ga.dir == [pa.dir]
    assert env["VLLM_LORA_RESOLVER_CACHE_DIR"] == f"{ga.root}/{pa.dir}"
    assert pa.base_model_path == served_model_path(vllm["args"])
    assert pa.max_rank == int(vllm["args"][vllm["args"].index("--max-lora-rank") + 1])
    assert mount_path(p.spec, "models") == pa.root
    assert volume(p.pod, "models") == volume(g.pod, "models")
    # The ConfigMap the Job mounts ships publish.py byte for byte.
    cm = find(objs, "ConfigMap", volume(p.pod, "programs")["configMap"]["name"])
    assert cm["data"]["publish.py"] == (PROGRAMS / "publish.py").read_text(encoding="utf-8")
    assert cm["data"][contracts.CONTRACTS_FILE] == (PROGRAMS / "contracts.py").read_text("utf-8")


def complete_base_model(root: Path, gate_args: list[str]) -> None:
    """The base model as its download Job leaves it (directory, then marker)."""
    ga = gate.parse_args(gate_args)
    base = root / ga.repo / ga.revision
    base.mkdir(parents=True)
    (base / "config.json").write_text("{}")
    (base.parent / contracts.marker_name(ga.revision)).write_text(
        json.dumps({"commit": ga.revision, "files": [{"path": "config.json", "size": 2}]})
    )


def local_gate(g: Invocation, volume_root: str, root: Path) -> list[str]:
    """The synthesized gate command on a local root, with a short timeout."""
    argv = program_argv(g, volume_root, root)
    argv[argv.index("--timeout") + 1] = "0.5"
    argv[argv.index("--interval") + 1] = "0.1"
    return argv


def run_program(inv: Invocation, volume_root: str, root: Path, env: dict[str, str]) -> Any:
    return subprocess.run(
        program_argv(inv, volume_root, root),
        env=env,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )


def test_on_demand_adapter_is_visible_to_the_resolver_only_once_complete(
    hub: HubStandIn, tmp_path: Path
) -> None:
    files = fake_adapter(seed=5)
    commit = hub.add_commit(ADAPTER_REPO, files, ref=None)
    _, objs = lora_chart(commit, "on_demand")
    found = invocations(objs)
    (g,) = [i for i in found if i.program == "gate"]
    (p,) = [i for i in found if i.program == "publish"]
    (f,) = [i for i in found if i.program == "fetch" and i.workload == p.workload]
    volume_root = flag(g.args, "--root")
    (vllm,) = [c for c in g.pod["containers"] if c["name"] == "vllm"]
    env_vllm = {e["name"]: e.get("value") for e in vllm["env"]}
    root_path = tmp_path / "models"
    root_path.mkdir()
    resolver = root_path / env_vllm["VLLM_LORA_RESOLVER_CACHE_DIR"][len(volume_root) + 1 :]
    base_model = served_model_path(vllm["args"])
    hub_env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    hub_env.update(
        HF_ENDPOINT=hub.url, HF_HOME=str(tmp_path / "hf-home"), HF_HUB_DISABLE_TELEMETRY="1"
    )
    plain_env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}

    # 1. The download breaks half-way: publish refuses, nothing answers to "sql".
    hub.faults.drop_after["adapter_model.safetensors"] = 100_000
    hub.faults.fail_after_drop = True
    proc = run_program(f, volume_root, root_path, hub_env)
    assert proc.returncode != 0
    proc = run_program(p, volume_root, root_path, plain_env)
    assert proc.returncode == 1, proc.stderr
    assert resolver_sees(resolver, "sql", base_model) is None
    assert not (resolver / "sql").is_symlink()

    # 2. The Job's retry completes the download; until publish runs the name is still absent.
    hub.faults.failing.clear()
    hub.faults.fail_after_drop = False
    proc = run_program(f, volume_root, root_path, hub_env)
    assert proc.returncode == 0, proc.stderr
    assert resolver_sees(resolver, "sql", base_model) is None
    assert not resolver.exists()  # so the pods' gate still waits (vLLM needs the directory)

    # 3. Publish: the resolver now finds the adapter, with the downloaded weights.
    proc = run_program(p, volume_root, root_path, plain_env)
    assert proc.returncode == 0, proc.stderr
    seen = resolver_sees(resolver, "sql", base_model)
    assert seen is not None
    assert (seen / "adapter_model.safetensors").read_bytes() == files["adapter_model.safetensors"]
    assert (seen / "adapter_model.safetensors").resolve() == (
        root_path / ADAPTER_REPO / commit / "adapter_model.safetensors"
    ).resolve()
    assert not (seen / "README.md").exists()
    # The pods' gate waited for the resolver directory publish created (with the base model).
    complete_base_model(root_path, g.args)
    proc = subprocess.run(
        local_gate(g, volume_root, root_path), capture_output=True, text=True, timeout=20
    )
    assert proc.returncode == 0, proc.stderr


def test_static_adapter_lands_where_lora_modules_points_and_the_gate_waits_for_it(
    hub: HubStandIn, tmp_path: Path
) -> None:
    files = fake_adapter(seed=9)
    commit = hub.add_commit(ADAPTER_REPO, files, ref=None)
    _, objs = lora_chart(commit, "static")
    found = invocations(objs)
    (g,) = [i for i in found if i.program == "gate"]
    (f,) = [
        i for i in found if i.program == "fetch" and fetch.parse_args(i.args).repo == ADAPTER_REPO
    ]
    volume_root = flag(g.args, "--root")
    root_path = tmp_path / "models"
    root_path.mkdir()
    hub_env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    hub_env.update(
        HF_ENDPOINT=hub.url, HF_HOME=str(tmp_path / "hf-home"), HF_HUB_DISABLE_TELEMETRY="1"
    )
    # The base model is complete (as its own Job leaves it); the adapter is not yet.
    complete_base_model(root_path, g.args)
    gate_argv = local_gate(g, volume_root, root_path)
    proc = subprocess.run(gate_argv, capture_output=True, text=True, timeout=20, check=False)
    assert proc.returncode == 1 and f"{ADAPTER_REPO}@{commit}" in proc.stderr

    proc = run_program(f, volume_root, root_path, hub_env)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run(gate_argv, capture_output=True, text=True, timeout=20, check=False)
    assert proc.returncode == 0, proc.stderr

    (vllm,) = [c for c in g.pod["containers"] if c["name"] == "vllm"]
    module = vllm["args"][vllm["args"].index("--lora-modules") + 1]
    name, _, path = module.partition("=")
    assert name == "sql" and path.startswith(volume_root + "/")
    adapter_dir = root_path / path[len(volume_root) + 1 :]
    assert json.loads((adapter_dir / "adapter_config.json").read_text())["peft_type"] == "LORA"
    assert (adapter_dir / "adapter_model.safetensors").read_bytes() == files[
        "adapter_model.safetensors"
    ]


@pytest.mark.parametrize(
    ("program", "argv"),
    [
        ("fetch.py", ["--root=--", "--repo", "a/b", "--revision", "main"]),
        ("gate.py", ["--root", "/m", "--repo", "a/b", "--revision=--"]),
        ("drain.py", ["--url=--"]),
        ("tuner.py", ["--interface=--", "--node-name", "n"]),
        ("publish.py", ["--root=--"]),
    ],
)
def test_a_value_of_exactly_double_dash_is_a_usage_error_not_a_traceback(program, argv):
    """argparse hands `--opt=--` over as a list; every program reports it as usage (exit 2)."""
    proc = subprocess.run(
        [sys.executable, str(PROGRAMS / program), *argv],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr

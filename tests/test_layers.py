"""The layering rules of docs/index.md ("Layers"), checked on the source and in new interpreters."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

PKG = ROOT / "src" / "vllm_nfs_constructs"
JSII_PACKAGES = {
    "cdk8s",
    "cdk8s_plus_27",
    "constructs",
    "cdktf",
    "cdktf_cdktf_provider_digitalocean",
    "jsii",
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            found.add(base)
            sep = "." if node.module else ""
            found |= {f"{base}{sep}{alias.name}" for alias in node.names}
    return found


def py_files(sub: str) -> list[Path]:
    return sorted((PKG / sub).rglob("*.py"))


@pytest.mark.parametrize("path", py_files("runtime"), ids=lambda p: p.name)
def test_runtime_imports_no_jsii_package_and_no_other_layer(path):
    for name in imports_of(path):
        top = name.lstrip(".").split(".")[0]
        assert top not in JSII_PACKAGES, f"{path.name} imports {name}"
        assert not name.startswith(".."), f"{path.name} reaches outside runtime/: {name}"
        assert "k8s" not in name.split(".") and "infra" not in name.split("."), name


@pytest.mark.parametrize("path", py_files("k8s"), ids=lambda p: p.name)
def test_k8s_never_imports_infra_or_cdktf(path):
    for name in imports_of(path):
        parts = name.lstrip(".").split(".")
        assert "infra" not in parts, f"{path.name} imports {name}"
        assert parts[0] not in {"cdktf", "cdktf_cdktf_provider_digitalocean"}, name


@pytest.mark.parametrize("path", py_files("infra"), ids=lambda p: p.name)
def test_infra_never_imports_k8s_or_cdk8s(path):
    for name in imports_of(path):
        parts = name.lstrip(".").split(".")
        assert "k8s" not in parts, f"{path.name} imports {name}"
        assert parts[0] not in {"cdk8s", "cdk8s_plus_27"}, name


def test_escape_hatches_live_in_one_private_module():
    users = [
        p.name
        for p in py_files("k8s")
        if "add_json_patch" in p.read_text() or "ApiObject(" in p.read_text()
    ]
    # _k8s.py stands in for the bindings' object kinds (an ApiObject whose props are JSON
    # patches); it emits what the bindings emit (tests/k8s/test_json_render.py)
    assert users == ["_escape_hatches.py", "_k8s.py"]


def loaded_modules(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print('\\n'.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    return set(out.split())


def test_importing_the_cluster_layer_does_not_load_cdktf():
    mods = loaded_modules("import vllm_nfs_constructs, vllm_nfs_constructs.k8s")
    assert "cdk8s" in mods
    assert not {m for m in mods if m.startswith(("cdktf", "vllm_nfs_constructs.infra"))}


#: Where ``contracts`` lives (beside the programs) and its re-export at the package root.
CONTRACTS = PKG / "runtime" / "contracts.py"


def test_contracts_import_only_the_standard_library():
    names = imports_of(CONTRACTS)
    assert names, "contracts.py imports nothing?"
    for name in names:
        assert not name.startswith("."), f"contracts.py imports {name}"
        top = name.split(".")[0]
        assert top == "__future__" or top in sys.stdlib_module_names, name


def test_the_package_root_contracts_is_the_runtime_one():
    assert imports_of(PKG / "contracts.py") == {
        ".runtime.contracts",
        ".runtime.contracts.*",
        ".runtime.contracts.__all__",
    }
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import vllm_nfs_constructs.contracts as a, vllm_nfs_constructs.runtime.contracts as b;"
            "print(all(getattr(a, n) is getattr(b, n) for n in b.__all__), sorted(b.__all__) == "
            "sorted(n for n in vars(b) if not n.startswith('_') and n not in "
            "('annotations', 'dataclass')))",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert out.split() == ["True", "True"]


@pytest.mark.parametrize("path", py_files("runtime"), ids=lambda p: p.name)
def test_programs_import_the_standard_library_and_contracts_only(path):
    allowed = {"__future__", "contracts", *sys.stdlib_module_names}
    if path.name == "fetch.py":
        allowed.add("huggingface_hub")  # shipped in the download image
    for name in imports_of(path):
        if name.startswith("."):
            assert name in {".", ".contracts"}, f"{path.name} imports {name}"
        else:
            assert name.split(".")[0] in allowed, f"{path.name} imports {name}"


def test_runtime_programs_run_on_a_bare_interpreter():
    for name in ("gate.py", "drain.py", "tuner.py", "publish.py"):
        proc = subprocess.run(
            [sys.executable, "-I", "-S", str(PKG / "runtime" / name), "--help"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        assert "usage" in proc.stdout.lower()


#: The value modules both layers share: plain Python, no jsii, neither layer (every module of
#: ``values/`` and ``planning/``, plus the root's ``errors`` and ``contracts``).
SHARED_VALUE_MODULES = (
    "contracts.py",
    "errors.py",
    *(str(p.relative_to(PKG)) for p in py_files("values")),
    *(str(p.relative_to(PKG)) for p in py_files("planning")),
)


def import_time_imports_of(path: Path) -> set[str]:
    """The imports that run when the module is imported: module level, outside functions and
    ``if TYPE_CHECKING:`` blocks (a method may import a layer lazily, as
    ``PlatformDefaults.apply`` does)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    todo: list[ast.stmt] = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo += node.orelse
        elif isinstance(node, (ast.If, ast.Try)):
            todo += [
                *node.body,
                *node.orelse,
                *getattr(node, "handlers", ()),
                *getattr(node, "finalbody", ()),
            ]
        elif isinstance(node, ast.ExceptHandler):
            todo += node.body
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
    return found


@pytest.mark.parametrize("name", SHARED_VALUE_MODULES)
def test_shared_value_modules_import_no_jsii_package_and_no_layer(name):
    path = PKG / name
    for imported in import_time_imports_of(path):
        top = imported.lstrip(".").split(".")[0]
        assert top not in JSII_PACKAGES, f"{name} imports {imported}"
        parts = imported.lstrip(".").split(".")
        assert not {"k8s", "infra", "cli"} & set(parts), f"{name} imports {imported}"


#: The package root holds only the public face, the errors, the contracts and the Node.js
#: bootstrap (issue #18, point 6); every other module lives in a folder named for its role.
ROOT_MODULES = {"__init__.py", "errors.py", "contracts.py", "_node.py"}


def test_the_package_root_keeps_only_the_public_face():
    assert {p.name for p in PKG.glob("*.py")} == ROOT_MODULES
    assert {p.name for p in PKG.iterdir() if p.is_dir() and p.name != "__pycache__"} == {
        "values",
        "planning",
        "k8s",
        "infra",
        "runtime",
        "cli",
        "schemas",
    }


#: Every 0.1.0 and 0.2.0 module path, and the module it is now.
OLD_PATHS = {
    "model": "values.model",
    "gpus": "values.gpus",
    "taints": "values.taints",
    "images": "values.images",
    "handoff": "values.handoff",
    "autoscaling": "values.autoscaling",
    "lora": "values.lora",
    "routing": "values.routing",
    "platform": "values.platform",
    "pools": "values.pools",
    "_checks": "values._checks",
    "loading": "planning.loading",
    "planner": "planning.planner",
    "validate": "cli.validate",
    "_plan_cli": "cli.plan",
    "cli": "cli",
}


def test_old_module_paths_import_the_moved_modules_themselves():
    code = (
        "import importlib\n"
        f"pairs = {sorted(OLD_PATHS.items())!r}\n"
        "for old, new in pairs:\n"
        "    a = importlib.import_module('vllm_nfs_constructs.' + old)\n"
        "    b = importlib.import_module('vllm_nfs_constructs.' + new)\n"
        "    assert a is b, (old, new)\n"
        "    assert b.__spec__.name == 'vllm_nfs_constructs.' + new, b.__spec__.name\n"
        "from vllm_nfs_constructs.model import ModelSource, InfraOutputs\n"
        "from vllm_nfs_constructs.loading import WeightLoading\n"
        "from vllm_nfs_constructs import validate, planner\n"
        "assert validate.validate_paths and planner.plan_cold_start\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "ok", out.stderr


def test_importing_the_value_types_loads_no_jsii():
    mods = loaded_modules(
        "import vllm_nfs_constructs.model, vllm_nfs_constructs.loading, "
        "vllm_nfs_constructs.planner, vllm_nfs_constructs.lora, vllm_nfs_constructs.autoscaling"
    )
    assert not {m.split(".")[0] for m in mods} & JSII_PACKAGES - {"jsii"}


# -- the layer order, imports inside functions included --------------------------------------------

#: values < planning < k8s | infra < cli (docs/architecture.md): each layer imports only layers
#: below it; the root's errors, contracts and _node are below every layer.
LAYER_RANK = {"values": 0, "planning": 1, "k8s": 2, "infra": 2, "cli": 3}


def _layer_of_module(parts: list[str]) -> str | None:
    """The layer of ``vllm_nfs_constructs.<parts>`` (None for the root's shared modules)."""
    return parts[0] if parts and parts[0] in LAYER_RANK else None


def _absolute_imports(path: Path) -> list[tuple[int, list[str]]]:
    """(line, module path inside the package) of every import of the package, at any depth."""
    return _imports_in(path.read_text(), list(path.relative_to(PKG).parts)[:-1])


def _imports_in(source: str, pkg_parts: list[str]) -> list[tuple[int, list[str]]]:
    """Imports of the package in `source`, a module in the package folder `pkg_parts`; ast.walk
    visits every node, so imports inside functions and methods count too."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg_parts[: len(pkg_parts) - (node.level - 1)]
                mod = base + (node.module.split(".") if node.module else [])
                targets = [[*mod, a.name] for a in node.names] if not node.module else [mod]
            elif node.module and node.module.startswith("vllm_nfs_constructs"):
                mod = node.module.split(".")[1:]
                targets = [[*mod, a.name] for a in node.names] if not mod else [mod]
            else:
                continue
            found += [(node.lineno, t) for t in targets]
        elif isinstance(node, ast.Import):
            found += [
                (node.lineno, a.name.split(".")[1:])
                for a in node.names
                if a.name.startswith("vllm_nfs_constructs.")
            ]
    return found


@pytest.mark.parametrize(
    "path",
    [p for layer in LAYER_RANK for p in py_files(layer)],
    ids=lambda p: str(p.relative_to(PKG)),
)
def test_no_layer_imports_a_layer_above_or_beside_it(path):
    own = path.relative_to(PKG).parts[0]
    bad = []
    for line, target in _absolute_imports(path):
        layer = _layer_of_module(target)
        if layer is None or layer == own:
            continue
        if LAYER_RANK[layer] >= LAYER_RANK[own]:
            bad.append(f"line {line}: {'.'.join(target)}")
    assert not bad, f"{path.relative_to(PKG)} ({own}) imports upward or sideways: {bad}"


def test_the_layer_check_sees_imports_inside_functions():
    """The check can fail: an import of cli inside a method of a values module is found."""
    source = (
        "class A:\n    def f(self):\n        from ..cli import validate\n        return validate\n"
    )
    (line, target), *_ = _imports_in(source, ["values"])
    assert line == 3 and target == ["cli"]
    assert LAYER_RANK[_layer_of_module(target) or ""] > LAYER_RANK["values"]


#: The value types that lived in the cluster layer until 0.3.0 (issue #29): module -> names.
VALUE_TYPES = {
    "values.options": ("VllmOptions", "AntiAffinity"),
    "values.mount": ("NfsMountOptions",),
    "values.monitoring": ("PrometheusStack", "AlertThresholds"),
    "values.secrets": ("SecretKeyRef",),
    "values.weight_loading": ("WeightLoading",),
}


def test_the_value_types_import_without_cdk8s():
    mods = loaded_modules(
        "import vllm_nfs_constructs.values.options, vllm_nfs_constructs.values.mount, "
        "vllm_nfs_constructs.values.monitoring, vllm_nfs_constructs.values.secrets\n"
        "from vllm_nfs_constructs import VllmOptions, NfsMountOptions, PrometheusStack, "
        "AlertThresholds, SecretKeyRef, AntiAffinity\n"
        "VllmOptions(extra_args=['--enable-prefix-caching'], quantization='fp8')"
    )
    assert "vllm_nfs_constructs.values.options" in mods
    assert not {m.split(".")[0] for m in mods} & JSII_PACKAGES
    assert not {m for m in mods if m.startswith("vllm_nfs_constructs.k8s")}


def test_the_old_paths_of_the_value_types_are_the_same_objects():
    code = (
        "import importlib\n"
        "import vllm_nfs_constructs as root, vllm_nfs_constructs.k8s as k8s\n"
        f"moved = {sorted(VALUE_TYPES.items())!r}\n"
        "old = {'VllmOptions': 'k8s.options', 'AntiAffinity': 'k8s.vllm',\n"
        "       'NfsMountOptions': 'k8s.volume', 'PrometheusStack': 'k8s.monitoring',\n"
        "       'AlertThresholds': 'k8s.monitoring', 'SecretKeyRef': 'k8s.download',\n"
        "       'WeightLoading': 'planning.loading'}\n"
        "for new, names in moved:\n"
        "    mod = importlib.import_module('vllm_nfs_constructs.' + new)\n"
        "    for name in names:\n"
        "        obj = getattr(mod, name)\n"
        "        assert obj.__module__ == mod.__name__, (name, obj.__module__)\n"
        "        was = importlib.import_module('vllm_nfs_constructs.' + old[name])\n"
        "        assert getattr(was, name) is obj and getattr(root, name) is obj, name\n"
        "        assert name == 'WeightLoading' or getattr(k8s, name) is obj, name\n"
        "from vllm_nfs_constructs.k8s import vllm_flags\n"
        "import vllm_nfs_constructs.values.vllm_flags as moved_flags\n"
        "assert vllm_flags is moved_flags\n"
        "assert type(root.PrometheusStack().peer) is k8s.NetworkPeer\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "ok", out.stderr

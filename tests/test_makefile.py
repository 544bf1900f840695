"""`make help`, the closing hint of `make synth` and the README name the same commands, and every
`make <target>` the README and the docs mention exists and is listed by `make help`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import cache

import pytest

from tests import _promtool
from tests.conftest import ROOT

MAKE_TARGET = re.compile(r"(?<![\w-])make ([a-z][\w-]*)")
CONSOLE = re.compile(r"^```console\n(.*?)^```", re.S | re.M)


def make(*args: str) -> str:
    proc = subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return proc.stdout


@cache
def help_targets() -> list[str]:
    return [line.split()[1] for line in make("help").splitlines() if line.startswith("make ")]


@cache
def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    phony = re.search(r"^\.PHONY:(.*)$", text, re.M)
    assert phony, "the Makefile declares its targets .PHONY"
    declared = set(phony.group(1).split())
    defined = set(re.findall(r"^([a-z][\w-]*):", text, re.M))
    assert declared == defined, f"phony xor defined: {declared ^ defined}"
    return defined


def synth_hint() -> list[str]:
    """The commands `make synth` prints after "Next", from its recipe (nothing is run)."""
    echoed = [
        m.group(1).replace('\\"', '"')
        for m in re.finditer(r'^echo "(.*)"$', make("-n", "synth"), re.M)
    ]
    start = next(i for i, line in enumerate(echoed) if line.startswith("Next"))
    return [line.strip() for line in echoed[start + 1 :] if line.startswith("  ")]


def section(text: str, heading: str) -> str:
    start = text.index(f"\n## {heading}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def commands(block: str) -> list[str]:
    """Console lines without prompts and trailing `# comments`."""
    return [
        re.sub(r"\s+# .*$", "", line.removeprefix("$ ")).strip()
        for line in block.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_make_help_lists_every_target_once():
    listed = help_targets()
    assert len(listed) == len(set(listed)), listed
    assert set(listed) == makefile_targets() - {"help"}


def test_the_synth_hint_is_the_readme_walkthrough_in_order():
    hint = synth_hint()
    assert hint, "make synth prints the next commands"
    readme = (ROOT / "README.md").read_text()
    walkthrough = section(readme, "Provision the cloud, then deploy the cluster layer")
    blocks = CONSOLE.findall(walkthrough)
    assert blocks, "the walkthrough is a console block"
    steps = commands(blocks[0])
    positions = []
    for command in hint:
        assert command in steps, f"`make synth` suggests {command!r}, the README does not"
        positions.append(steps.index(command))
    assert positions == sorted(positions), "the hint and the README give the steps in one order"


def test_the_hint_and_readme_hand_outputs_to_the_cluster_layer_the_same_way():
    hint = synth_hint()
    readme = (ROOT / "README.md").read_text()
    handoff = [c for c in hint if "VLLM_NFS_INFRA_OUTPUTS" in c]
    assert handoff == ["VLLM_NFS_INFRA_OUTPUTS=outputs.json make synth-cluster"]
    assert set(re.findall(r"VLLM_NFS_INFRA_OUTPUTS=outputs\.json make ([\w-]+)", readme)) == {
        "synth-cluster"
    }


def test_every_make_target_in_the_readme_and_docs_exists_and_is_in_help():
    listed = set(help_targets())
    found: dict[str, set[str]] = {}
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = path.read_text()
        # `make X` in code (backticks or console blocks), not prose such as "that make it safe".
        spans = re.findall(r"`([^`\n]+)`", text) + CONSOLE.findall(text)
        for span in spans:
            for target in MAKE_TARGET.findall(span):
                found.setdefault(target, set()).add(str(path.relative_to(ROOT)))
    assert {"synth", "synth-cluster", "test", "test-fast", "docs"} <= set(found)
    unknown = {t: sorted(p) for t, p in found.items() if t not in listed | {"help"}}
    assert not unknown, f"`make <target>` named in the docs but not in `make help`: {unknown}"


def test_test_fast_runs_the_linters_and_the_quick_tests():
    recipe = make("-n", "test-fast")
    for tool in ("ruff check", "ruff format --check", "mypy", "pytest"):
        assert tool in recipe, tool
    assert '-m "not slow and not netns and not cluster"' in recipe and " -x" in recipe


def test_cdk8s_update_check_is_off_for_everything_make_runs():
    text = (ROOT / "Makefile").read_text()
    assert re.search(r"^export CDK8S_CHECK_UPGRADE := false$", text, re.M)
    assert "CDK8S_CHECK_UPGRADE=false" in (ROOT / "README.md").read_text()


# promtool: only the targets that run the PromQL tests install it (apt-get needs root and Debian).
NEEDS_PROMTOOL = ("unit", "test", "test-fast")
NO_PROMTOOL = ("synth", "synth-cluster", "synth-infra", "docs", "dist", "setup", "lint")


@pytest.mark.parametrize("target", NO_PROMTOOL)
def test_synth_docs_and_dist_need_neither_root_nor_apt(target):
    recipe = make("-n", target)
    assert "apt-get" not in recipe and "promtool" not in recipe, recipe


@pytest.mark.parametrize("target", NEEDS_PROMTOOL)
def test_the_targets_that_run_the_promtool_tests_install_it(target):
    recipe = make("-n", target)
    assert "command -v promtool" in recipe and "apt-get install" in recipe, recipe
    assert recipe.index("apt-get install") < recipe.index("pytest"), "installed before pytest runs"


def test_make_promtool_without_apt_says_how_to_install_it(tmp_path):
    """No promtool and no apt-get (macOS, a non-root user): fail, naming both ways to get it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "id").symlink_to(shutil.which("id") or "/usr/bin/id")
    make_bin = shutil.which("make") or "make"
    proc = subprocess.run(
        [make_bin, "--no-print-directory", "promtool"],
        cwd=ROOT,
        env={**os.environ, "PATH": str(bin_dir)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode != 0, proc.stdout
    assert "make test" in proc.stderr and "apt-get install prometheus" in proc.stderr, proc.stderr


def test_the_promtool_tests_fail_rather_than_skip_when_it_is_missing(monkeypatch):
    monkeypatch.setattr(_promtool.shutil, "which", lambda _name: None)
    with pytest.raises(pytest.fail.Exception) as failed:
        _promtool.promtool_path()
    assert "`make test` as root" in str(failed.value)
    assert "`apt-get install prometheus`" in str(failed.value)


def test_every_test_that_runs_promtool_finds_it_through_the_helper():
    users = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "tests").rglob("test_*.py")
        if path.name != "test_makefile.py"
        and re.search(r"\[promtool\b|\bpromtool\(|promtool_path\(", path.read_text())
    }
    assert {
        "tests/test_autoscaling_promql.py",
        "tests/k8s/test_alerts_promtool.py",
        "tests/runtime/test_tuner.py",
    } <= users
    for rel in users:
        text = (ROOT / rel).read_text()
        assert "promtool_path()" in text, rel
        assert 'which("promtool")' not in text, f"{rel}: use promtool_path()"
        assert not re.search(r"skip\w*\(.*promtool", text, re.I), f"{rel}: skips without promtool"


def test_unit_builds_the_control_plane_and_runs_every_test_on_two_workers():
    recipe = make("-n", "unit")
    assert "go build" in recipe and "k8s.io/kubernetes/cmd/kube-apiserver" in recipe
    assert "pytest -n 2 --dist loadgroup" in recipe
    assert " -m " not in recipe.split("pytest", 1)[1]  # nothing left out


def test_cluster_down_stops_what_cluster_up_started():
    recipe = make("-n", "cluster-down")
    assert "tests/cluster/controlplane.py down --dir build/cluster" in recipe

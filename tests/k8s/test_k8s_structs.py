"""The table behind ``k8s/_k8s.py`` is the installed cdk8s-plus-27 bindings' own
(``tools/k8s_structs.py`` reads it from them), and the library builds its objects without
loading those bindings."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import vllm_nfs_constructs
from vllm_nfs_constructs.k8s import _k8s

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("k8s_structs", ROOT / "tools" / "k8s_structs.py")
assert spec and spec.loader
tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tool)


def test_the_table_and_the_stub_are_what_the_installed_bindings_give() -> None:
    table = tool.build_table()
    assert tool.OUT.read_text() == tool.render(table), "run: python tools/k8s_structs.py"
    assert tool.STUB.read_text() == tool.stub(table), "run: python tools/k8s_structs.py"
    assert table["source"].startswith("cdk8s-plus-27 2.9.5 ")
    assert len(table["structs"]) > 100 and len(table["kinds"]) == len(tool.KINDS)


def test_structs_take_the_bindings_keywords_and_read_them_back() -> None:
    from cdk8s_plus_27 import k8s

    ours = _k8s.Volume(name="v", empty_dir={"medium": "Memory"})
    theirs = k8s.Volume(name="v", empty_dir={"medium": "Memory"})
    assert ours.name == theirs.name == "v"
    assert ours.empty_dir.medium == theirs.empty_dir.medium == "Memory"
    assert ours.host_path is None and theirs.host_path is None
    assert ours == _k8s.Volume(name="v", empty_dir=_k8s.EmptyDirVolumeSource(medium="Memory"))
    # the same struct whichever side is the library's (the bindings' own == knows only its own)
    assert ours == theirs
    assert (ours != theirs) is False
    assert _k8s.same(theirs, ours) and not _k8s.same(theirs, _k8s.Volume(name="w"))
    assert _k8s.bindings(ours) == theirs
    with pytest.raises(TypeError, match="unexpected keyword argument 'nmae'"):
        _k8s.Volume(name="v", nmae="v")  # type: ignore[call-arg]
    # required as the binding requires it, in its words
    for make in (_k8s.Volume, k8s.Volume):
        with pytest.raises(TypeError, match="missing 1 required keyword-only argument: 'name'"):
            make(empty_dir={})  # type: ignore[call-arg]
    with pytest.raises(AttributeError):
        _ = ours.not_a_field


def test_the_default_app_loads_neither_the_bindings_nor_their_assembly(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from vllm_nfs_constructs.cli import synth_cluster_main\n"
        f"assert synth_cluster_main(['--outdir', {str(tmp_path)!r}]) == 0\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('cdk8s_plus'))\n"
        "assert not loaded, loaded\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "vllm.k8s.yaml").is_file()
    assert Path(vllm_nfs_constructs.__file__).is_file()

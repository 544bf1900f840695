"""The default app's output against 0.2.0's (issue #18: "diff it against 0.2.0's; any difference
is a bug or goes in the CHANGELOG with its reason").

``tests/data/compat-0.2.0/default-app-0.2.0.json`` is ``apps/cluster.py``'s output at 0.2.0
(commit d60f0a8), the programs ConfigMaps' sources replaced by a placeholder. Every difference
from it must be one of ``EXPECTED`` below, each named in CHANGELOG.md's 0.3.0 section, and
every renamed object one of ``RENAMED`` (CHANGELOG.md's 0.4.0 section).
"""

from __future__ import annotations

import json
import re
from typing import Any

from vllm_nfs_constructs.cli import synth_cluster
from vllm_nfs_constructs.handoff import InfraOutputs

from .conftest import DATA

Key = tuple[str, str, str]

#: (object, path) -> why it differs from 0.2.0 (CHANGELOG 0.3.0).
EXPECTED: dict[tuple[Key, str], str] = {
    (("ConfigMap", "vllm", "vllm-nfs-programs"), "/data"): "contracts.py and warm.py shipped",
    (("ConfigMap", "vllm-network-tuner", "vllm-nfs-tuner-program"), "/data"): "contracts.py",
    (
        ("DaemonSet", "vllm-network-tuner", "network-tuner"),
        "/metadata/annotations/vllm-nfs-constructs/privileged",
    ): "validate's mark of deliberate host access (#21)",
    (
        ("DaemonSet", "vllm-network-tuner", "network-tuner"),
        "/spec/template/metadata/annotations/vllm-nfs-constructs/programs-sha256",
    ): "the programs changed",
    (
        ("Deployment", "vllm", "qwen"),
        "/spec/template/metadata/annotations/vllm-nfs-constructs/programs-sha256",
    ): "the programs changed",
    (
        ("Deployment", "vllm", "qwen"),
        "/spec/template/spec/initContainers",
    ): "the gate on the small image and the warm-up sidecar (#20)",
    (
        ("Job", "vllm", "qwen-download-qwen2-5-0-5b-instruct-7ae557604adf"),
        "/spec/template/metadata/annotations/vllm-nfs-constructs/programs-sha256",
    ): "the programs changed",
}
#: Objects 0.4.0 emits under another name, and why (CHANGELOG 0.4.0): the new name is the old
#: one and ``-<8 hex>``. The test compares them field for field under the old name (the download
#: alert's ``job_name`` included).
RENAMED: dict[Key, str] = {
    ("Job", "vllm", "qwen-download-qwen2-5-0-5b-instruct-7ae557604adf"): (
        "a Job's name ends with a hash of what the API server refuses to change in it, so "
        "re-applying a changed Job makes a new Job instead of failing on 'field is immutable' "
        "(#28)"
    ),
}
PROGRAM_MAPS = ("vllm-nfs-programs", "vllm-nfs-tuner-program")
#: Objects 0.3.0 adds to the default app.
ADDED = {
    ("DaemonSet", "vllm", "image-prepull"): "the image pre-puller (#20)",
    ("NetworkPolicy", "vllm", "image-prepull"): "its pods need no network: none allowed",
}


def _key(obj: dict[str, Any]) -> Key:
    meta = obj["metadata"]
    return (obj["kind"], meta.get("namespace", ""), meta["name"])


def _under_old_names(new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``new`` with each object of RENAMED under its 0.2.0 name, wherever the name occurs."""
    text = json.dumps(new)
    renamed = 0
    for obj in new:
        key = _key(obj)
        match = re.fullmatch(r"(.+)-[0-9a-f]{8}", key[2])
        if match and (key[0], key[1], match[1]) in RENAMED:
            text = text.replace(key[2], match[1])
            renamed += 1
    assert renamed == len(RENAMED), "an object of RENAMED is missing or kept its name"
    out: list[dict[str, Any]] = json.loads(text)
    return out


def _diff(old: Any, new: Any, path: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for k in sorted(set(old) | set(new)):
            if k not in old or k not in new:
                out.append(f"{path}/{k}")
            else:
                out += _diff(old[k], new[k], f"{path}/{k}")
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [p for a, b in zip(old, new, strict=True) for p in _diff(a, b, path)]
    return [] if old == new else [path]


def test_the_default_app_differs_from_0_2_0_only_as_the_changelog_says(tmp_path):
    import yaml

    old = json.loads((DATA / "compat-0.2.0" / "default-app-0.2.0.json").read_text())
    synth_cluster(str(tmp_path), InfraOutputs.example())
    new = _under_old_names(list(yaml.safe_load_all((tmp_path / "vllm.k8s.yaml").read_text())))
    for obj in new:
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] in PROGRAM_MAPS:
            obj["data"] = {k: "<program source>" for k in obj["data"]}
    before = {_key(o): o for o in old}
    after = {_key(o): o for o in new}
    assert not set(before) - set(after), "objects 0.2.0 made are gone"
    assert set(after) - set(before) == set(ADDED)
    found = {(k, p) for k in before for p in _diff(before[k], after[k])}
    # Program ConfigMaps: the same keys as 0.2.0 plus the new files.
    programs = {(k, p) for (k, p) in found if k[0] == "ConfigMap"}
    for k, p in programs:
        assert p.startswith("/data/"), (k, p)
    found = (found - programs) | {(k, "/data") for (k, _) in programs}
    assert found == set(EXPECTED), sorted(found ^ set(EXPECTED))
    # Object order is 0.2.0's too (the new object aside).
    assert [k for k in after if k in before] == list(before)

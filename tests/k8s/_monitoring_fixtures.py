"""A chart with two models, a download Job and the tuner, monitored; and PromQL helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import cdk8s

from tests.k8s._fixtures import volume
from vllm_nfs_constructs import (
    ModelDownloadJob,
    ModelSource,
    NetworkTunerDaemonSet,
    VllmDeployment,
    VllmMonitoring,
)

NAMESPACE = "vllm"
LLAMA = ModelSource(
    "meta-llama/Llama-3.1-8B-Instruct", "0e9e39f249a16976918f6564b8830bc894c89659", size_gib=16
)


@dataclass
class Monitored:
    chart: cdk8s.Chart
    monitoring: VllmMonitoring | None
    qwen: VllmDeployment
    llama: VllmDeployment
    job: ModelDownloadJob
    tuner: NetworkTunerDaemonSet
    objects: list[dict[str, Any]]


def build(*, monitoring: bool = True, **kwargs: Any) -> Monitored:
    app = cdk8s.App()
    chart = cdk8s.Chart(app, "x", namespace=NAMESPACE)
    vol = volume(chart)
    qwen = VllmDeployment(chart, "qwen", volume=vol, gpu_node_pool="gpu")
    llama = VllmDeployment(chart, "llama", volume=vol, gpu_node_pool="gpu", model=LLAMA)
    job = ModelDownloadJob(chart, "qwen-download", volume=vol)
    tuner = NetworkTunerDaemonSet(chart, "tuner")
    mon = None
    if monitoring:
        mon = VllmMonitoring(chart, "monitoring", **kwargs)
        mon.add_model(qwen)
        mon.add_model(llama)
        mon.add_download_job(job)
        mon.add_tuner(tuner)
    objects = [dict(o) for o in cdk8s.Testing.synth(chart)]
    return Monitored(chart, mon, qwen, llama, job, tuner, objects)


# --- metric names ----------------------------------------------------------------------------


def _rows(name: str) -> list[str]:
    data = resources.files("vllm_nfs_constructs.k8s").joinpath("data", "metrics", name)
    return [
        line
        for line in data.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]


def known_metrics() -> dict[str, str]:
    """Every series name the packaged lists say an exporter exposes -> its source."""
    names: dict[str, str] = {}
    for row in _rows("metrics-v0.33.0.tsv")[1:]:  # header row
        for series in row.split("\t")[2].split():
            names[series] = "vLLM 0.33.0"
    for row in _rows("kube-state-metrics.tsv"):
        names[row.split("\t")[0]] = "kube-state-metrics"
    for row in _rows("node-exporter.tsv"):
        names[row.split("\t")[0]] = "node-exporter"
    for row in _rows("dcgm-exporter-default-counters.csv"):
        names[row.split(",")[0].strip()] = "dcgm-exporter"
    return names


_KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
    "and",
    "or",
    "unless",
    "inf",
    "nan",
}


def metric_names(expr: str) -> set[str]:
    """The series names a PromQL expression selects (functions, keywords, label names and
    values, durations and numbers left out)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\{[^{}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges, subqueries
    text = re.sub(
        r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text
    )  # label lists
    found = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        word = match.group(0)
        rest = text[match.end() :].lstrip()
        if rest.startswith("("):  # a function
            continue
        if word.lower() in _KEYWORDS:
            continue
        found.add(word)
    return found

"""The Grafana dashboard: defined here once, generated into package data at build time.

``PANELS`` is the definition (plain data: rows, panels, PromQL); ``build()`` turns it into a
dashboard with grafana-foundation-sdk (a dev dependency, Python >= 3.11), and

    python -m vllm_nfs_constructs.k8s._dashboard            # rewrite the package data file
    python -m vllm_nfs_constructs.k8s._dashboard --check    # compare only (exit 1 if stale)
    python -m vllm_nfs_constructs.k8s._dashboard --output PATH

rewrites ``data/dashboards/vllm-nfs-constructs.json`` (``--help`` writes nothing).
``VllmMonitoring`` ships that file in a ConfigMap; a test checks the committed file equals what
``build()`` generates, so the JSON is never edited by hand and the library needs no dashboard
package at run time.

Queries read the shared recording rules (``namespace_model:*``) where one exists; the variables
``$namespace`` and ``$model`` filter them (``model`` is the VllmDeployment's name).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import _rules as r

TITLE = "vLLM on NFS"
UID = "vllm-nfs-constructs"
OUTPUT = Path(__file__).parent / "data" / "dashboards" / "vllm-nfs-constructs.json"

_M = '{namespace=~"$namespace",model=~"$model"}'
_D = '{namespace=~"$namespace",deployment=~"$model"}'
_P = f'{{namespace=~"$namespace",pod=~"($model){r.POD_SUFFIX}"}}'
_BY = "{{namespace}}/{{model}}"


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""
    instant: bool = False


@dataclass(frozen=True)
class PanelDef:
    title: str
    unit: str
    queries: tuple[Query, ...]
    description: str = ""
    kind: str = "timeseries"  # or "table"
    width: int = 8


def _quantiles(histogram: str) -> tuple[Query, ...]:
    return tuple(
        Query(f"{r.quantile_record(histogram, q)}{_M}", f"{_BY} p{q}") for q in r.QUANTILES
    )


#: (row title, panels) in order.
PANELS: tuple[tuple[str, tuple[PanelDef, ...]], ...] = (
    (
        "Traffic and latency per model",
        (
            PanelDef(
                "Requests / s",
                "reqps",
                (
                    Query(f"{r.REQUEST_RATE}{_M}", f"{_BY} finished"),
                    Query(f"{r.ERROR_RATE}{_M}", f"{_BY} errors"),
                ),
                "Finished requests per second (vllm:request_success_total), and those that ended "
                "with finished_reason=error.",
            ),
            PanelDef(
                "Time to first token",
                "s",
                _quantiles("time_to_first_token_seconds"),
                "p50/p95/p99 over 5 minutes (the alert's SLO is on p99).",
            ),
            PanelDef(
                "Inter-token latency",
                "s",
                _quantiles("inter_token_latency_seconds"),
                "p50/p95/p99 over 5 minutes.",
            ),
            PanelDef(
                "End-to-end request latency",
                "s",
                _quantiles("e2e_request_latency_seconds"),
                "p50/p95/p99 over 5 minutes.",
            ),
            PanelDef(
                "Running vs waiting requests",
                "short",
                (
                    Query(f"{r.RUNNING}{_M}", f"{_BY} running"),
                    Query(f"{r.WAITING}{_M}", f"{_BY} waiting"),
                ),
                "All replicas of a model together; the autoscaler scales on the waiting requests.",
            ),
            PanelDef(
                "Tokens / s",
                "short",
                (
                    Query(f"{r.PROMPT_TOKENS_RATE}{_M}", f"{_BY} prompt"),
                    Query(f"{r.GENERATION_TOKENS_RATE}{_M}", f"{_BY} generated"),
                ),
            ),
        ),
    ),
    (
        "Engine",
        (
            PanelDef(
                "KV cache usage",
                "percentunit",
                (
                    Query(f"{r.KV_USAGE}{_M}", f"{_BY} mean of pods"),
                    Query(f"{r.KV_USAGE_MAX}{_M}", f"{_BY} fullest pod"),
                ),
            ),
            PanelDef(
                "Prefix cache hit rate",
                "percentunit",
                (Query(f"{r.PREFIX_CACHE_HIT_RATIO}{_M}", _BY),),
                "Prefix-cache hits per query (vllm:prefix_cache_hits_total / _queries_total).",
            ),
            PanelDef(
                "Preemptions / s",
                "short",
                (Query(f"{r.PREEMPTION_RATE}{_M}", _BY),),
                "Requests preempted because the KV cache ran out.",
            ),
            PanelDef(
                "LoRA adapters in use",
                "short",
                (
                    Query(
                        "max by (namespace, model, pod, running_lora_adapters, "
                        f"waiting_lora_adapters, max_lora) (vllm:lora_requests_info{_M})",
                        instant=True,
                    ),
                ),
                "vllm:lora_requests_info: the adapters running and waiting per pod (empty "
                "without --enable-lora).",
                kind="table",
                width=24,
            ),
        ),
    ),
    (
        "Replicas and model loading",
        (
            PanelDef(
                "Ready vs desired replicas",
                "short",
                (
                    Query(
                        "max by (namespace, deployment) "
                        f"(kube_deployment_status_replicas_ready{_D})",
                        "{{namespace}}/{{deployment}} ready",
                    ),
                    Query(
                        f"max by (namespace, deployment) (kube_deployment_spec_replicas{_D})",
                        "{{namespace}}/{{deployment}} desired",
                    ),
                ),
                width=12,
            ),
            PanelDef(
                "Model load time per pod (start to Ready)",
                "s",
                (
                    Query(
                        "max by (namespace, pod) "
                        f"(kube_pod_status_ready_time{_P} - kube_pod_start_time{_P})",
                        "{{namespace}}/{{pod}}",
                    ),
                ),
                "From kube-state-metrics (vLLM 0.33 has no load-time metric): includes the time "
                "the model gate waited for the download.",
                width=12,
            ),
        ),
    ),
    (
        "GPU nodes",
        (
            PanelDef(
                "GPU utilisation",
                "percent",
                (
                    Query(
                        "avg by (Hostname, gpu) (DCGM_FI_DEV_GPU_UTIL)", "{{Hostname}} GPU {{gpu}}"
                    ),
                ),
                "DCGM exporter (DOKS installs it on GPU nodes).",
            ),
            PanelDef(
                "GPU memory used",
                "percentunit",
                (
                    Query(
                        "sum by (Hostname, gpu) (DCGM_FI_DEV_FB_USED) / sum by (Hostname, gpu) "
                        "(DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)",
                        "{{Hostname}} GPU {{gpu}}",
                    ),
                ),
            ),
            PanelDef(
                "NFS read throughput",
                "Bps",
                (
                    Query(
                        "sum by (instance) "
                        "(rate(node_mountstats_nfs_total_read_bytes_total[$__rate_interval]))",
                        "{{instance}} NFS reads",
                    ),
                    Query(
                        "sum by (instance) "
                        '(rate(node_network_receive_bytes_total{device="eth1"}[$__rate_interval]))',
                        "{{instance}} eth1 received (all VPC traffic)",
                    ),
                ),
                "NFS bytes read need node-exporter's mountstats collector (off by default: "
                "--collector.mountstats); eth1 is the VPC interface, NFS included.",
            ),
            PanelDef(
                "Network tuner state",
                "short",
                (
                    Query("max by (node) (vllm_nfs_tuner_tuned)", "{{node}} tuned"),
                    Query("max by (node) (vllm_nfs_tuner_taint_present)", "{{node}} taint present"),
                ),
                "1 = tuned and verified; the taint is lifted only after that.",
            ),
            PanelDef(
                "Tuned interface MTU",
                "bytes",
                (
                    Query(
                        "max by (node, interface) (vllm_nfs_tuner_interface_mtu)",
                        "{{node}} {{interface}}",
                    ),
                ),
            ),
            PanelDef(
                "Tuner corrections and errors (1 h)",
                "short",
                (
                    Query(
                        "sum by (node) (increase(vllm_nfs_tuner_drift_corrections_total[1h]))",
                        "{{node}} drift corrections",
                    ),
                    Query(
                        "sum by (node, reason) (increase(vllm_nfs_tuner_api_errors_total[1h]))",
                        "{{node}} API errors ({{reason}})",
                    ),
                    Query(
                        "max by (node) (vllm_nfs_tuner_seconds_to_untaint)",
                        "{{node}} seconds to untaint",
                    ),
                ),
            ),
        ),
    ),
)

#: Template variables: name -> label_values() query.
VARIABLES = {
    "namespace": f"label_values({r.RUNNING}, namespace)",
    "model": f'label_values({r.RUNNING}{{namespace=~"$namespace"}}, model)',
}


def queries() -> list[str]:
    """Every PromQL expression of the dashboard's panels."""
    return [q.expr for _, panels in PANELS for p in panels for q in p.queries]


def build() -> dict[str, Any]:
    """The dashboard JSON model (needs grafana-foundation-sdk)."""
    from grafana_foundation_sdk.builders import dashboard as gd
    from grafana_foundation_sdk.builders import prometheus as gp
    from grafana_foundation_sdk.builders import table as gt
    from grafana_foundation_sdk.builders import timeseries as gts
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models import dashboard as md
    from grafana_foundation_sdk.models import prometheus as mp

    ds = md.DataSourceRef(type_val="prometheus", uid="${datasource}")
    board = (
        gd.Dashboard(TITLE)
        .uid(UID)
        .tags(["vllm", "vllm-nfs-constructs"])
        .refresh("30s")
        .time("now-3h", "now")
        .timezone("browser")
        .with_variable(gd.DatasourceVariable("datasource").label("Data source").type("prometheus"))
    )
    for name, query in VARIABLES.items():
        board = board.with_variable(
            gd.QueryVariable(name)
            .label(name.capitalize())
            .datasource(ds)
            .query(query)
            .refresh(md.VariableRefresh.ON_TIME_RANGE_CHANGED)
            .sort(md.VariableSort.ALPHABETICAL_ASC)
            .multi(True)
            .include_all(True)
        )
    for row, panels in PANELS:
        board = board.with_row(gd.Row(row))
        for p in panels:
            panel: Any = gt.Panel() if p.kind == "table" else gts.Panel()
            panel = panel.title(p.title).unit(p.unit).datasource(ds).height(8).span(p.width)
            if p.description:
                panel = panel.description(p.description)
            for i, q in enumerate(p.queries):
                target = gp.Dataquery().expr(q.expr).ref_id(chr(ord("A") + i)).datasource(ds)
                if q.legend:
                    target = target.legend_format(q.legend)
                if q.instant:
                    target = target.instant().format(mp.PromQueryFormat.TABLE)
                panel = panel.with_target(target)
            board = board.with_panel(panel)
    data: dict[str, Any] = json.loads(JSONEncoder(sort_keys=True).encode(board.build()))
    return data


def render() -> str:
    """The committed file's exact text."""
    return json.dumps(build(), indent=2, sort_keys=True) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m vllm_nfs_constructs.k8s._dashboard [--check] [--output PATH]``.

    Writes the generated dashboard to the package data file (or ``--output``); with ``--check``
    writes nothing and exits 1 when the file differs from what ``build()`` generates.
    ``--help`` prints the usage and exits 0 without writing; bad arguments exit 2.
    """
    parser = argparse.ArgumentParser(
        prog="python -m vllm_nfs_constructs.k8s._dashboard",
        description=(
            "Generate the Grafana dashboard JSON from PANELS (needs grafana-foundation-sdk). "
            f"By default it rewrites the package data file {OUTPUT.name}."
        ),
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=OUTPUT,
        metavar="PATH",
        help="file to write or check (default: the package data file)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="compare the file with the generated JSON; write nothing; exit 1 when they differ",
    )
    args = parser.parse_args(argv)
    output: Path = args.output
    text = render()
    if args.check:
        try:
            current = output.read_text(encoding="utf-8")
        except OSError as exc:
            print(f"error: cannot read {output}: {exc.strerror}", file=sys.stderr)
            return 1
        if current != text:
            print(
                f"{output} differs from the generated dashboard; run: "
                "python -m vllm_nfs_constructs.k8s._dashboard",
                file=sys.stderr,
            )
            return 1
        print(f"{output} is up to date", file=sys.stderr)
        return 0
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"error: cannot write {output}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"wrote {output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""This project's own policy over the synthesized Terraform JSON.

No scanner covers DigitalOcean resources (checkov has no DigitalOcean checks), so the cloud
defaults a platform team expects are asserted here: an HA control plane, a maintenance window,
patch auto-upgrades, surge upgrades off while GPU pools exist (they have no spare GPUs to surge
into; the provider's flag is cluster-wide), the cluster and the NFS share in the stack's one VPC
and region, start-up taints on every GPU pool, and no secret anywhere in the JSON.

``policy_violations`` is also run on stacks that break each rule, so every rule is shown to
fire.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

import pytest

from vllm_nfs_constructs import GpuPool
from vllm_nfs_constructs.infra import (
    SCALE_FROM_ZERO_NOT_TUNED_TAINT,
    MaintenanceWindow,
    SpacesBackend,
)
from vllm_nfs_constructs.infra.cluster import MAINTENANCE_DAYS

from .conftest import TfJson, synth_stack

_START = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
#: Shapes of credentials that must never be in the JSON: DigitalOcean tokens (personal, OAuth,
#: refresh), Spaces / AWS access keys, PEM private keys, kubeconfig material.
_SECRET_SHAPES = (
    re.compile(r"do[por]_v1_[0-9a-f]{16,}"),
    re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    re.compile(r"\bDO00[0-9A-Z]{16}\b"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"client-key-data|client-certificate-data|\bkube_config\b|raw_config"),
)
_SECRET_KEYS = {"token", "access_key", "secret_key", "spaces_access_id", "spaces_secret_key"}


def _one(tf: TfJson, type_: str) -> tuple[str, dict[str, Any]]:
    items = tf.get("resource", {}).get(type_, {})
    assert len(items) == 1, f"{type_}: {list(items)}"
    ((name, body),) = items.items()
    return name, body


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def policy_violations(tf: TfJson) -> list[str]:
    """Every rule the JSON breaks, as one line each (empty: compliant)."""
    bad: list[str] = []
    vpc_name, vpc = _one(tf, "digitalocean_vpc")
    cluster_name, cluster = _one(tf, "digitalocean_kubernetes_cluster")
    _, nfs = _one(tf, "digitalocean_nfs")
    gpu_pools = tf["resource"].get("digitalocean_kubernetes_node_pool", {})
    vpc_ref = f"${{digitalocean_vpc.{vpc_name}.id}}"

    # Control plane and upgrades.
    if cluster.get("ha") is not True:
        bad.append("cluster: ha is not true (single control-plane replica)")
    if cluster.get("auto_upgrade") is not True:
        bad.append("cluster: auto_upgrade is not true (patch releases are not applied)")
    window = cluster.get("maintenance_policy")
    if not isinstance(window, dict):
        bad.append("cluster: no maintenance_policy (DigitalOcean picks the window)")
    elif window.get("day") not in MAINTENANCE_DAYS or not _START.fullmatch(
        str(window.get("start_time"))
    ):
        bad.append(f"cluster: maintenance_policy {window} is not a day and HH:MM")
    if "surge_upgrade" not in cluster:
        bad.append("cluster: surge_upgrade left to the provider's default")
    elif cluster["surge_upgrade"] is not True:
        bad.append("cluster: surge_upgrade is not true (pools lose capacity during upgrades)")

    # One VPC, one region, private ranges.
    if cluster.get("vpc_uuid") != vpc_ref:
        bad.append("cluster: not in the stack's VPC")
    if nfs.get("vpc_id") != vpc_ref:
        bad.append("nfs: not in the cluster's VPC")
    if not (vpc.get("region") == cluster.get("region") == nfs.get("region")):
        bad.append("regions differ between VPC, cluster and NFS share")
    for owner, key, value in (
        ("vpc", "ip_range", vpc.get("ip_range")),
        ("cluster", "cluster_subnet", cluster.get("cluster_subnet")),
        ("cluster", "service_subnet", cluster.get("service_subnet")),
    ):
        if not isinstance(value, str) or not ipaddress.ip_network(value).is_private:
            bad.append(f"{owner}: {key} {value!r} is not a private range")

    # GPU pools: in the cluster, with a start-up taint (pods land on tuned nodes only), tagged.
    cluster_ref = f"${{digitalocean_kubernetes_cluster.{cluster_name}.id}}"
    if not gpu_pools:
        bad.append("no GPU node pool")
    for pool in gpu_pools.values():
        name = pool.get("name")
        if pool.get("cluster_id") != cluster_ref:
            bad.append(f"pool {name}: not in the stack's cluster")
        if not str(pool.get("size", "")).startswith("gpu-"):
            bad.append(f"pool {name}: size {pool.get('size')!r} is not a GPU slug")
        if not pool.get("taint"):
            bad.append(f"pool {name}: no start-up taint (pods could mount NFS before tuning)")
        if not pool.get("tags"):
            bad.append(f"pool {name}: no tags")

    # No secret anywhere: not in values, not as provider / backend arguments, no sensitive or
    # kubeconfig output.
    text = json.dumps(tf)
    for shape in _SECRET_SHAPES:
        if shape.search(text):
            bad.append(f"secret-shaped text matches {shape.pattern!r}")
    blocks = {"provider": tf.get("provider", {}), "backend": tf["terraform"].get("backend", {})}
    for block_name, block in blocks.items():
        found = _keys(block) & _SECRET_KEYS
        if found:
            bad.append(f"{block_name}: credentials in code ({', '.join(sorted(found))})")
    for name, output in tf.get("output", {}).items():
        if output.get("sensitive"):
            bad.append(f"output {name}: sensitive (the handoff carries no secret)")
    return bad


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"gpu_min_nodes": 0, "gpu_max_nodes": 3, "gpu_taint": SCALE_FROM_ZERO_NOT_TUNED_TAINT},
        {"gpu_pools": [GpuPool("small"), GpuPool("big", size="gpu-h100x8-640gb")]},
        {"backend": SpacesBackend(bucket="tf-state")},
        {"maintenance_window": MaintenanceWindow(day="any", start_time="23:30")},
    ],
    ids=["defaults", "scale-from-zero", "two-pools", "spaces-backend", "any-day"],
)
def test_the_stack_meets_the_policy(kwargs: dict[str, Any]) -> None:
    assert policy_violations(synth_stack(**kwargs)) == []


def test_the_default_stack_turns_the_platform_defaults_on(default_tf: TfJson) -> None:
    _, cluster = _one(default_tf, "digitalocean_kubernetes_cluster")
    assert (cluster["ha"], cluster["auto_upgrade"], cluster["surge_upgrade"]) == (
        True,
        True,
        True,
    )
    assert cluster["maintenance_policy"] == {"day": "sunday", "start_time": "04:00"}


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"ha": False}, "cluster: ha is not true (single control-plane replica)"),
        (
            {"auto_upgrade": False},
            "cluster: auto_upgrade is not true (patch releases are not applied)",
        ),
        (
            {"maintenance_window": None},
            "cluster: no maintenance_policy (DigitalOcean picks the window)",
        ),
        (
            {"surge_upgrade": False},
            "cluster: surge_upgrade is not true (pools lose capacity during upgrades)",
        ),
        (
            {"gpu_taint": None},
            "pool vllm-gpu: no start-up taint (pods could mount NFS before tuning)",
        ),
        ({"tags": ()}, "pool vllm-gpu: no tags"),
    ],
    ids=["ha", "auto-upgrade", "maintenance", "surge", "taint", "tags"],
)
def test_each_default_can_be_turned_off_and_the_policy_sees_it(
    kwargs: dict[str, Any], expected: str
) -> None:
    assert policy_violations(synth_stack(**kwargs)) == [expected]


def test_the_policy_catches_json_it_did_not_build(default_tf: TfJson) -> None:
    """Edits a stack could make through escape hatches: another VPC, a token, a kubeconfig."""
    tf = json.loads(json.dumps(default_tf))
    _, nfs = _one(tf, "digitalocean_nfs")
    nfs["vpc_id"] = "other-vpc-uuid"
    tf["provider"]["digitalocean"][0]["token"] = "dop_v1_" + "0" * 64
    tf["output"]["kubeconfig"] = {"value": "${digitalocean_kubernetes_cluster.x.kube_config}"}
    tf["output"]["nfs_host"]["sensitive"] = True
    _, cluster = _one(tf, "digitalocean_kubernetes_cluster")
    del cluster["surge_upgrade"]
    cluster["maintenance_policy"] = {"day": "someday", "start_time": "4am"}
    cluster["service_subnet"] = "8.8.8.0/24"
    assert sorted(policy_violations(tf)) == sorted(
        [
            "nfs: not in the cluster's VPC",
            "secret-shaped text matches 'do[por]_v1_[0-9a-f]{16,}'",
            "secret-shaped text matches "
            "'client-key-data|client-certificate-data|\\\\bkube_config\\\\b|raw_config'",
            "provider: credentials in code (token)",
            "output nfs_host: sensitive (the handoff carries no secret)",
            "cluster: surge_upgrade left to the provider's default",
            "cluster: maintenance_policy {'day': 'someday', 'start_time': '4am'} is not a day "
            "and HH:MM",
            "cluster: service_subnet '8.8.8.0/24' is not a private range",
        ]
    )

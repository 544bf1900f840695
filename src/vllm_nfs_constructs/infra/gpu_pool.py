"""``GpuNodePool``: a DOKS GPU node pool whose nodes start tainted until tuned."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cdktf_cdktf_provider_digitalocean.kubernetes_node_pool import (
    KubernetesNodePool,
    KubernetesNodePoolTaint,
)
from constructs import Construct

from ..errors import ConfigurationError
from ..planning.cloud import GpuNodePoolPlan, plan_gpu_pool
from ..values import _checks as v
from ..values.cloud import DEFAULT_GPU_SLUG
from ..values.gpus import check_gpus_fit
from ..values.taints import AUTOSCALER_STARTUP_TAINT_PREFIX, NOT_TUNED_TAINT, Taint, TaintEffect
from .cluster import DoksCluster

__all__ = [
    "AUTOSCALER_STARTUP_TAINT_PREFIX",
    "DEFAULT_GPU_SLUG",
    "SCALE_FROM_ZERO_NOT_TUNED_TAINT",
    "GpuNodePool",
    "check_gpus_fit",
]

#: A not-tuned taint that the cluster autoscaler treats as a startup taint, for pools with
#: ``min_nodes=0``. The tuner must be configured with the same key.
SCALE_FROM_ZERO_NOT_TUNED_TAINT = Taint(
    AUTOSCALER_STARTUP_TAINT_PREFIX + "network-not-tuned", "true", TaintEffect.NO_SCHEDULE
)


class GpuNodePool(Construct):
    """A GPU node pool (``digitalocean_kubernetes_node_pool``) in a :class:`DoksCluster`.

    Nodes start with the *not-tuned* taint (``model.NOT_TUNED_TAINT``,
    ``node.digitalocean.com/network-not-tuned=true:NoSchedule``); the cluster layer's tuner
    DaemonSet tunes the node and removes it. vLLM pods never tolerate it, so they only land on
    tuned nodes.

    Args:
        cluster: the cluster.
        name: pool name (becomes the ``doks.digitalocean.com/node-pool`` label; DO name rules,
            <= 63). Default ``"<cluster name>-gpu"``.
        size: GPU Droplet slug. Default ``gpu-h100x1-80gb``.
        node_count: fixed number of nodes (>= 1). Default 1 when no autoscale bounds are given.
        min_nodes: autoscaling lower bound (>= 0). Default - fixed size.
        max_nodes: autoscaling upper bound (>= 1, >= min_nodes). Default - fixed size.
        taint: the start-up taint the tuner removes. Default ``NOT_TUNED_TAINT``. Use
            ``SCALE_FROM_ZERO_NOT_TUNED_TAINT`` for pools with ``min_nodes=0``; ``None``
            disables the gate (pods may then mount NFS before the node is tuned).
        extra_taints: further taints. Default - none.
        labels: extra node labels. Default - none.
        tags: DO tags. Default - none.
        plan: a :class:`GpuNodePoolPlan` already checked (``planning.cloud.plan_gpu_pool``;
            ``VllmInfra`` passes its plan's). With a plan, give only ``cluster``: the plan holds
            everything else. Default - planned from the arguments.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cluster: DoksCluster,
        name: str | None = None,
        size: str = DEFAULT_GPU_SLUG,
        node_count: int | None = None,
        min_nodes: int | None = None,
        max_nodes: int | None = None,
        taint: Taint | None = NOT_TUNED_TAINT,
        extra_taints: Sequence[Taint] = (),
        labels: Mapping[str, str] | None = None,
        tags: Sequence[str] = (),
        plan: GpuNodePoolPlan | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.cluster = v.instance_of("GpuNodePool.cluster", cluster, DoksCluster, "a DoksCluster")
        given: dict[str, Any] = {
            "name": name,
            "size": size,
            "node_count": node_count,
            "min_nodes": min_nodes,
            "max_nodes": max_nodes,
            "taint": taint,
            "extra_taints": extra_taints,
            "labels": labels,
            "tags": tags,
        }
        if plan is None:
            plan = plan_gpu_pool(
                cluster_name=cluster.name,
                management_pool_name=cluster.management_pool_name,
                **given,
            )
        else:
            plan = v.plan_alone(
                "GpuNodePool", plan, GpuNodePoolPlan, "plan_gpu_pool", GpuNodePool.__init__, given
            )
            # The plan fits the cluster it is put into: its name is not the management pool's.
            if plan.name == cluster.management_pool_name:
                raise ConfigurationError(
                    "GpuNodePool.plan.name",
                    plan.name,
                    f"a name different from the management pool ({cluster.management_pool_name})",
                )
        #: What this pool renders, checked.
        self.plan = plan
        self.name, self.profile = plan.name, plan.profile
        self.node_count, self.min_nodes, self.max_nodes = (
            plan.node_count,
            plan.min_nodes,
            plan.max_nodes,
        )
        self.taint, self.taints = plan.taint, plan.taints
        self.labels = dict(plan.labels)
        tag_list = list(plan.tags)

        autoscale = self.min_nodes is not None
        self.resource = KubernetesNodePool(
            self,
            "pool",
            cluster_id=cluster.cluster_id,
            name=self.name,
            size=self.profile.slug,
            node_count=self.node_count,
            auto_scale=True if autoscale else None,
            min_nodes=self.min_nodes,
            max_nodes=self.max_nodes,
            labels=self.labels or None,
            tags=tag_list or None,
            taint=[
                KubernetesNodePoolTaint(key=t.key, value=t.value, effect=t.effect.value)
                for t in self.taints
            ]
            or None,
        )

    @property
    def pool_id(self) -> str:
        """Token for the node pool's id."""
        return self.resource.id

"""``GpuNodePool``: a DOKS GPU node pool whose nodes start tainted until tuned."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cdktf_cdktf_provider_digitalocean.kubernetes_node_pool import (
    KubernetesNodePool,
    KubernetesNodePoolTaint,
)
from constructs import Construct

from .. import contracts
from ..errors import ConfigurationError
from ..values import _checks as v
from ..values.gpus import check_gpus_fit, gpu_profile
from ..values.taints import AUTOSCALER_STARTUP_TAINT_PREFIX, NOT_TUNED_TAINT, Taint, TaintEffect
from .cluster import DoksCluster, check_autoscale

__all__ = [
    "AUTOSCALER_STARTUP_TAINT_PREFIX",
    "DEFAULT_GPU_SLUG",
    "SCALE_FROM_ZERO_NOT_TUNED_TAINT",
    "GpuNodePool",
    "check_gpus_fit",
]

DEFAULT_GPU_SLUG = contracts.DEFAULT_GPU_SLUG


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
    ) -> None:
        super().__init__(scope, id)
        self.cluster = v.instance_of("GpuNodePool.cluster", cluster, DoksCluster, "a DoksCluster")
        self.name = v.do_name(
            "GpuNodePool.name", name if name is not None else f"{cluster.name}-gpu"
        )
        if self.name == cluster.management_pool_name:
            raise ConfigurationError(
                "GpuNodePool.name",
                self.name,
                f"a name different from the management pool ({cluster.management_pool_name})",
            )
        self.profile = gpu_profile("GpuNodePool.size", size)
        if min_nodes is None and max_nodes is None and node_count is None:
            node_count = 1
        self.node_count, self.min_nodes, self.max_nodes = check_autoscale(
            "GpuNodePool",
            node_count=node_count,
            min_nodes=min_nodes,
            max_nodes=max_nodes,
            allow_zero_min=True,
        )
        if taint is not None and not isinstance(taint, Taint):
            raise ConfigurationError(
                "GpuNodePool.taint", taint, "a vllm_nfs_constructs.model.Taint or None"
            )
        if (
            self.min_nodes == 0
            and taint is not None
            and not taint.key.startswith(AUTOSCALER_STARTUP_TAINT_PREFIX)
        ):
            raise ConfigurationError(
                "GpuNodePool.taint",
                str(taint),
                f"a taint whose key starts with '{AUTOSCALER_STARTUP_TAINT_PREFIX}' when "
                "min_nodes=0 (the autoscaler would never scale up from zero for pods that do "
                "not tolerate it)",
                "Pass taint=SCALE_FROM_ZERO_NOT_TUNED_TAINT (and give the tuner the same key), "
                "or set min_nodes >= 1.",
            )
        self.taint = taint
        extra = v.sequence_of("GpuNodePool.extra_taints", extra_taints, Taint, "Taint objects")
        all_taints = ([taint] if taint is not None else []) + extra
        seen: set[str] = set()
        for t in all_taints:
            if not isinstance(t, Taint):
                raise ConfigurationError("GpuNodePool.extra_taints", t, "Taint objects")
            if t.key in seen:
                raise ConfigurationError(
                    "GpuNodePool.extra_taints", t.key, "taint keys that appear once"
                )
            seen.add(t.key)
        self.taints = tuple(all_taints)
        self.labels = v.label_map("GpuNodePool.labels", {} if labels is None else labels)
        tag_list = v.do_tags("GpuNodePool.tags", tags)

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

"""ImagePrePuller: pull the vLLM images onto a GPU node while the network tuner still holds it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from constructs import Construct

from ..errors import ConfigurationError
from ..values import _checks as v
from ..values.images import PAUSE_IMAGE, VLLM_IMAGE, check_image
from ..values.names import short_name
from ..values.taints import NOT_TUNED_TAINT, Taint
from . import _common as c
from . import _k8s as k8s
from ._pod import ContainerModel, LazyDaemonSet, PodModel, restricted
from .network_policy import pod_policy

__all__ = ["NOOP_COMMAND", "PAUSE_IMAGE", "ImagePrePuller", "image_prepuller"]

#: What each pulled image runs: nothing. ``python3`` is the one program this library already
#: relies on in every vLLM image (the drain preStop hook and the download run it there), CUDA and
#: ROCm builds alike; ``/bin/true`` is likely present too but nothing else here depends on it.
NOOP_COMMAND = ("python3", "-c", "")


class ImagePrePuller(Construct):
    """A DaemonSet on one GPU pool whose pods pull every vLLM image the pool serves, as soon as
    a node joins: one no-op init container per image (``python3 -c ''``), then a pause container.

    It tolerates the pool's start-up taint (the network tuner's) and the GPU taints, so the
    ~10 GB pull runs while the node is being tuned instead of after. It mounts **no share** and
    no volume at all: an NFS mount opened before the tuner has raised the MTU keeps the untuned
    segment size for the node's life (docs/network-tuning.md); pulling over the public interface
    touches no NFS mount. Tiny requests, no GPU, restricted security, no service account token.

    ``VllmNfsChart`` emits one per GPU pool (``prepull_images=True``, default) and adds each
    model's image with :meth:`add_image`.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        gpu_node_pool: str | None,
        images: Sequence[str] = (VLLM_IMAGE,),
        taint: Taint = NOT_TUNED_TAINT,
        namespace: str | None = None,
        name: str | None = None,
        pause_image: str = PAUSE_IMAGE,
        uid: int = 1000,
        gid: int = 1000,
        network_policy: bool = True,
    ) -> None:
        """
        Args:
            gpu_node_pool: the DOKS GPU pool (default every GPU node, by the gpu-brand label).
            images: images to pull (default the vLLM image); more with :meth:`add_image`.
            taint: the pool's start-up taint to tolerate (default the not-tuned taint).
            namespace: default the chart's namespace, else ``vllm``.
            name: default the construct id.
            pause_image: the container that stays running (default ``pause:3.10``).
            uid: user of the no-op containers (default 1000).
            gid: group (default 1000).
            network_policy: a NetworkPolicy that lets the pods send and receive nothing (default
                True): the kubelet pulls the images, the pods themselves need no network.
        """
        super().__init__(scope, id)
        c.attach(self, scope)
        f = "ImagePrePuller"
        if not isinstance(taint, Taint):
            raise ConfigurationError(f"{f}.taint", taint, "a Taint(key, value, effect)")
        if gpu_node_pool is not None:
            v.label_value(f"{f}.gpu_node_pool", gpu_node_pool)
        self.name = c.object_name(f"{f}.name", id, name)
        self.namespace = c.resolve_namespace(self, namespace, f"{f}.namespace")
        self.pause_image = check_image(f"{f}.pause_image", pause_image)
        self.uid = v.integer(f"{f}.uid", uid, minimum=1, maximum=2**31 - 1)
        self.gid = v.integer(f"{f}.gid", gid, minimum=1, maximum=2**31 - 1)
        self.taint = taint
        lbl = c.labels(self.name, "prepull")
        sel = c.selector_labels(self.name, "prepull")
        node_selector, affinity = c.node_placement(gpu_node_pool, gpu=True)
        #: The pod as a model (rendered at synth: images added later are included).
        self.pod = PodModel(
            role="prepull",
            gpu=True,
            labels={**lbl, **sel},
            node_selector=node_selector or {},
            affinity=affinity,
            tolerations=[
                k8s.Toleration(
                    key=taint.key, operator="Equal", value=taint.value, effect=taint.effect.value
                ),
                k8s.Toleration(key="nvidia.com/gpu", operator="Exists", effect="NoSchedule"),
                k8s.Toleration(key="amd.com/gpu", operator="Exists", effect="NoSchedule"),
            ],
            security_context=c.restricted_pod_security(self.uid, self.gid),
            termination_grace_period_seconds=5,
        )
        self.pod.add_container(
            ContainerModel(
                name="pause",
                image=self.pause_image,
                image_pull_policy="IfNotPresent",
                requests={"cpu": "1m", "memory": "8Mi"},
                limits={"cpu": "10m", "memory": "16Mi"},
                security_context=restricted(self.uid, self.gid),
            )
        )
        #: The images pulled, in order.
        self.images: list[str] = []
        for image in images:
            self.add_image(image)
        skips = c.checkov_skips(
            c.SKIP_DIGEST,
            c.SKIP_PULL_ALWAYS,
            c.SKIP_HIGH_UID,
            ("CKV_K8S_8", "no liveness probe: the pause container does nothing to probe"),
            ("CKV_K8S_9", "no readiness probe: the pod serves nothing"),
        )
        v.instance_of(f"{f}.network_policy", network_policy, bool, "True or False")
        #: The pods' NetworkPolicy: no ingress, no egress (None with ``network_policy=False``).
        self.network_policy: k8s.KubeNetworkPolicy | None = (
            pod_policy(
                self, "NetworkPolicy", name=self.name, namespace=self.namespace, pod_selector=sel
            )
            if network_policy
            else None
        )
        self.daemon_set = LazyDaemonSet(
            self,
            "DaemonSet",
            metadata=c.metadata(self, "DaemonSet", self.name, self.namespace, lbl, skips),
            pod=self.pod,
            spec_builder=lambda template: k8s.DaemonSetSpec(
                selector=k8s.LabelSelector(match_labels=sel),
                update_strategy=k8s.DaemonSetUpdateStrategy(
                    type="RollingUpdate",
                    rolling_update=k8s.RollingUpdateDaemonSet(max_unavailable=c.int_or_string(1)),
                ),
                template=template,
            ),
        )

    def add_image(self, image: str) -> None:
        """Pull ``image`` too (once; the order of first addition is kept)."""
        image = check_image("ImagePrePuller.images", image)
        if image in self.images:
            return
        self.images.append(image)
        self.pod.add_init_container(
            ContainerModel(
                name=f"pull-{len(self.images)}",
                image=image,
                image_pull_policy="IfNotPresent",
                command=list(NOOP_COMMAND),
                requests={"cpu": "10m", "memory": "32Mi"},
                limits={"cpu": "500m", "memory": "128Mi"},
                security_context=restricted(self.uid, self.gid),
            )
        )


def image_prepuller(
    scope: Construct,
    pool: str,
    taint: Taint,
    images: Iterable[str],
    *,
    field: str,
    namespace: str,
    network_policy: bool,
) -> ImagePrePuller:
    """The App's pre-puller of GPU pool ``pool`` (created in ``scope``'s chart by the first
    composition on the pool, found in the App's registry by the others), with ``images`` added.
    The first pre-puller of the App is ``image-prepull``; those of other pools are named
    ``image-prepull-<pool>`` (cut with a hash past 63 characters)."""
    registry = c.app_registry(scope)
    found = registry.prepullers.get((pool, str(taint)))
    if not isinstance(found, ImagePrePuller):
        first = not registry.prepullers
        # Cut with a hash: two pools sharing their first 49 characters get two names.
        name = v.dns_label(field, short_name(f"image-prepull-{pool}"))
        found = ImagePrePuller(
            scope,
            "image-prepull" if first else name,
            gpu_node_pool=pool,
            images=(),
            taint=taint,
            name=None if first else name,
            namespace=namespace,
            network_policy=network_policy,
        )
        registry.prepullers[(pool, str(taint))] = found
    for image in images:
        found.add_image(image)
    return found

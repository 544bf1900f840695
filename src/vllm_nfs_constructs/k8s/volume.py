"""SharedModelVolume: the Managed NFS share as a PersistentVolume and a claim bound to it."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from constructs import Construct

from ..errors import ConfigurationError
from ..values import _checks as v
from ..values.cloud import NFS_MAX_SIZE_GIB
from ..values.handoff import NfsEndpoint
from ..values.mount import NfsMountOptions
from ..values.names import label_value
from . import _common as c
from . import _k8s as k8s
from ._escape_hatches import cluster_scoped

if TYPE_CHECKING:
    import cdk8s_plus_27 as kplus

__all__ = ["NfsMountOptions", "SharedModelVolume"]


class SharedModelVolume(Construct):
    """A PersistentVolume for the NFS share and a PersistentVolumeClaim bound to exactly it.

    The PV (cluster-scoped, named ``<namespace>-<name>``) is ``ReadWriteMany`` with reclaim policy
    ``Retain``: deleting the claim never deletes models. The claim (``<name>`` in the namespace)
    has ``storageClassName: ""`` (no dynamic provisioning), names the PV in ``volumeName`` and
    selects it by label; the PV's ``claimRef`` points back, so nothing else can bind either.

    The construct id is part of the API: renaming it renames the PV and PVC (a delete and
    re-create of both; models on the share are kept because of ``Retain``).

    Mount it in your own cdk8s-plus-27 workload with :meth:`as_plus_volume`
    (``container.mount("/models", volume.as_plus_volume(), read_only=True)``), or in typed pod
    specs with :meth:`pod_volume` and :meth:`mount`. :meth:`from_claim_name` wraps a claim that
    already exists (another chart's, or one made by hand) without emitting anything.
    """

    nfs: NfsEndpoint | None
    capacity_gib: int | None
    mount_options: NfsMountOptions | None
    pv_name: str | None
    #: The PersistentVolume (``None`` for a volume imported with :meth:`from_claim_name`).
    pv: k8s.KubePersistentVolume | None
    #: The PersistentVolumeClaim (``None`` for a volume imported with :meth:`from_claim_name`).
    pvc: k8s.KubePersistentVolumeClaim | None

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        nfs: NfsEndpoint,
        capacity_gib: int = 1000,
        mount_options: NfsMountOptions | None = None,
        namespace: str | None = None,
        name: str | None = None,
        annotations: dict[str, str] | None = None,
    ) -> None:
        """
        Args:
            nfs: host and export path of the share (``InfraOutputs.nfs``).
            capacity_gib: size recorded on the PV and requested by the claim (informational for
                NFS; default 1000). Use the share's size.
            mount_options: default :class:`NfsMountOptions` ``()``.
            namespace: namespace of the claim; default the enclosing chart's (``vllm``).
            name: claim name; default the construct id. The PV is ``<namespace>-<name>``.
            annotations: extra annotations on both objects.
        """
        super().__init__(scope, id)
        c.attach(self, scope)
        if annotations is not None:
            v.annotation_map("SharedModelVolume.annotations", annotations)
        if not isinstance(nfs, NfsEndpoint):
            raise ConfigurationError(
                "SharedModelVolume.nfs", nfs, "an NfsEndpoint(host, path)", "Use InfraOutputs.nfs."
            )
        self.nfs = nfs
        self.capacity_gib = v.integer(
            "SharedModelVolume.capacity_gib", capacity_gib, minimum=1, maximum=NFS_MAX_SIZE_GIB
        )
        self.mount_options = mount_options if mount_options is not None else NfsMountOptions()
        if not isinstance(self.mount_options, NfsMountOptions):
            raise ConfigurationError(
                "SharedModelVolume.mount_options", mount_options, "an NfsMountOptions"
            )
        self.namespace = c.resolve_namespace(self, namespace, "SharedModelVolume.namespace")
        self.claim_name = c.object_name("SharedModelVolume.name", id, name)
        self.pv_name = v.dns_subdomain(
            "SharedModelVolume.name", f"{self.namespace}-{self.claim_name}"
        )
        self.mount_path = c.MODELS_MOUNT_PATH
        lbl = c.labels(self.claim_name, "model-volume")
        # The claim binds to exactly this volume by this label (the PV name, cut with a hash
        # past 63 characters: a namespace and claim name can make it up to 127).
        bind_label = {"vllm-nfs-constructs/volume": label_value(self.pv_name)}
        storage = {"storage": c.quantity(f"{self.capacity_gib}Gi")}

        self.pv = k8s.KubePersistentVolume(
            self,
            "PersistentVolume",
            metadata=c.metadata(
                self, "PersistentVolume", self.pv_name, None, {**lbl, **bind_label}, annotations
            ),
            spec=k8s.PersistentVolumeSpec(
                capacity=storage,
                access_modes=["ReadWriteMany"],
                persistent_volume_reclaim_policy="Retain",
                storage_class_name="",
                volume_mode="Filesystem",
                mount_options=self.mount_options.to_list(),
                nfs=k8s.NfsVolumeSource(server=nfs.host, path=nfs.path),
                claim_ref=k8s.ObjectReference(
                    api_version="v1",
                    kind="PersistentVolumeClaim",
                    namespace=self.namespace,
                    name=self.claim_name,
                ),
            ),
        )
        cluster_scoped(self.pv, self)
        self.pvc = k8s.KubePersistentVolumeClaim(
            self,
            "PersistentVolumeClaim",
            metadata=c.metadata(
                self, "PersistentVolumeClaim", self.claim_name, self.namespace, lbl, annotations
            ),
            spec=k8s.PersistentVolumeClaimSpec(
                access_modes=["ReadWriteMany"],
                storage_class_name="",
                volume_mode="Filesystem",
                volume_name=self.pv_name,
                selector=k8s.LabelSelector(match_labels=bind_label),
                resources=k8s.ResourceRequirements(requests=storage),
            ),
        )

    @classmethod
    def from_claim_name(
        cls,
        scope: Construct,
        id: str,
        claim_name: str,
        *,
        namespace: str | None = None,
    ) -> SharedModelVolume:
        """A volume for an existing claim of the share (emits nothing).

        Use it to serve from a share another chart (or a person) already bound: the download
        Jobs and deployments mount ``claim_name`` in ``namespace`` (default: the chart's).
        """
        self = cls.__new__(cls)
        Construct.__init__(self, scope, id)
        c.attach(self, scope)
        self.nfs = None
        self.capacity_gib = None
        self.mount_options = None
        self.namespace = c.resolve_namespace(self, namespace, "SharedModelVolume.namespace")
        self.claim_name = v.dns_subdomain(
            "SharedModelVolume.from_claim_name.claim_name", claim_name
        )
        self.pv_name = None
        self.mount_path = c.MODELS_MOUNT_PATH
        self.pv = None
        self.pvc = None
        return self

    @cached_property
    def _plus_volume(self) -> kplus.Volume:
        import cdk8s_plus_27 as kplus  # only for this: the library does not load it otherwise

        claim = kplus.PersistentVolumeClaim.from_claim_name(self, "PlusClaim", self.claim_name)
        return kplus.Volume.from_persistent_volume_claim(self, "PlusVolume", claim, name="models")

    def as_plus_volume(self) -> kplus.Volume:
        """This claim as a cdk8s-plus-27 ``Volume`` named ``models``, for your own workloads::

            container.mount("/models", volume.as_plus_volume(), read_only=True)

        Mount it read-only in serving pods; only the download Job writes to the share.
        """
        return self._plus_volume

    def pod_volume(self, volume_name: str = "models") -> kplus.k8s.Volume:
        """The pod volume for this claim as a cdk8s-plus-27 ``k8s.Volume``, for your own
        objects (mount it read-only in serving pods)."""
        return k8s.bindings(self.volume_spec(volume_name))  # type: ignore[no-any-return]

    def mount(self, *, read_only: bool, volume_name: str = "models") -> kplus.k8s.VolumeMount:
        """The mount of :meth:`pod_volume` as a cdk8s-plus-27 ``k8s.VolumeMount``."""
        spec = self.mount_spec(read_only=read_only, volume_name=volume_name)
        return k8s.bindings(spec)  # type: ignore[no-any-return]

    def volume_spec(self, volume_name: str = "models") -> k8s.Volume:
        """The pod volume for this claim, as the library's pods take it."""
        return k8s.Volume(
            name=volume_name,
            persistent_volume_claim=k8s.PersistentVolumeClaimVolumeSource(
                claim_name=self.claim_name
            ),
        )

    def mount_spec(self, *, read_only: bool, volume_name: str = "models") -> k8s.VolumeMount:
        """The mount of :meth:`volume_spec`, as the library's pods take it."""
        return k8s.VolumeMount(name=volume_name, mount_path=self.mount_path, read_only=read_only)

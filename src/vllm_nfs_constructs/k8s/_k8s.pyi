"""Type stub of ``_k8s`` (written by tools/k8s_structs.py from the same table)."""

import datetime
from typing import Any, ClassVar, Dict, Mapping, Optional, Sequence, Union

import cdk8s
from constructs import Construct

Field = tuple[str, str, str, str | None]

class Struct:
    _FIELDS: ClassVar[tuple[Field, ...]]
    _BY_NAME: ClassVar[dict[str, Field]]
    _values: dict[str, Any]
    def __init__(self, **values: Any) -> None: ...
    def __getattr__(self, name: str) -> Any: ...

class _Value:
    value: str | int | float
    def __init__(self, value: str | int | float) -> None: ...
    @classmethod
    def from_string(cls, value: str) -> Any: ...
    @classmethod
    def from_number(cls, value: int | float) -> Any: ...

class Quantity(_Value): ...
class IntOrString(_Value): ...

class KubeObject(cdk8s.ApiObject):
    _BINDING: ClassVar[str]
    def __init__(self, scope: Construct, id: str, **props: Any) -> None: ...

def bindings(value: Any) -> Any: ...
def same(a: object, b: object) -> bool: ...

class Affinity(Struct):
    def __init__(
        self,
        *,
        node_affinity: Union[NodeAffinity, Dict[str, Any], None] = ...,
        pod_affinity: Union[PodAffinity, Dict[str, Any], None] = ...,
        pod_anti_affinity: Union[PodAntiAffinity, Dict[str, Any], None] = ...,
    ) -> None: ...

class AggregationRule(Struct):
    def __init__(
        self,
        *,
        cluster_role_selectors: Optional[Sequence[Union[LabelSelector, Dict[str, Any]]]] = ...,
    ) -> None: ...

class AwsElasticBlockStoreVolumeSource(Struct):
    def __init__(
        self,
        *,
        volume_id: str,
        fs_type: Optional[str] = ...,
        partition: Union[int, float, None] = ...,
        read_only: Optional[bool] = ...,
    ) -> None: ...

class AzureDiskVolumeSource(Struct):
    def __init__(
        self,
        *,
        disk_name: str,
        disk_uri: str,
        caching_mode: Optional[str] = ...,
        fs_type: Optional[str] = ...,
        kind: Optional[str] = ...,
        read_only: Optional[bool] = ...,
    ) -> None: ...

class AzureFilePersistentVolumeSource(Struct):
    def __init__(
        self,
        *,
        secret_name: str,
        share_name: str,
        read_only: Optional[bool] = ...,
        secret_namespace: Optional[str] = ...,
    ) -> None: ...

class AzureFileVolumeSource(Struct):
    def __init__(
        self, *, secret_name: str, share_name: str, read_only: Optional[bool] = ...
    ) -> None: ...

class Capabilities(Struct):
    def __init__(
        self, *, add: Optional[Sequence[str]] = ..., drop: Optional[Sequence[str]] = ...
    ) -> None: ...

class CephFsPersistentVolumeSource(Struct):
    def __init__(
        self,
        *,
        monitors: Sequence[str],
        path: Optional[str] = ...,
        read_only: Optional[bool] = ...,
        secret_file: Optional[str] = ...,
        secret_ref: Union[SecretReference, Dict[str, Any], None] = ...,
        user: Optional[str] = ...,
    ) -> None: ...

class CephFsVolumeSource(Struct):
    def __init__(
        self,
        *,
        monitors: Sequence[str],
        path: Optional[str] = ...,
        read_only: Optional[bool] = ...,
        secret_file: Optional[str] = ...,
        secret_ref: Union[LocalObjectReference, Dict[str, Any], None] = ...,
        user: Optional[str] = ...,
    ) -> None: ...

class CinderPersistentVolumeSource(Struct):
    def __init__(
        self,
        *,
        volume_id: str,
        fs_type: Optional[str] = ...,
        read_only: Optional[bool] = ...,
        secret_ref: Union[SecretReference, Dict[str, Any], None] = ...,
    ) -> None: ...

class CinderVolumeSource(Struct):
    def __init__(
        self,
        *,
        volume_id: str,
        fs_type: Optional[str] = ...,
        read_only: Optional[bool] = ...,
        secret_ref: Union[LocalObjectReference, Dict[str, Any], None] = ...,
    ) -> None: ...

class ClaimSource(Struct):
    def __init__(
        self,
        *,
        resource_claim_name: Optional[str] = ...,
        resource_claim_template_name: Optional[str] = ...,
    ) -> None: ...

class ClientIpConfig(Struct):
    def __init__(self, *, timeout_seconds: Union[int, float, None] = ...) -> None: ...

class ConfigMapEnvSource(Struct):
    def __init__(self, *, name: Optional[str] = ..., optional: Optional[bool] = ...) -> None: ...

class ConfigMapKeySelector(Struct):
    def __init__(
        self, *, key: str, name: Optional[str] = ..., optional: Optional[bool] = ...
    ) -> None: ...

class ConfigMapProjection(Struct):
    def __init__(
        self,
        *,
        items: Optional[Sequence[Union[KeyToPath, Dict[str, Any]]]] = ...,
        name: Optional[str] = ...,
        optional: Optional[bool] = ...,
    ) -> None: ...

class ConfigMapVolumeSource(Struct):
    def __init__(
        self,
        *,
        default_mode: Union[int, float, None] = ...,
        items: Optional[Sequence[Union[KeyToPath, Dict[str, Any]]]] = ...,
        name: Optional[str] = ...,
        optional: Optional[bool] = ...,
    ) -> None: ...

class Container(Struct):
    def __init__(
        self,
        *,
        name: str,
        args: Optional[Sequence[str]] = ...,
        command: Optional[Sequence[str]] = ...,
        env: Optional[Sequence[Union[EnvVar, Dict[str, Any]]]] = ...,
        env_from: Optional[Sequence[Union[EnvFromSource, Dict[str, Any]]]] = ...,
        image: Optional[str] = ...,
        image_pull_policy: Optional[str] = ...,
        lifecycle: Union[Lifecycle, Dict[str, Any], None] = ...,
        liveness_probe: Union[Probe, Dict[str, Any], None] = ...,
        ports: Optional[Sequence[Union[ContainerPort, Dict[str, Any]]]] = ...,
        readiness_probe: Union[Probe, Dict[str, Any], None] = ...,
        resize_policy: Optional[Sequence[Union[ContainerResizePolicy, Dict[str, Any]]]] = ...,
        resources: Union[ResourceRequirements, Dict[str, Any], None] = ...,
        security_context: Union[SecurityContext, Dict[str, Any], None] = ...,
        startup_probe: Union[Probe, Dict[str, Any], None] = ...,
        stdin: Optional[bool] = ...,
        stdin_once: Optional[bool] = ...,
        termination_message_path: Optional[str] = ...,
        termination_message_policy: Optional[str] = ...,
        tty: Optional[bool] = ...,
        volume_devices: Optional[Sequence[Union[VolumeDevice, Dict[str, Any]]]] = ...,
        volume_mounts: Optional[Sequence[Union[VolumeMount, Dict[str, Any]]]] = ...,
        working_dir: Optional[str] = ...,
    ) -> None: ...

class ContainerPort(Struct):
    def __init__(
        self,
        *,
        container_port: Union[int, float],
        host_ip: Optional[str] = ...,
        host_port: Union[int, float, None] = ...,
        name: Optional[str] = ...,
        protocol: Optional[str] = ...,
    ) -> None: ...

class ContainerResizePolicy(Struct):
    def __init__(self, *, resource_name: str, restart_policy: str) -> None: ...

class CsiPersistentVolumeSource(Struct):
    def __init__(
        self,
        *,
        driver: str,
        volume_handle: str,
        controller_expand_secret_ref: Union[SecretReference, Dict[str, Any], None] = ...,
        controller_publish_secret_ref: Union[SecretReference, Dict[str, Any], None] = ...,
        fs_type: Optional[str] = ...,
        node_expand_secret_ref: Union[SecretReference, Dict[str, Any], None] = ...,
        node_publish_secret_ref: Union[SecretReference, Dict[str, Any], None] = ...,
        node_stage_secret_ref: Union[SecretReference, Dict[str, Any], None] = ...,
        read_only: Optional[bool] = ...,
        volume_attributes: Optional[Mapping[str, str]] = ...,
    ) -> None: ...

class CsiVolumeSource(Struct):
    def __init__(
        self,
        *,
        driver: str,
        fs_type: Optional[str] = ...,
        node_publish_secret_ref: Union[LocalObjectReference, Dict[str, Any], None] = ...,
        read_only: Optional[bool] = ...,
        volume_attributes: Optional[Mapping[str, str]] = ...,
    ) -> None: ...

class DaemonSetSpec(Struct):
    def __init__(
        self,
        *,
        selector: Union[LabelSelector, Dict[str, Any]],
        template: Union[PodTemplateSpec, Dict[str, Any]],
        min_ready_seconds: Union[int, float, None] = ...,
        revision_history_limit: Union[int, float, None] = ...,
        update_strategy: Union[DaemonSetUpdateStrategy, Dict[str, Any], None] = ...,
    ) -> None: ...

class DaemonSetUpdateStrategy(Struct):
    def __init__(
        self,
        *,
        rolling_update: Union[RollingUpdateDaemonSet, Dict[str, Any], None] = ...,
        type: Optional[str] = ...,
    ) -> None: ...

class DeploymentSpec(Struct):
    def __init__(
        self,
        *,
        selector: Union[LabelSelector, Dict[str, Any]],
        template: Union[PodTemplateSpec, Dict[str, Any]],
        min_ready_seconds: Union[int, float, None] = ...,
        paused: Optional[bool] = ...,
        progress_deadline_seconds: Union[int, float, None] = ...,
        replicas: Union[int, float, None] = ...,
        revision_history_limit: Union[int, float, None] = ...,
        strategy: Union[DeploymentStrategy, Dict[str, Any], None] = ...,
    ) -> None: ...

class DeploymentStrategy(Struct):
    def __init__(
        self,
        *,
        rolling_update: Union[RollingUpdateDeployment, Dict[str, Any], None] = ...,
        type: Optional[str] = ...,
    ) -> None: ...

class DownwardApiProjection(Struct):
    def __init__(
        self, *, items: Optional[Sequence[Union[DownwardApiVolumeFile, Dict[str, Any]]]] = ...
    ) -> None: ...

class DownwardApiVolumeFile(Struct):
    def __init__(
        self,
        *,
        path: str,
        field_ref: Union[ObjectFieldSelector, Dict[str, Any], None] = ...,
        mode: Union[int, float, None] = ...,
        resource_field_ref: Union[ResourceFieldSelector, Dict[str, Any], None] = ...,
    ) -> None: ...

class DownwardApiVolumeSource(Struct):
    def __init__(
        self,
        *,
        default_mode: Union[int, float, None] = ...,
        items: Optional[Sequence[Union[DownwardApiVolumeFile, Dict[str, Any]]]] = ...,
    ) -> None: ...

class EmptyDirVolumeSource(Struct):
    def __init__(
        self, *, medium: Optional[str] = ..., size_limit: Optional[Quantity] = ...
    ) -> None: ...

class EnvFromSource(Struct):
    def __init__(
        self,
        *,
        config_map_ref: Union[ConfigMapEnvSource, Dict[str, Any], None] = ...,
        prefix: Optional[str] = ...,
        secret_ref: Union[SecretEnvSource, Dict[str, Any], None] = ...,
    ) -> None: ...

class EnvVar(Struct):
    def __init__(
        self,
        *,
        name: str,
        value: Optional[str] = ...,
        value_from: Union[EnvVarSource, Dict[str, Any], None] = ...,
    ) -> None: ...

class EnvVarSource(Struct):
    def __init__(
        self,
        *,
        config_map_key_ref: Union[ConfigMapKeySelector, Dict[str, Any], None] = ...,
        field_ref: Union[ObjectFieldSelector, Dict[str, Any], None] = ...,
        resource_field_ref: Union[ResourceFieldSelector, Dict[str, Any], None] = ...,
        secret_key_ref: Union[SecretKeySelector, Dict[str, Any], None] = ...,
    ) -> None: ...

class EphemeralContainer(Struct):
    def __init__(
        self,
        *,
        name: str,
        args: Optional[Sequence[str]] = ...,
        command: Optional[Sequence[str]] = ...,
        env: Optional[Sequence[Union[EnvVar, Dict[str, Any]]]] = ...,
        env_from: Optional[Sequence[Union[EnvFromSource, Dict[str, Any]]]] = ...,
        image: Optional[str] = ...,
        image_pull_policy: Optional[str] = ...,
        lifecycle: Union[Lifecycle, Dict[str, Any], None] = ...,
        liveness_probe: Union[Probe, Dict[str, Any], None] = ...,
        ports: Optional[Sequence[Union[ContainerPort, Dict[str, Any]]]] = ...,
        readiness_probe: Union[Probe, Dict[str, Any], None] = ...,
        resize_policy: Optional[Sequence[Union[ContainerResizePolicy, Dict[str, Any]]]] = ...,
        resources: Union[ResourceRequirements, Dict[str, Any], None] = ...,
        security_context: Union[SecurityContext, Dict[str, Any], None] = ...,
        startup_probe: Union[Probe, Dict[str, Any], None] = ...,
        stdin: Optional[bool] = ...,
        stdin_once: Optional[bool] = ...,
        target_container_name: Optional[str] = ...,
        termination_message_path: Optional[str] = ...,
        termination_message_policy: Optional[str] = ...,
        tty: Optional[bool] = ...,
        volume_devices: Optional[Sequence[Union[VolumeDevice, Dict[str, Any]]]] = ...,
        volume_mounts: Optional[Sequence[Union[VolumeMount, Dict[str, Any]]]] = ...,
        working_dir: Optional[str] = ...,
    ) -> None: ...

class EphemeralVolumeSource(Struct):
    def __init__(
        self,
        *,
        volume_claim_template: Union[PersistentVolumeClaimTemplate, Dict[str, Any], None] = ...,
    ) -> None: ...

class ExecAction(Struct):
    def __init__(self, *, command: Optional[Sequence[str]] = ...) -> None: ...

class FcVolumeSource(Struct):
    def __init__(
        self,
        *,
        fs_type: Optional[str] = ...,
        lun: Union[int, float, None] = ...,
        read_only: Optional[bool] = ...,
        target_ww_ns: Optional[Sequence[str]] = ...,
        wwids: Optional[Sequence[str]] = ...,
    ) -> None: ...

class FlexPersistentVolumeSource(Struct):
    def __init__(
        self,
        *,
        driver: str,
        fs_type: Optional[str] = ...,
        options: Optional[Mapping[str, str]] = ...,
        read_only: Optional[bool] = ...,
        secret_ref: Union[SecretReference, Dict[str, Any], None] = ...,
    ) -> None: ...

class FlexVolumeSource(Struct):
    def __init__(
        self,
        *,
        driver: str,
        fs_type: Optional[str] = ...,
        options: Optional[Mapping[str, str]] = ...,
        read_only: Optional[bool] = ...,
        secret_ref: Union[LocalObjectReference, Dict[str, Any], None] = ...,
    ) -> None: ...

class FlockerVolumeSource(Struct):
    def __init__(
        self, *, dataset_name: Optional[str] = ..., dataset_uuid: Optional[str] = ...
    ) -> None: ...

class GcePersistentDiskVolumeSource(Struct):
    def __init__(
        self,
        *,
        pd_name: str,
        fs_type: Optional[str] = ...,
        partition: Union[int, float, None] = ...,
        read_only: Optional[bool] = ...,
    ) -> None: ...

class GitRepoVolumeSource(Struct):
    def __init__(
        self, *, repository: str, directory: Optional[str] = ..., revision: Optional[str] = ...
    ) -> None: ...

class GlusterfsPersistentVolumeSource(Struct):
    def __init__(
        self,
        *,
        endpoints: str,
        path: str,
        endpoints_namespace: Optional[str] = ...,
        read_only: Optional[bool] = ...,
    ) -> None: ...

class GlusterfsVolumeSource(Struct):
    def __init__(self, *, endpoints: str, path: str, read_only: Optional[bool] = ...) -> None: ...

class GrpcAction(Struct):
    def __init__(self, *, port: Union[int, float], service: Optional[str] = ...) -> None: ...

class HostAlias(Struct):
    def __init__(
        self, *, hostnames: Optional[Sequence[str]] = ..., ip: Optional[str] = ...
    ) -> None: ...

class HostPathVolumeSource(Struct):
    def __init__(self, *, path: str, type: Optional[str] = ...) -> None: ...

class HttpGetAction(Struct):
    def __init__(
        self,
        *,
        port: IntOrString,
        host: Optional[str] = ...,
        http_headers: Optional[Sequence[Union[HttpHeader, Dict[str, Any]]]] = ...,
        path: Optional[str] = ...,
        scheme: Optional[str] = ...,
    ) -> None: ...

class HttpHeader(Struct):
    def __init__(self, *, name: str, value: str) -> None: ...

class IpBlock(Struct):
    def __init__(self, *, cidr: str, except_: Optional[Sequence[str]] = ...) -> None: ...

class IscsiPersistentVolumeSource(Struct):
    def __init__(
        self,
        *,
        iqn: str,
        lun: Union[int, float],
        target_portal: str,
        chap_auth_discovery: Optional[bool] = ...,
        chap_auth_session: Optional[bool] = ...,
        fs_type: Optional[str] = ...,
        initiator_name: Optional[str] = ...,
        iscsi_interface: Optional[str] = ...,
        portals: Optional[Sequence[str]] = ...,
        read_only: Optional[bool] = ...,
        secret_ref: Union[SecretReference, Dict[str, Any], None] = ...,
    ) -> None: ...

class IscsiVolumeSource(Struct):
    def __init__(
        self,
        *,
        iqn: str,
        lun: Union[int, float],
        target_portal: str,
        chap_auth_discovery: Optional[bool] = ...,
        chap_auth_session: Optional[bool] = ...,
        fs_type: Optional[str] = ...,
        initiator_name: Optional[str] = ...,
        iscsi_interface: Optional[str] = ...,
        portals: Optional[Sequence[str]] = ...,
        read_only: Optional[bool] = ...,
        secret_ref: Union[LocalObjectReference, Dict[str, Any], None] = ...,
    ) -> None: ...

class JobSpec(Struct):
    def __init__(
        self,
        *,
        template: Union[PodTemplateSpec, Dict[str, Any]],
        active_deadline_seconds: Union[int, float, None] = ...,
        backoff_limit: Union[int, float, None] = ...,
        completion_mode: Optional[str] = ...,
        completions: Union[int, float, None] = ...,
        manual_selector: Optional[bool] = ...,
        parallelism: Union[int, float, None] = ...,
        pod_failure_policy: Union[PodFailurePolicy, Dict[str, Any], None] = ...,
        selector: Union[LabelSelector, Dict[str, Any], None] = ...,
        suspend: Optional[bool] = ...,
        ttl_seconds_after_finished: Union[int, float, None] = ...,
    ) -> None: ...

class KeyToPath(Struct):
    def __init__(self, *, key: str, path: str, mode: Union[int, float, None] = ...) -> None: ...

class LabelSelector(Struct):
    def __init__(
        self,
        *,
        match_expressions: Optional[
            Sequence[Union[LabelSelectorRequirement, Dict[str, Any]]]
        ] = ...,
        match_labels: Optional[Mapping[str, str]] = ...,
    ) -> None: ...

class LabelSelectorRequirement(Struct):
    def __init__(
        self, *, key: str, operator: str, values: Optional[Sequence[str]] = ...
    ) -> None: ...

class Lifecycle(Struct):
    def __init__(
        self,
        *,
        post_start: Union[LifecycleHandler, Dict[str, Any], None] = ...,
        pre_stop: Union[LifecycleHandler, Dict[str, Any], None] = ...,
    ) -> None: ...

class LifecycleHandler(Struct):
    def __init__(
        self,
        *,
        exec: Union[ExecAction, Dict[str, Any], None] = ...,
        http_get: Union[HttpGetAction, Dict[str, Any], None] = ...,
        tcp_socket: Union[TcpSocketAction, Dict[str, Any], None] = ...,
    ) -> None: ...

class LocalObjectReference(Struct):
    def __init__(self, *, name: Optional[str] = ...) -> None: ...

class LocalVolumeSource(Struct):
    def __init__(self, *, path: str, fs_type: Optional[str] = ...) -> None: ...

class ManagedFieldsEntry(Struct):
    def __init__(
        self,
        *,
        api_version: Optional[str] = ...,
        fields_type: Optional[str] = ...,
        fields_v1: Any = ...,
        manager: Optional[str] = ...,
        operation: Optional[str] = ...,
        subresource: Optional[str] = ...,
        time: Optional[datetime.datetime] = ...,
    ) -> None: ...

class NamespaceSpec(Struct):
    def __init__(self, *, finalizers: Optional[Sequence[str]] = ...) -> None: ...

class NetworkPolicyEgressRule(Struct):
    def __init__(
        self,
        *,
        ports: Optional[Sequence[Union[NetworkPolicyPort, Dict[str, Any]]]] = ...,
        to: Optional[Sequence[Union[NetworkPolicyPeer, Dict[str, Any]]]] = ...,
    ) -> None: ...

class NetworkPolicyIngressRule(Struct):
    def __init__(
        self,
        *,
        from_: Optional[Sequence[Union[NetworkPolicyPeer, Dict[str, Any]]]] = ...,
        ports: Optional[Sequence[Union[NetworkPolicyPort, Dict[str, Any]]]] = ...,
    ) -> None: ...

class NetworkPolicyPeer(Struct):
    def __init__(
        self,
        *,
        ip_block: Union[IpBlock, Dict[str, Any], None] = ...,
        namespace_selector: Union[LabelSelector, Dict[str, Any], None] = ...,
        pod_selector: Union[LabelSelector, Dict[str, Any], None] = ...,
    ) -> None: ...

class NetworkPolicyPort(Struct):
    def __init__(
        self,
        *,
        end_port: Union[int, float, None] = ...,
        port: Optional[IntOrString] = ...,
        protocol: Optional[str] = ...,
    ) -> None: ...

class NetworkPolicySpec(Struct):
    def __init__(
        self,
        *,
        pod_selector: Union[LabelSelector, Dict[str, Any]],
        egress: Optional[Sequence[Union[NetworkPolicyEgressRule, Dict[str, Any]]]] = ...,
        ingress: Optional[Sequence[Union[NetworkPolicyIngressRule, Dict[str, Any]]]] = ...,
        policy_types: Optional[Sequence[str]] = ...,
    ) -> None: ...

class NfsVolumeSource(Struct):
    def __init__(self, *, path: str, server: str, read_only: Optional[bool] = ...) -> None: ...

class NodeAffinity(Struct):
    def __init__(
        self,
        *,
        preferred_during_scheduling_ignored_during_execution: Optional[
            Sequence[Union[PreferredSchedulingTerm, Dict[str, Any]]]
        ] = ...,
        required_during_scheduling_ignored_during_execution: Union[
            NodeSelector, Dict[str, Any], None
        ] = ...,
    ) -> None: ...

class NodeSelector(Struct):
    def __init__(
        self, *, node_selector_terms: Sequence[Union[NodeSelectorTerm, Dict[str, Any]]]
    ) -> None: ...

class NodeSelectorRequirement(Struct):
    def __init__(
        self, *, key: str, operator: str, values: Optional[Sequence[str]] = ...
    ) -> None: ...

class NodeSelectorTerm(Struct):
    def __init__(
        self,
        *,
        match_expressions: Optional[Sequence[Union[NodeSelectorRequirement, Dict[str, Any]]]] = ...,
        match_fields: Optional[Sequence[Union[NodeSelectorRequirement, Dict[str, Any]]]] = ...,
    ) -> None: ...

class ObjectFieldSelector(Struct):
    def __init__(self, *, field_path: str, api_version: Optional[str] = ...) -> None: ...

class ObjectMeta(Struct):
    def __init__(
        self,
        *,
        annotations: Optional[Mapping[str, str]] = ...,
        creation_timestamp: Optional[datetime.datetime] = ...,
        deletion_grace_period_seconds: Union[int, float, None] = ...,
        deletion_timestamp: Optional[datetime.datetime] = ...,
        finalizers: Optional[Sequence[str]] = ...,
        generate_name: Optional[str] = ...,
        generation: Union[int, float, None] = ...,
        labels: Optional[Mapping[str, str]] = ...,
        managed_fields: Optional[Sequence[Union[ManagedFieldsEntry, Dict[str, Any]]]] = ...,
        name: Optional[str] = ...,
        namespace: Optional[str] = ...,
        owner_references: Optional[Sequence[Union[OwnerReference, Dict[str, Any]]]] = ...,
        resource_version: Optional[str] = ...,
        self_link: Optional[str] = ...,
        uid: Optional[str] = ...,
    ) -> None: ...

class ObjectReference(Struct):
    def __init__(
        self,
        *,
        api_version: Optional[str] = ...,
        field_path: Optional[str] = ...,
        kind: Optional[str] = ...,
        name: Optional[str] = ...,
        namespace: Optional[str] = ...,
        resource_version: Optional[str] = ...,
        uid: Optional[str] = ...,
    ) -> None: ...

class OwnerReference(Struct):
    def __init__(
        self,
        *,
        api_version: str,
        kind: str,
        name: str,
        uid: str,
        block_owner_deletion: Optional[bool] = ...,
        controller: Optional[bool] = ...,
    ) -> None: ...

class PersistentVolumeClaimSpec(Struct):
    def __init__(
        self,
        *,
        access_modes: Optional[Sequence[str]] = ...,
        data_source: Union[TypedLocalObjectReference, Dict[str, Any], None] = ...,
        data_source_ref: Union[TypedObjectReference, Dict[str, Any], None] = ...,
        resources: Union[ResourceRequirements, Dict[str, Any], None] = ...,
        selector: Union[LabelSelector, Dict[str, Any], None] = ...,
        storage_class_name: Optional[str] = ...,
        volume_mode: Optional[str] = ...,
        volume_name: Optional[str] = ...,
    ) -> None: ...

class PersistentVolumeClaimTemplate(Struct):
    def __init__(
        self,
        *,
        spec: Union[PersistentVolumeClaimSpec, Dict[str, Any]],
        metadata: Union[ObjectMeta, Dict[str, Any], None] = ...,
    ) -> None: ...

class PersistentVolumeClaimVolumeSource(Struct):
    def __init__(self, *, claim_name: str, read_only: Optional[bool] = ...) -> None: ...

class PersistentVolumeSpec(Struct):
    def __init__(
        self,
        *,
        access_modes: Optional[Sequence[str]] = ...,
        aws_elastic_block_store: Union[
            AwsElasticBlockStoreVolumeSource, Dict[str, Any], None
        ] = ...,
        azure_disk: Union[AzureDiskVolumeSource, Dict[str, Any], None] = ...,
        azure_file: Union[AzureFilePersistentVolumeSource, Dict[str, Any], None] = ...,
        capacity: Optional[Mapping[str, Quantity]] = ...,
        cephfs: Union[CephFsPersistentVolumeSource, Dict[str, Any], None] = ...,
        cinder: Union[CinderPersistentVolumeSource, Dict[str, Any], None] = ...,
        claim_ref: Union[ObjectReference, Dict[str, Any], None] = ...,
        csi: Union[CsiPersistentVolumeSource, Dict[str, Any], None] = ...,
        fc: Union[FcVolumeSource, Dict[str, Any], None] = ...,
        flex_volume: Union[FlexPersistentVolumeSource, Dict[str, Any], None] = ...,
        flocker: Union[FlockerVolumeSource, Dict[str, Any], None] = ...,
        gce_persistent_disk: Union[GcePersistentDiskVolumeSource, Dict[str, Any], None] = ...,
        glusterfs: Union[GlusterfsPersistentVolumeSource, Dict[str, Any], None] = ...,
        host_path: Union[HostPathVolumeSource, Dict[str, Any], None] = ...,
        iscsi: Union[IscsiPersistentVolumeSource, Dict[str, Any], None] = ...,
        local: Union[LocalVolumeSource, Dict[str, Any], None] = ...,
        mount_options: Optional[Sequence[str]] = ...,
        nfs: Union[NfsVolumeSource, Dict[str, Any], None] = ...,
        node_affinity: Union[VolumeNodeAffinity, Dict[str, Any], None] = ...,
        persistent_volume_reclaim_policy: Optional[str] = ...,
        photon_persistent_disk: Union[PhotonPersistentDiskVolumeSource, Dict[str, Any], None] = ...,
        portworx_volume: Union[PortworxVolumeSource, Dict[str, Any], None] = ...,
        quobyte: Union[QuobyteVolumeSource, Dict[str, Any], None] = ...,
        rbd: Union[RbdPersistentVolumeSource, Dict[str, Any], None] = ...,
        scale_io: Union[ScaleIoPersistentVolumeSource, Dict[str, Any], None] = ...,
        storage_class_name: Optional[str] = ...,
        storageos: Union[StorageOsPersistentVolumeSource, Dict[str, Any], None] = ...,
        volume_mode: Optional[str] = ...,
        vsphere_volume: Union[VsphereVirtualDiskVolumeSource, Dict[str, Any], None] = ...,
    ) -> None: ...

class PhotonPersistentDiskVolumeSource(Struct):
    def __init__(self, *, pd_id: str, fs_type: Optional[str] = ...) -> None: ...

class PodAffinity(Struct):
    def __init__(
        self,
        *,
        preferred_during_scheduling_ignored_during_execution: Optional[
            Sequence[Union[WeightedPodAffinityTerm, Dict[str, Any]]]
        ] = ...,
        required_during_scheduling_ignored_during_execution: Optional[
            Sequence[Union[PodAffinityTerm, Dict[str, Any]]]
        ] = ...,
    ) -> None: ...

class PodAffinityTerm(Struct):
    def __init__(
        self,
        *,
        topology_key: str,
        label_selector: Union[LabelSelector, Dict[str, Any], None] = ...,
        namespaces: Optional[Sequence[str]] = ...,
        namespace_selector: Union[LabelSelector, Dict[str, Any], None] = ...,
    ) -> None: ...

class PodAntiAffinity(Struct):
    def __init__(
        self,
        *,
        preferred_during_scheduling_ignored_during_execution: Optional[
            Sequence[Union[WeightedPodAffinityTerm, Dict[str, Any]]]
        ] = ...,
        required_during_scheduling_ignored_during_execution: Optional[
            Sequence[Union[PodAffinityTerm, Dict[str, Any]]]
        ] = ...,
    ) -> None: ...

class PodDisruptionBudgetSpec(Struct):
    def __init__(
        self,
        *,
        max_unavailable: Optional[IntOrString] = ...,
        min_available: Optional[IntOrString] = ...,
        selector: Union[LabelSelector, Dict[str, Any], None] = ...,
        unhealthy_pod_eviction_policy: Optional[str] = ...,
    ) -> None: ...

class PodDnsConfig(Struct):
    def __init__(
        self,
        *,
        nameservers: Optional[Sequence[str]] = ...,
        options: Optional[Sequence[Union[PodDnsConfigOption, Dict[str, Any]]]] = ...,
        searches: Optional[Sequence[str]] = ...,
    ) -> None: ...

class PodDnsConfigOption(Struct):
    def __init__(self, *, name: Optional[str] = ..., value: Optional[str] = ...) -> None: ...

class PodFailurePolicy(Struct):
    def __init__(self, *, rules: Sequence[Union[PodFailurePolicyRule, Dict[str, Any]]]) -> None: ...

class PodFailurePolicyOnExitCodesRequirement(Struct):
    def __init__(
        self,
        *,
        operator: str,
        values: Sequence[Union[int, float]],
        container_name: Optional[str] = ...,
    ) -> None: ...

class PodFailurePolicyOnPodConditionsPattern(Struct):
    def __init__(self, *, status: str, type: str) -> None: ...

class PodFailurePolicyRule(Struct):
    def __init__(
        self,
        *,
        action: str,
        on_pod_conditions: Sequence[Union[PodFailurePolicyOnPodConditionsPattern, Dict[str, Any]]],
        on_exit_codes: Union[PodFailurePolicyOnExitCodesRequirement, Dict[str, Any], None] = ...,
    ) -> None: ...

class PodOs(Struct):
    def __init__(self, *, name: str) -> None: ...

class PodReadinessGate(Struct):
    def __init__(self, *, condition_type: str) -> None: ...

class PodResourceClaim(Struct):
    def __init__(
        self, *, name: str, source: Union[ClaimSource, Dict[str, Any], None] = ...
    ) -> None: ...

class PodSchedulingGate(Struct):
    def __init__(self, *, name: str) -> None: ...

class PodSecurityContext(Struct):
    def __init__(
        self,
        *,
        fs_group: Union[int, float, None] = ...,
        fs_group_change_policy: Optional[str] = ...,
        run_as_group: Union[int, float, None] = ...,
        run_as_non_root: Optional[bool] = ...,
        run_as_user: Union[int, float, None] = ...,
        seccomp_profile: Union[SeccompProfile, Dict[str, Any], None] = ...,
        se_linux_options: Union[SeLinuxOptions, Dict[str, Any], None] = ...,
        supplemental_groups: Optional[Sequence[Union[int, float]]] = ...,
        sysctls: Optional[Sequence[Union[Sysctl, Dict[str, Any]]]] = ...,
        windows_options: Union[WindowsSecurityContextOptions, Dict[str, Any], None] = ...,
    ) -> None: ...

class PodSpec(Struct):
    def __init__(
        self,
        *,
        containers: Sequence[Union[Container, Dict[str, Any]]],
        active_deadline_seconds: Union[int, float, None] = ...,
        affinity: Union[Affinity, Dict[str, Any], None] = ...,
        automount_service_account_token: Optional[bool] = ...,
        dns_config: Union[PodDnsConfig, Dict[str, Any], None] = ...,
        dns_policy: Optional[str] = ...,
        enable_service_links: Optional[bool] = ...,
        ephemeral_containers: Optional[Sequence[Union[EphemeralContainer, Dict[str, Any]]]] = ...,
        host_aliases: Optional[Sequence[Union[HostAlias, Dict[str, Any]]]] = ...,
        host_ipc: Optional[bool] = ...,
        hostname: Optional[str] = ...,
        host_network: Optional[bool] = ...,
        host_pid: Optional[bool] = ...,
        host_users: Optional[bool] = ...,
        image_pull_secrets: Optional[Sequence[Union[LocalObjectReference, Dict[str, Any]]]] = ...,
        init_containers: Optional[Sequence[Union[Container, Dict[str, Any]]]] = ...,
        node_name: Optional[str] = ...,
        node_selector: Optional[Mapping[str, str]] = ...,
        os: Union[PodOs, Dict[str, Any], None] = ...,
        overhead: Optional[Mapping[str, Quantity]] = ...,
        preemption_policy: Optional[str] = ...,
        priority: Union[int, float, None] = ...,
        priority_class_name: Optional[str] = ...,
        readiness_gates: Optional[Sequence[Union[PodReadinessGate, Dict[str, Any]]]] = ...,
        resource_claims: Optional[Sequence[Union[PodResourceClaim, Dict[str, Any]]]] = ...,
        restart_policy: Optional[str] = ...,
        runtime_class_name: Optional[str] = ...,
        scheduler_name: Optional[str] = ...,
        scheduling_gates: Optional[Sequence[Union[PodSchedulingGate, Dict[str, Any]]]] = ...,
        security_context: Union[PodSecurityContext, Dict[str, Any], None] = ...,
        service_account: Optional[str] = ...,
        service_account_name: Optional[str] = ...,
        set_hostname_as_fqdn: Optional[bool] = ...,
        share_process_namespace: Optional[bool] = ...,
        subdomain: Optional[str] = ...,
        termination_grace_period_seconds: Union[int, float, None] = ...,
        tolerations: Optional[Sequence[Union[Toleration, Dict[str, Any]]]] = ...,
        topology_spread_constraints: Optional[
            Sequence[Union[TopologySpreadConstraint, Dict[str, Any]]]
        ] = ...,
        volumes: Optional[Sequence[Union[Volume, Dict[str, Any]]]] = ...,
    ) -> None: ...

class PodTemplateSpec(Struct):
    def __init__(
        self,
        *,
        metadata: Union[ObjectMeta, Dict[str, Any], None] = ...,
        spec: Union[PodSpec, Dict[str, Any], None] = ...,
    ) -> None: ...

class PolicyRule(Struct):
    def __init__(
        self,
        *,
        verbs: Sequence[str],
        api_groups: Optional[Sequence[str]] = ...,
        non_resource_ur_ls: Optional[Sequence[str]] = ...,
        resource_names: Optional[Sequence[str]] = ...,
        resources: Optional[Sequence[str]] = ...,
    ) -> None: ...

class PortworxVolumeSource(Struct):
    def __init__(
        self, *, volume_id: str, fs_type: Optional[str] = ..., read_only: Optional[bool] = ...
    ) -> None: ...

class PreferredSchedulingTerm(Struct):
    def __init__(
        self, *, preference: Union[NodeSelectorTerm, Dict[str, Any]], weight: Union[int, float]
    ) -> None: ...

class Probe(Struct):
    def __init__(
        self,
        *,
        exec: Union[ExecAction, Dict[str, Any], None] = ...,
        failure_threshold: Union[int, float, None] = ...,
        grpc: Union[GrpcAction, Dict[str, Any], None] = ...,
        http_get: Union[HttpGetAction, Dict[str, Any], None] = ...,
        initial_delay_seconds: Union[int, float, None] = ...,
        period_seconds: Union[int, float, None] = ...,
        success_threshold: Union[int, float, None] = ...,
        tcp_socket: Union[TcpSocketAction, Dict[str, Any], None] = ...,
        termination_grace_period_seconds: Union[int, float, None] = ...,
        timeout_seconds: Union[int, float, None] = ...,
    ) -> None: ...

class ProjectedVolumeSource(Struct):
    def __init__(
        self,
        *,
        default_mode: Union[int, float, None] = ...,
        sources: Optional[Sequence[Union[VolumeProjection, Dict[str, Any]]]] = ...,
    ) -> None: ...

class QuobyteVolumeSource(Struct):
    def __init__(
        self,
        *,
        registry: str,
        volume: str,
        group: Optional[str] = ...,
        read_only: Optional[bool] = ...,
        tenant: Optional[str] = ...,
        user: Optional[str] = ...,
    ) -> None: ...

class RbdPersistentVolumeSource(Struct):
    def __init__(
        self,
        *,
        image: str,
        monitors: Sequence[str],
        fs_type: Optional[str] = ...,
        keyring: Optional[str] = ...,
        pool: Optional[str] = ...,
        read_only: Optional[bool] = ...,
        secret_ref: Union[SecretReference, Dict[str, Any], None] = ...,
        user: Optional[str] = ...,
    ) -> None: ...

class RbdVolumeSource(Struct):
    def __init__(
        self,
        *,
        image: str,
        monitors: Sequence[str],
        fs_type: Optional[str] = ...,
        keyring: Optional[str] = ...,
        pool: Optional[str] = ...,
        read_only: Optional[bool] = ...,
        secret_ref: Union[LocalObjectReference, Dict[str, Any], None] = ...,
        user: Optional[str] = ...,
    ) -> None: ...

class ResourceClaim(Struct):
    def __init__(self, *, name: str) -> None: ...

class ResourceFieldSelector(Struct):
    def __init__(
        self,
        *,
        resource: str,
        container_name: Optional[str] = ...,
        divisor: Optional[Quantity] = ...,
    ) -> None: ...

class ResourceRequirements(Struct):
    def __init__(
        self,
        *,
        claims: Optional[Sequence[Union[ResourceClaim, Dict[str, Any]]]] = ...,
        limits: Optional[Mapping[str, Quantity]] = ...,
        requests: Optional[Mapping[str, Quantity]] = ...,
    ) -> None: ...

class RoleRef(Struct):
    def __init__(self, *, api_group: str, kind: str, name: str) -> None: ...

class RollingUpdateDaemonSet(Struct):
    def __init__(
        self,
        *,
        max_surge: Optional[IntOrString] = ...,
        max_unavailable: Optional[IntOrString] = ...,
    ) -> None: ...

class RollingUpdateDeployment(Struct):
    def __init__(
        self,
        *,
        max_surge: Optional[IntOrString] = ...,
        max_unavailable: Optional[IntOrString] = ...,
    ) -> None: ...

class ScaleIoPersistentVolumeSource(Struct):
    def __init__(
        self,
        *,
        gateway: str,
        secret_ref: Union[SecretReference, Dict[str, Any]],
        system: str,
        fs_type: Optional[str] = ...,
        protection_domain: Optional[str] = ...,
        read_only: Optional[bool] = ...,
        ssl_enabled: Optional[bool] = ...,
        storage_mode: Optional[str] = ...,
        storage_pool: Optional[str] = ...,
        volume_name: Optional[str] = ...,
    ) -> None: ...

class ScaleIoVolumeSource(Struct):
    def __init__(
        self,
        *,
        gateway: str,
        secret_ref: Union[LocalObjectReference, Dict[str, Any]],
        system: str,
        fs_type: Optional[str] = ...,
        protection_domain: Optional[str] = ...,
        read_only: Optional[bool] = ...,
        ssl_enabled: Optional[bool] = ...,
        storage_mode: Optional[str] = ...,
        storage_pool: Optional[str] = ...,
        volume_name: Optional[str] = ...,
    ) -> None: ...

class SeLinuxOptions(Struct):
    def __init__(
        self,
        *,
        level: Optional[str] = ...,
        role: Optional[str] = ...,
        type: Optional[str] = ...,
        user: Optional[str] = ...,
    ) -> None: ...

class SeccompProfile(Struct):
    def __init__(self, *, type: str, localhost_profile: Optional[str] = ...) -> None: ...

class SecretEnvSource(Struct):
    def __init__(self, *, name: Optional[str] = ..., optional: Optional[bool] = ...) -> None: ...

class SecretKeySelector(Struct):
    def __init__(
        self, *, key: str, name: Optional[str] = ..., optional: Optional[bool] = ...
    ) -> None: ...

class SecretProjection(Struct):
    def __init__(
        self,
        *,
        items: Optional[Sequence[Union[KeyToPath, Dict[str, Any]]]] = ...,
        name: Optional[str] = ...,
        optional: Optional[bool] = ...,
    ) -> None: ...

class SecretReference(Struct):
    def __init__(self, *, name: Optional[str] = ..., namespace: Optional[str] = ...) -> None: ...

class SecretVolumeSource(Struct):
    def __init__(
        self,
        *,
        default_mode: Union[int, float, None] = ...,
        items: Optional[Sequence[Union[KeyToPath, Dict[str, Any]]]] = ...,
        optional: Optional[bool] = ...,
        secret_name: Optional[str] = ...,
    ) -> None: ...

class SecurityContext(Struct):
    def __init__(
        self,
        *,
        allow_privilege_escalation: Optional[bool] = ...,
        capabilities: Union[Capabilities, Dict[str, Any], None] = ...,
        privileged: Optional[bool] = ...,
        proc_mount: Optional[str] = ...,
        read_only_root_filesystem: Optional[bool] = ...,
        run_as_group: Union[int, float, None] = ...,
        run_as_non_root: Optional[bool] = ...,
        run_as_user: Union[int, float, None] = ...,
        seccomp_profile: Union[SeccompProfile, Dict[str, Any], None] = ...,
        se_linux_options: Union[SeLinuxOptions, Dict[str, Any], None] = ...,
        windows_options: Union[WindowsSecurityContextOptions, Dict[str, Any], None] = ...,
    ) -> None: ...

class ServiceAccountTokenProjection(Struct):
    def __init__(
        self,
        *,
        path: str,
        audience: Optional[str] = ...,
        expiration_seconds: Union[int, float, None] = ...,
    ) -> None: ...

class ServicePort(Struct):
    def __init__(
        self,
        *,
        port: Union[int, float],
        app_protocol: Optional[str] = ...,
        name: Optional[str] = ...,
        node_port: Union[int, float, None] = ...,
        protocol: Optional[str] = ...,
        target_port: Optional[IntOrString] = ...,
    ) -> None: ...

class ServiceSpec(Struct):
    def __init__(
        self,
        *,
        allocate_load_balancer_node_ports: Optional[bool] = ...,
        cluster_ip: Optional[str] = ...,
        cluster_i_ps: Optional[Sequence[str]] = ...,
        external_i_ps: Optional[Sequence[str]] = ...,
        external_name: Optional[str] = ...,
        external_traffic_policy: Optional[str] = ...,
        health_check_node_port: Union[int, float, None] = ...,
        internal_traffic_policy: Optional[str] = ...,
        ip_families: Optional[Sequence[str]] = ...,
        ip_family_policy: Optional[str] = ...,
        load_balancer_class: Optional[str] = ...,
        load_balancer_ip: Optional[str] = ...,
        load_balancer_source_ranges: Optional[Sequence[str]] = ...,
        ports: Optional[Sequence[Union[ServicePort, Dict[str, Any]]]] = ...,
        publish_not_ready_addresses: Optional[bool] = ...,
        selector: Optional[Mapping[str, str]] = ...,
        session_affinity: Optional[str] = ...,
        session_affinity_config: Union[SessionAffinityConfig, Dict[str, Any], None] = ...,
        type: Optional[str] = ...,
    ) -> None: ...

class SessionAffinityConfig(Struct):
    def __init__(self, *, client_ip: Union[ClientIpConfig, Dict[str, Any], None] = ...) -> None: ...

class StorageOsPersistentVolumeSource(Struct):
    def __init__(
        self,
        *,
        fs_type: Optional[str] = ...,
        read_only: Optional[bool] = ...,
        secret_ref: Union[ObjectReference, Dict[str, Any], None] = ...,
        volume_name: Optional[str] = ...,
        volume_namespace: Optional[str] = ...,
    ) -> None: ...

class StorageOsVolumeSource(Struct):
    def __init__(
        self,
        *,
        fs_type: Optional[str] = ...,
        read_only: Optional[bool] = ...,
        secret_ref: Union[LocalObjectReference, Dict[str, Any], None] = ...,
        volume_name: Optional[str] = ...,
        volume_namespace: Optional[str] = ...,
    ) -> None: ...

class Subject(Struct):
    def __init__(
        self,
        *,
        kind: str,
        name: str,
        api_group: Optional[str] = ...,
        namespace: Optional[str] = ...,
    ) -> None: ...

class Sysctl(Struct):
    def __init__(self, *, name: str, value: str) -> None: ...

class TcpSocketAction(Struct):
    def __init__(self, *, port: IntOrString, host: Optional[str] = ...) -> None: ...

class Toleration(Struct):
    def __init__(
        self,
        *,
        effect: Optional[str] = ...,
        key: Optional[str] = ...,
        operator: Optional[str] = ...,
        toleration_seconds: Union[int, float, None] = ...,
        value: Optional[str] = ...,
    ) -> None: ...

class TopologySpreadConstraint(Struct):
    def __init__(
        self,
        *,
        max_skew: Union[int, float],
        topology_key: str,
        when_unsatisfiable: str,
        label_selector: Union[LabelSelector, Dict[str, Any], None] = ...,
        match_label_keys: Optional[Sequence[str]] = ...,
        min_domains: Union[int, float, None] = ...,
        node_affinity_policy: Optional[str] = ...,
        node_taints_policy: Optional[str] = ...,
    ) -> None: ...

class TypedLocalObjectReference(Struct):
    def __init__(self, *, kind: str, name: str, api_group: Optional[str] = ...) -> None: ...

class TypedObjectReference(Struct):
    def __init__(
        self,
        *,
        kind: str,
        name: str,
        api_group: Optional[str] = ...,
        namespace: Optional[str] = ...,
    ) -> None: ...

class Volume(Struct):
    def __init__(
        self,
        *,
        name: str,
        aws_elastic_block_store: Union[
            AwsElasticBlockStoreVolumeSource, Dict[str, Any], None
        ] = ...,
        azure_disk: Union[AzureDiskVolumeSource, Dict[str, Any], None] = ...,
        azure_file: Union[AzureFileVolumeSource, Dict[str, Any], None] = ...,
        cephfs: Union[CephFsVolumeSource, Dict[str, Any], None] = ...,
        cinder: Union[CinderVolumeSource, Dict[str, Any], None] = ...,
        config_map: Union[ConfigMapVolumeSource, Dict[str, Any], None] = ...,
        csi: Union[CsiVolumeSource, Dict[str, Any], None] = ...,
        downward_api: Union[DownwardApiVolumeSource, Dict[str, Any], None] = ...,
        empty_dir: Union[EmptyDirVolumeSource, Dict[str, Any], None] = ...,
        ephemeral: Union[EphemeralVolumeSource, Dict[str, Any], None] = ...,
        fc: Union[FcVolumeSource, Dict[str, Any], None] = ...,
        flex_volume: Union[FlexVolumeSource, Dict[str, Any], None] = ...,
        flocker: Union[FlockerVolumeSource, Dict[str, Any], None] = ...,
        gce_persistent_disk: Union[GcePersistentDiskVolumeSource, Dict[str, Any], None] = ...,
        git_repo: Union[GitRepoVolumeSource, Dict[str, Any], None] = ...,
        glusterfs: Union[GlusterfsVolumeSource, Dict[str, Any], None] = ...,
        host_path: Union[HostPathVolumeSource, Dict[str, Any], None] = ...,
        iscsi: Union[IscsiVolumeSource, Dict[str, Any], None] = ...,
        nfs: Union[NfsVolumeSource, Dict[str, Any], None] = ...,
        persistent_volume_claim: Union[
            PersistentVolumeClaimVolumeSource, Dict[str, Any], None
        ] = ...,
        photon_persistent_disk: Union[PhotonPersistentDiskVolumeSource, Dict[str, Any], None] = ...,
        portworx_volume: Union[PortworxVolumeSource, Dict[str, Any], None] = ...,
        projected: Union[ProjectedVolumeSource, Dict[str, Any], None] = ...,
        quobyte: Union[QuobyteVolumeSource, Dict[str, Any], None] = ...,
        rbd: Union[RbdVolumeSource, Dict[str, Any], None] = ...,
        scale_io: Union[ScaleIoVolumeSource, Dict[str, Any], None] = ...,
        secret: Union[SecretVolumeSource, Dict[str, Any], None] = ...,
        storageos: Union[StorageOsVolumeSource, Dict[str, Any], None] = ...,
        vsphere_volume: Union[VsphereVirtualDiskVolumeSource, Dict[str, Any], None] = ...,
    ) -> None: ...

class VolumeDevice(Struct):
    def __init__(self, *, device_path: str, name: str) -> None: ...

class VolumeMount(Struct):
    def __init__(
        self,
        *,
        mount_path: str,
        name: str,
        mount_propagation: Optional[str] = ...,
        read_only: Optional[bool] = ...,
        sub_path: Optional[str] = ...,
        sub_path_expr: Optional[str] = ...,
    ) -> None: ...

class VolumeNodeAffinity(Struct):
    def __init__(self, *, required: Union[NodeSelector, Dict[str, Any], None] = ...) -> None: ...

class VolumeProjection(Struct):
    def __init__(
        self,
        *,
        config_map: Union[ConfigMapProjection, Dict[str, Any], None] = ...,
        downward_api: Union[DownwardApiProjection, Dict[str, Any], None] = ...,
        secret: Union[SecretProjection, Dict[str, Any], None] = ...,
        service_account_token: Union[ServiceAccountTokenProjection, Dict[str, Any], None] = ...,
    ) -> None: ...

class VsphereVirtualDiskVolumeSource(Struct):
    def __init__(
        self,
        *,
        volume_path: str,
        fs_type: Optional[str] = ...,
        storage_policy_id: Optional[str] = ...,
        storage_policy_name: Optional[str] = ...,
    ) -> None: ...

class WeightedPodAffinityTerm(Struct):
    def __init__(
        self,
        *,
        pod_affinity_term: Union[PodAffinityTerm, Dict[str, Any]],
        weight: Union[int, float],
    ) -> None: ...

class WindowsSecurityContextOptions(Struct):
    def __init__(
        self,
        *,
        gmsa_credential_spec: Optional[str] = ...,
        gmsa_credential_spec_name: Optional[str] = ...,
        host_process: Optional[bool] = ...,
        run_as_user_name: Optional[str] = ...,
    ) -> None: ...

class KubeClusterRole(KubeObject):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        aggregation_rule: Union[AggregationRule, Dict[str, Any], None] = ...,
        metadata: Union[ObjectMeta, Dict[str, Any], None] = ...,
        rules: Optional[Sequence[Union[PolicyRule, Dict[str, Any]]]] = ...,
    ) -> None: ...

class KubeClusterRoleBinding(KubeObject):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        role_ref: Union[RoleRef, Dict[str, Any]],
        metadata: Union[ObjectMeta, Dict[str, Any], None] = ...,
        subjects: Optional[Sequence[Union[Subject, Dict[str, Any]]]] = ...,
    ) -> None: ...

class KubeConfigMap(KubeObject):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        binary_data: Optional[Mapping[str, str]] = ...,
        data: Optional[Mapping[str, str]] = ...,
        immutable: Optional[bool] = ...,
        metadata: Union[ObjectMeta, Dict[str, Any], None] = ...,
    ) -> None: ...

class KubeDaemonSet(KubeObject):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        metadata: Union[ObjectMeta, Dict[str, Any], None] = ...,
        spec: Union[DaemonSetSpec, Dict[str, Any], None] = ...,
    ) -> None: ...

class KubeDeployment(KubeObject):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        metadata: Union[ObjectMeta, Dict[str, Any], None] = ...,
        spec: Union[DeploymentSpec, Dict[str, Any], None] = ...,
    ) -> None: ...

class KubeJob(KubeObject):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        metadata: Union[ObjectMeta, Dict[str, Any], None] = ...,
        spec: Union[JobSpec, Dict[str, Any], None] = ...,
    ) -> None: ...

class KubeNamespace(KubeObject):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        metadata: Union[ObjectMeta, Dict[str, Any], None] = ...,
        spec: Union[NamespaceSpec, Dict[str, Any], None] = ...,
    ) -> None: ...

class KubeNetworkPolicy(KubeObject):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        metadata: Union[ObjectMeta, Dict[str, Any], None] = ...,
        spec: Union[NetworkPolicySpec, Dict[str, Any], None] = ...,
    ) -> None: ...

class KubePersistentVolume(KubeObject):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        metadata: Union[ObjectMeta, Dict[str, Any], None] = ...,
        spec: Union[PersistentVolumeSpec, Dict[str, Any], None] = ...,
    ) -> None: ...

class KubePersistentVolumeClaim(KubeObject):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        metadata: Union[ObjectMeta, Dict[str, Any], None] = ...,
        spec: Union[PersistentVolumeClaimSpec, Dict[str, Any], None] = ...,
    ) -> None: ...

class KubePodDisruptionBudget(KubeObject):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        metadata: Union[ObjectMeta, Dict[str, Any], None] = ...,
        spec: Union[PodDisruptionBudgetSpec, Dict[str, Any], None] = ...,
    ) -> None: ...

class KubeRole(KubeObject):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        metadata: Union[ObjectMeta, Dict[str, Any], None] = ...,
        rules: Optional[Sequence[Union[PolicyRule, Dict[str, Any]]]] = ...,
    ) -> None: ...

class KubeRoleBinding(KubeObject):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        role_ref: Union[RoleRef, Dict[str, Any]],
        metadata: Union[ObjectMeta, Dict[str, Any], None] = ...,
        subjects: Optional[Sequence[Union[Subject, Dict[str, Any]]]] = ...,
    ) -> None: ...

class KubeService(KubeObject):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        metadata: Union[ObjectMeta, Dict[str, Any], None] = ...,
        spec: Union[ServiceSpec, Dict[str, Any], None] = ...,
    ) -> None: ...

class KubeServiceAccount(KubeObject):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        automount_service_account_token: Optional[bool] = ...,
        image_pull_secrets: Optional[Sequence[Union[LocalObjectReference, Dict[str, Any]]]] = ...,
        metadata: Union[ObjectMeta, Dict[str, Any], None] = ...,
        secrets: Optional[Sequence[Union[ObjectReference, Dict[str, Any]]]] = ...,
    ) -> None: ...

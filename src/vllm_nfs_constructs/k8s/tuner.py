"""NetworkTunerDaemonSet: GPU nodes take no workload until their network is tuned and verified."""

from __future__ import annotations

from typing import Any

import cdk8s
from constructs import Construct

from .. import contracts
from ..errors import ConfigurationError
from ..values import _checks as v
from ..values.images import PYTHON_IMAGE, check_image
from ..values.taints import NOT_TUNED_TAINT, Taint
from . import _common as c
from . import _k8s as k8s
from ._escape_hatches import cluster_scoped, raw_object
from ._pod import ContainerModel, LazyDaemonSet, PodModel
from .namespace import PodSecurityLevel, WorkloadNamespace
from .programs import TUNER_PROGRAMS, ProgramsConfigMap

__all__ = ["NetworkTunerDaemonSet"]

MIB = 1024 * 1024
READY_FILE = "/run/tuner/ready"
#: Why the tuner is deliberately privileged (``vllm-nfs validate`` accepts host access only on
#: objects carrying this annotation).
PRIVILEGED_REASON = (
    "network tuner: hostNetwork and privileged to set the node's MTU and TCP sysctls, then lift "
    "its start-up taint; nothing else runs in its namespace (docs/network-tuning.md)"
)


#: Policy-scanner findings the tuner has on purpose, with the reason shipped in the YAML.
_CHECKOV_SKIPS = c.checkov_skips(
    (
        "CKV_K8S_16",
        "privileged: writing host sysctls needs it (containerd mounts "
        "/proc/sys read-only otherwise); the pod does nothing else",
    ),
    (
        "CKV_K8S_19",
        "hostNetwork: the MTU and TCP sysctls of the node's own network "
        "namespace are what it tunes",
    ),
    ("CKV_K8S_20", "privileged implies privilege escalation; see CKV_K8S_16"),
    ("CKV_K8S_23", "runs as root: sysctl and SIOCSIFMTU need CAP_NET_ADMIN/CAP_SYS_ADMIN"),
    ("CKV_K8S_37", "capabilities: privileged; see CKV_K8S_16"),
    (
        "CKV_K8S_38",
        "the token is needed to remove the taint; RBAC allows get/patch nodes "
        "only and the admission policy limits it to its own node's taint",
    ),
    ("CKV_K8S_40", "runs as root; see CKV_K8S_23"),
    c.SKIP_DIGEST,
    c.SKIP_PULL_ALWAYS,
    ("CKV_K8S_28", "NET_RAW: privileged; see CKV_K8S_16"),
    (
        "CKV_K8S_8",
        "no liveness probe on purpose: the program retries with backoff and "
        "reports failure through readiness; a restart would not fix a node's network",
    ),
    ("CKV_K8S_155", "ClusterRole only; patch on nodes is the tuner's purpose"),
)


class NetworkTunerDaemonSet(Construct):
    """Tunes each GPU node's VPC network, verifies it, and only then lifts the not-tuned taint.

    GPU nodes join tainted ``node.digitalocean.com/network-not-tuned=true:NoSchedule`` (the GPU
    pool's taint). This DaemonSet tolerates that taint and the GPU taints, runs
    ``runtime/tuner.py`` from a ConfigMap in a stock Python image, sets the interface MTU and the
    TCP buffer sysctls, reads them back, and removes the taint from its own Node with a guarded
    JSON patch. It then keeps re-verifying (drift is re-applied; a re-tainted node is untainted
    again once verified); its pod is ready only while the node is tuned.

    It lives in its own namespace (Pod Security ``privileged``, nothing else in it): host sysctls
    need a privileged container and the MTU needs ``hostNetwork``. Its ServiceAccount may only
    ``get`` and ``patch`` nodes, and a ValidatingAdmissionPolicy (Kubernetes >= 1.32) narrows that
    to removing this one taint from the node the pod runs on.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        gpu_node_pool: str | None = None,
        taint: Taint = NOT_TUNED_TAINT,
        interface: str = "eth1",
        mtu: int = 9000,
        buffer_bytes: int = 16 * MIB,
        interval_seconds: int = 60,
        metrics_port: int = contracts.TUNER_METRICS_PORT,
        image: str = PYTHON_IMAGE,
        admission_policy: bool = True,
        namespace: str = "vllm-network-tuner",
        name: str | None = None,
        create_namespace: bool = True,
    ) -> None:
        """
        Args:
            gpu_node_pool: run on this DOKS node pool; default every node with the
                ``doks.digitalocean.com/gpu-brand`` label (all GPU nodes).
            taint: the taint to lift (default ``node.digitalocean.com/network-not-tuned=true:
                NoSchedule``, the GPU pool's taint from the cloud layer).
            interface: the VPC interface (default ``eth1``; ``eth0`` is public).
            mtu: 1280..9002 (default 9000; GPU Droplets support up to 9002 on the VPC interface).
            buffer_bytes: ``net.core.rmem_max``/``wmem_max`` and the max of
                ``net.ipv4.tcp_rmem``/``tcp_wmem`` (default 16 MiB).
            interval_seconds: re-verification period (default 60).
            metrics_port: host port of the tuner's Prometheus endpoint (``GET /metrics``, bound
                to the VPC interface's address, never the public one; default 9101, 0 disables).
            image: a stock Python 3 image (default ``python:3.13.9-slim-bookworm``).
            admission_policy: emit the ValidatingAdmissionPolicy and binding (default True;
                needs Kubernetes >= 1.32 for the node-name claim; switch off on older clusters).
            namespace: the tuner's own namespace (default ``vllm-network-tuner``).
            name: default the construct id (names the DaemonSet, ServiceAccount, RBAC).
            create_namespace: emit the Namespace (Pod Security ``privileged``; default True;
                emitted once per App when tuners of several pools share it).
        """
        super().__init__(scope, id)
        c.attach(self, scope)
        f = "NetworkTunerDaemonSet"
        if not isinstance(taint, Taint):
            raise ConfigurationError(f"{f}.taint", taint, "a Taint(key, value, effect)")
        self.taint = taint
        self.name = c.object_name(f"{f}.name", id, name)
        self.namespace = v.dns_label(f"{f}.namespace", namespace)
        v.instance_of(f"{f}.create_namespace", create_namespace, bool, "True or False")
        if create_namespace:
            # The tuner labels the namespace it creates Pod Security `privileged`.
            v.namespace_owned(f"{f}.namespace", namespace)
        if gpu_node_pool is not None:
            v.label_value(f"{f}.gpu_node_pool", gpu_node_pool)
        if (
            not isinstance(interface, str)
            or not 0 < len(interface) < 16
            or any(ch in interface for ch in "/ \t\n:")
        ):
            raise ConfigurationError(
                f"{f}.interface", interface, "a Linux interface name (1-15 characters, no '/')"
            )
        self.mtu = v.integer(
            f"{f}.mtu",
            mtu,
            minimum=1280,
            maximum=9002,
            fix="DigitalOcean GPU Droplets support jumbo frames up to MTU 9002 on eth1.",
        )
        self.buffer_bytes = v.integer(
            f"{f}.buffer_bytes", buffer_bytes, minimum=212992, maximum=1024 * MIB
        )
        v.integer(f"{f}.interval_seconds", interval_seconds, minimum=5, maximum=86400)
        image = check_image(f"{f}.image", image)
        if not isinstance(admission_policy, bool):
            raise ConfigurationError(f"{f}.admission_policy", admission_policy, "True or False")
        self.service_account = self.name
        self.username = f"system:serviceaccount:{self.namespace}:{self.service_account}"
        lbl = c.labels(self.name, "network-tuner")
        sel = c.selector_labels(self.name, "network-tuner")
        #: Labels that select the tuner's pods (its PodMonitor).
        self.selector_labels = sel
        self.metrics_port = v.integer(f"{f}.metrics_port", metrics_port, minimum=0, maximum=65535)

        # Tuners of several pools share their namespace: the first one in the App emits it.
        namespaces = c.app_registry(self).tuner_namespaces
        if create_namespace and self.namespace not in namespaces:
            namespaces[self.namespace] = self
            self.namespace_object: WorkloadNamespace | None = WorkloadNamespace(
                self,
                "Namespace",
                name=self.namespace,
                pod_security=PodSecurityLevel.PRIVILEGED,
                # NetworkPolicies do not apply to hostNetwork pods; a deny-all here would only
                # look like protection. RBAC and the admission policy bound the tuner instead.
                default_deny=False,
            )
        else:
            self.namespace_object = None
        programs = ProgramsConfigMap.of(self, self.namespace, programs=TUNER_PROGRAMS)
        #: The ConfigMap holding ``tuner.py``.
        self.programs = programs
        role_name = self._rbac(lbl)
        #: The ValidatingAdmissionPolicy and its binding (None with ``admission_policy=False``).
        self.admission_policy: cdk8s.ApiObject | None = None
        self.admission_policy_binding: cdk8s.ApiObject | None = None
        if admission_policy:
            self._admission_policy(role_name, lbl)

        args = [
            "--interface",
            interface,
            "--mtu",
            str(self.mtu),
            "--buffer-bytes",
            str(self.buffer_bytes),
            "--taint-key",
            taint.key,
            "--taint-value",
            taint.value,
            "--taint-effect",
            taint.effect.value,
            "--interval",
            str(interval_seconds),
            "--ready-file",
            READY_FILE,
            "--metrics-port",
            str(self.metrics_port),
        ]
        node_selector, affinity = c.node_placement(gpu_node_pool, gpu=True)
        tolerations = [
            k8s.Toleration(
                key=taint.key, operator="Equal", value=taint.value, effect=taint.effect.value
            ),
            k8s.Toleration(key="nvidia.com/gpu", operator="Exists", effect="NoSchedule"),
            k8s.Toleration(key="amd.com/gpu", operator="Exists", effect="NoSchedule"),
        ]
        #: The tuner's pod as a model (rendered at synth).
        self.pod = PodModel(
            role="tuner",
            gpu=True,
            labels={**lbl, **sel},
            annotations={"vllm-nfs-constructs/programs-sha256": programs.checksum},
            service_account_name=self.service_account,
            automount_service_account_token=True,
            host_network=True,
            dns_policy="ClusterFirstWithHostNet",
            priority_class_name="system-node-critical",
            termination_grace_period_seconds=10,
            node_selector=node_selector or {},
            affinity=affinity,
            tolerations=tolerations,
            security_context=k8s.PodSecurityContext(
                seccomp_profile=k8s.SeccompProfile(type="RuntimeDefault")
            ),
        )
        self.pod.add_container(
            ContainerModel(
                name=contracts.TUNER_CONTAINER,
                image=image,
                image_pull_policy="IfNotPresent",
                command=programs.command(contracts.TUNER_PROGRAM, *args),
                ports=[
                    k8s.ContainerPort(
                        name=contracts.TUNER_METRICS_PORT_NAME,
                        container_port=self.metrics_port,
                        protocol="TCP",
                    )
                ]
                if self.metrics_port
                else [],
                env=[
                    k8s.EnvVar(
                        name="NODE_NAME",
                        value_from=k8s.EnvVarSource(
                            field_ref=k8s.ObjectFieldSelector(field_path="spec.nodeName")
                        ),
                    ),
                    k8s.EnvVar(name="PYTHONUNBUFFERED", value="1"),
                ],
                security_context=k8s.SecurityContext(
                    privileged=True, read_only_root_filesystem=True, run_as_user=0
                ),
                requests={"cpu": "10m", "memory": "32Mi"},
                limits={"cpu": "100m", "memory": "64Mi"},
                readiness_probe=k8s.Probe(
                    exec=k8s.ExecAction(command=["test", "-f", READY_FILE]),
                    period_seconds=5,
                    failure_threshold=1,
                ),
                volume_mounts=[
                    programs.mount_spec,
                    k8s.VolumeMount(name="run", mount_path="/run/tuner"),
                ],
            )
        )
        self.pod.add_volume(programs.volume_spec)
        self.pod.add_volume(c.empty_dir("run", "1Mi"))
        self.daemon_set = LazyDaemonSet(
            self,
            "DaemonSet",
            metadata=c.metadata(
                self,
                "DaemonSet",
                self.name,
                self.namespace,
                lbl,
                {**_CHECKOV_SKIPS, contracts.PRIVILEGED_ANNOTATION: PRIVILEGED_REASON},
            ),
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

    def _rbac(self, lbl: dict[str, str]) -> str:
        """The ServiceAccount and a ClusterRole allowing ``get`` and ``patch`` on nodes (the
        admission policy narrows it to this taint on the pod's own node); returns the role's
        name."""
        f = "NetworkTunerDaemonSet"
        self.service_account_object = k8s.KubeServiceAccount(
            self,
            "ServiceAccount",
            metadata=c.metadata(self, "ServiceAccount", self.service_account, self.namespace, lbl),
            automount_service_account_token=False,
        )
        role_name = v.dns_subdomain(f"{f}.name", f"{self.namespace}-{self.name}")
        self.cluster_role = k8s.KubeClusterRole(
            self,
            "ClusterRole",
            metadata=c.metadata(self, "ClusterRole", role_name, None, lbl),
            rules=[k8s.PolicyRule(api_groups=[""], resources=["nodes"], verbs=["get", "patch"])],
        )
        cluster_scoped(self.cluster_role, self)
        self.cluster_role_binding = k8s.KubeClusterRoleBinding(
            self,
            "ClusterRoleBinding",
            metadata=c.metadata(self, "ClusterRoleBinding", role_name, None, lbl),
            role_ref=k8s.RoleRef(
                api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=role_name
            ),
            subjects=[
                k8s.Subject(
                    kind="ServiceAccount", name=self.service_account, namespace=self.namespace
                )
            ],
        )
        cluster_scoped(self.cluster_role_binding, self)
        return role_name

    def _admission_policy(self, policy_name: str, lbl: dict[str, str]) -> None:
        key = self.taint.key
        effect = self.taint.effect.value
        target = f"(t.key == '{key}' && t.effect == '{effect}')"
        variables = [
            {
                "name": "nodeName",
                "expression": (
                    # userInfo.extra is omitted when empty: test it before reading it.
                    "has(request.userInfo.extra) && "
                    "'authentication.kubernetes.io/node-name' in request.userInfo.extra && "
                    "size(request.userInfo.extra['authentication.kubernetes.io/node-name']) > 0"
                    " ? request.userInfo.extra['authentication.kubernetes.io/node-name'][0] : ''"
                ),
            },
            {
                "name": "oldTaints",
                "expression": "has(oldObject.spec.taints) ? oldObject.spec.taints : []",
            },
            {
                "name": "newTaints",
                "expression": "has(object.spec.taints) ? object.spec.taints : []",
            },
        ]
        same = [
            ("labels", "object.metadata.labels", "oldObject.metadata.labels"),
            ("annotations", "object.metadata.annotations", "oldObject.metadata.annotations"),
        ]
        validations: list[dict[str, Any]] = [
            {
                "expression": (
                    "variables.nodeName != '' && object.metadata.name == variables.nodeName"
                ),
                "message": "the network tuner may only modify the node its pod runs on",
                "reason": "Forbidden",
            },
            {
                "expression": "variables.newTaints.all(t, t in variables.oldTaints)",
                "message": "the network tuner may not add or change taints",
                "reason": "Forbidden",
            },
            {
                "expression": f"variables.oldTaints.all(t, t in variables.newTaints || {target})",
                "message": f"the network tuner may only remove the taint {key}:{effect}",
                "reason": "Forbidden",
            },
            {
                "expression": (
                    "(has(object.spec.unschedulable) ? object.spec.unschedulable : false) == "
                    "(has(oldObject.spec.unschedulable) ? oldObject.spec.unschedulable : false)"
                ),
                "message": "the network tuner may not cordon or uncordon nodes",
                "reason": "Forbidden",
            },
        ]
        for what, new, old in same:
            field = new.rsplit(".", 1)[1]
            validations.append(
                {
                    "expression": (
                        f"(has({new}) ? {new} : {{}}) == "
                        f"(has(oldObject.metadata.{field}) ? {old} : {{}})"
                    ),
                    "message": f"the network tuner may not change node {what}",
                    "reason": "Forbidden",
                }
            )
        # ownerReferences pointing at a missing owner would let the garbage collector delete
        # the Node; finalizers could block its deletion.
        for field in ("ownerReferences", "finalizers"):
            validations.append(
                {
                    "expression": (
                        f"(has(object.metadata.{field}) ? object.metadata.{field} : []) == "
                        f"(has(oldObject.metadata.{field}) ? oldObject.metadata.{field} : [])"
                    ),
                    "message": f"the network tuner may not change node {field}",
                    "reason": "Forbidden",
                }
            )
        lbl_policy = {**lbl, "app.kubernetes.io/component": "admission-policy"}
        self.admission_policy = raw_object(
            self,
            "ValidatingAdmissionPolicy",
            api_version="admissionregistration.k8s.io/v1",
            kind="ValidatingAdmissionPolicy",
            name=policy_name,
            namespace=None,
            labels=lbl_policy,
            body={
                "spec": {
                    "failurePolicy": "Fail",
                    "matchConstraints": {
                        "resourceRules": [
                            {
                                "apiGroups": [""],
                                "apiVersions": ["v1"],
                                "operations": ["UPDATE"],
                                "resources": ["nodes"],
                            }
                        ]
                    },
                    "matchConditions": [
                        {
                            "name": "is-network-tuner",
                            "expression": f"request.userInfo.username == '{self.username}'",
                        }
                    ],
                    "variables": variables,
                    "validations": validations,
                }
            },
        )
        self.admission_policy_binding = raw_object(
            self,
            "ValidatingAdmissionPolicyBinding",
            api_version="admissionregistration.k8s.io/v1",
            kind="ValidatingAdmissionPolicyBinding",
            name=policy_name,
            namespace=None,
            labels=lbl_policy,
            body={"spec": {"policyName": policy_name, "validationActions": ["Deny"]}},
        )

"""``VllmDeployment.add_extension`` (#29 item 5): a user's sidecar in one extension, mounts that
carry their volumes, two volumes under one name refused, restricted security kept."""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import cdk8s
import pytest
from cdk8s_plus_27 import k8s

from tests.conftest import find
from tests.k8s._fixtures import volume
from vllm_nfs_constructs import (
    ContainerModel,
    Mount,
    PodExtension,
    ServingPod,
    VllmDeployment,
    VllmOptions,
)
from vllm_nfs_constructs.errors import ConfigurationError

LOGS = k8s.Volume(
    name="logs", empty_dir=k8s.EmptyDirVolumeSource(size_limit=k8s.Quantity.from_string("1Gi"))
)


@dataclass(frozen=True)
class LogShipper:
    """A user's extension, written here only: a log-shipper sidecar reading vLLM's log
    directory (an emptyDir both mount) and an env var on the vLLM container."""

    image: str = "docker.io/fluent/fluent-bit:3.2.4"
    name: str = "log-shipper"

    def extend(self, pod: ServingPod) -> None:
        pod.add_container(
            ContainerModel(
                name="log-shipper",
                image=self.image,
                args=["-i", "tail", "-p", "path=/logs/*.log", "-o", "stdout"],
                requests={"cpu": "10m", "memory": "32Mi"},
                limits={"cpu": "100m", "memory": "64Mi"},
            )
        )
        pod.mount("log-shipper", Mount(LOGS, "/logs", read_only=True))
        pod.mount("vllm", Mount(LOGS, "/logs"))
        pod.add_env("vllm", "VLLM_LOG_DIR", "/logs")


def deployment(chart: cdk8s.Chart, **options: Any) -> VllmDeployment:
    return VllmDeployment(
        chart,
        "vllm",
        volume=volume(chart),
        gpu_node_pool="gpu",
        options=VllmOptions(warm_up=False, **options),
    )


def pod_spec(objs: list[dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = find(objs, "Deployment", "vllm")["spec"]["template"]["spec"]
    return spec


def containers(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in spec["containers"] + spec.get("initContainers", [])}


def test_user_sidecar_is_one_extension(chart: cdk8s.Chart, synth: Any) -> None:
    d = deployment(chart)
    ext = LogShipper()
    assert isinstance(ext, PodExtension)
    assert d.add_extension(ext) is ext and d.extensions == [ext]
    spec = pod_spec(synth(chart))
    by_name = containers(spec)
    shipper = by_name["log-shipper"]
    assert shipper["image"] == ext.image
    assert shipper["volumeMounts"] == [{"mountPath": "/logs", "name": "logs", "readOnly": True}]
    vllm = by_name["vllm"]
    assert {"mountPath": "/logs", "name": "logs"} in vllm["volumeMounts"]
    assert {"name": "VLLM_LOG_DIR", "value": "/logs"} in vllm["env"]
    # The volume came with the mount, once, after the library's own.
    logs = [v for v in spec["volumes"] if v["name"] == "logs"]
    assert logs == [{"name": "logs", "emptyDir": {"sizeLimit": "1Gi"}}]
    assert spec["volumes"][-1]["name"] == "logs"


def test_extension_container_gets_the_restricted_defaults(chart: cdk8s.Chart, synth: Any) -> None:
    deployment(chart, uid=2000, gid=3000).add_extension(LogShipper())
    spec = pod_spec(synth(chart))
    by_name = containers(spec)
    context = by_name["log-shipper"]["securityContext"]
    # The same as the library's own containers (the vLLM server and the model gate).
    assert context == by_name["vllm"]["securityContext"] == by_name["model-gate"]["securityContext"]
    # And what Pod Security "restricted" asks of a container.
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["runAsNonRoot"] is True and context["runAsUser"] == 2000
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}


def test_extension_added_after_construction_is_rendered(chart: cdk8s.Chart, synth: Any) -> None:
    d = deployment(chart)
    before = containers(pod_spec(synth(chart)))
    assert "log-shipper" not in before
    d.add_extension(LogShipper())
    assert "log-shipper" in containers(pod_spec(synth(chart)))


def test_two_volumes_under_one_name_raise_naming_both_owners(chart: cdk8s.Chart) -> None:
    @dataclass(frozen=True)
    class OtherLogs:
        name: str = "other-logs"

        def extend(self, pod: ServingPod) -> None:
            pod.mount(
                "vllm", Mount(k8s.Volume(name="logs", empty_dir=k8s.EmptyDirVolumeSource()), "/x")
            )

    d = deployment(chart)
    d.add_extension(LogShipper())
    with pytest.raises(ConfigurationError) as err:
        d.add_extension(OtherLogs())
    assert "'other-logs'" in str(err.value) and "'log-shipper'" in str(err.value)
    assert "'logs'" in str(err.value)


def test_same_volume_twice_is_kept_once(chart: cdk8s.Chart, synth: Any) -> None:
    @dataclass(frozen=True)
    class MoreLogs:
        name: str = "more-logs"

        def extend(self, pod: ServingPod) -> None:
            pod.add_init_container(
                ContainerModel(name="log-init", image="docker.io/library/busybox:1.37"),
                sidecar=True,
            )
            pod.mount("log-init", Mount(LOGS, "/logs"))

    d = deployment(chart)
    d.add_extension(LogShipper())
    d.add_extension(MoreLogs())
    spec = pod_spec(synth(chart))
    assert [v["name"] for v in spec["volumes"]].count("logs") == 1
    assert containers(spec)["log-init"]["restartPolicy"] == "Always"


def test_library_volume_name_taken_by_a_different_volume_raises(chart: cdk8s.Chart) -> None:
    @dataclass(frozen=True)
    class Home:
        name: str = "my-home"

        def extend(self, pod: ServingPod) -> None:
            pod.add_volume(k8s.Volume(name="home", empty_dir=k8s.EmptyDirVolumeSource()))

    with pytest.raises(ConfigurationError, match=r"'my-home'.*VllmDeployment 'vllm'"):
        deployment(chart).add_extension(Home())


def test_privileged_sidecar_is_refused(chart: cdk8s.Chart) -> None:
    @dataclass(frozen=True)
    class Privileged:
        name: str = "root-shell"

        def extend(self, pod: ServingPod) -> None:
            pod.add_container(
                ContainerModel(
                    name="shell",
                    image="docker.io/library/busybox:1.37",
                    security_context=k8s.SecurityContext(privileged=True),
                )
            )

    with pytest.raises(ConfigurationError, match="privileged: true"):
        deployment(chart).add_extension(Privileged())


def test_extension_cannot_strip_the_library_security(chart: cdk8s.Chart) -> None:
    @dataclass(frozen=True)
    class Strip:
        name: str = "strip"

        def extend(self, pod: ServingPod) -> None:
            # Reaching past ServingPod to the model itself is caught after the extension ran.
            pod.deployment.pod.container("vllm").security_context = None

    @dataclass(frozen=True)
    class StripPod:
        name: str = "strip-pod"

        def extend(self, pod: ServingPod) -> None:
            pod.deployment.pod.security_context = None

    d = deployment(chart)
    with pytest.raises(ConfigurationError, match="extension 'strip': container 'vllm'"):
        d.add_extension(Strip())
    with pytest.raises(ConfigurationError, match="securityContext"):
        deployment(cdk8s.Chart(cdk8s.Testing.app(), "t2")).add_extension(StripPod())


def test_env_the_library_set_is_not_replaced(chart: cdk8s.Chart) -> None:
    @dataclass(frozen=True)
    class Online:
        name: str = "online"

        def extend(self, pod: ServingPod) -> None:
            pod.add_env("vllm", "HF_HUB_OFFLINE", "0")

    with pytest.raises(ConfigurationError, match="HF_HUB_OFFLINE"):
        deployment(chart).add_extension(Online())


def test_not_an_extension_is_refused(chart: cdk8s.Chart) -> None:
    with pytest.raises(ConfigurationError, match="PodExtension"):
        deployment(chart).add_extension("log-shipper")  # type: ignore[arg-type]


def test_warm_up_and_compile_cache_are_extensions(chart: cdk8s.Chart) -> None:
    d = VllmDeployment(
        chart,
        "vllm",
        volume=volume(chart),
        gpu_node_pool="gpu",
        gpu_slug="gpu-h100x1-80gb",
        options=VllmOptions(compile_cache=True),
    )
    assert [e.name for e in d.extensions] == ["compile-cache", "warm-up"]


@dataclass(frozen=True)
class EnvAsText:
    """A user's mistake: environment as ``NAME=value`` text where ``EnvVar`` structs go."""

    name: str = "env-as-text"

    def extend(self, pod: ServingPod) -> None:
        pod.add_container(
            ContainerModel(
                name="helper",
                image="docker.io/library/busybox:1.37",
                env=["MODE=fast"],
                requests={"cpu": "10m", "memory": "32Mi"},
                limits={"cpu": "100m", "memory": "64Mi"},
            )
        )


def test_a_value_that_is_not_the_struct_its_field_takes_fails_naming_it(
    chart: cdk8s.Chart, synth: Any
) -> None:
    deployment(chart).add_extension(EnvAsText())
    # Raised while cdk8s synthesizes (the pod renders then, from the bindings' own structs so
    # their run-time checks see the user's values), so jsii hands it back wrapped.
    with pytest.raises(RuntimeError, match=r"type of argument env must be"):
        synth(chart)


@dataclass(frozen=True)
class EnvAsDicts:
    """Structs given as dicts of their fields (as the bindings accept them)."""

    name: str = "env-as-dicts"

    def extend(self, pod: ServingPod) -> None:
        pod.add_container(
            ContainerModel(
                name="helper",
                image="docker.io/library/busybox:1.37",
                env=[{"name": "MODE", "value": "fast"}, k8s.EnvVar(name="LEVEL", value="2")],
                requests={"cpu": "10m", "memory": "32Mi"},
                limits={"cpu": "100m", "memory": "64Mi"},
            )
        )


def test_structs_given_as_dicts_render_as_the_structs(chart: cdk8s.Chart, synth: Any) -> None:
    deployment(chart).add_extension(EnvAsDicts())
    helper = containers(pod_spec(synth(chart)))["helper"]
    assert helper["env"] == [{"name": "MODE", "value": "fast"}, {"name": "LEVEL", "value": "2"}]


def _extension(extend: Any) -> Any:
    @dataclass(frozen=True)
    class Ext:
        name: str = "ext"

        def extend(self, pod: ServingPod) -> None:
            extend(pod)

    return Ext()


def _helper(**fields: Any) -> ContainerModel:
    base: dict[str, Any] = {
        "name": "helper",
        "image": "docker.io/library/busybox:1.37",
        "requests": {"cpu": "10m", "memory": "32Mi"},
        "limits": {"cpu": "100m", "memory": "64Mi"},
    }
    return ContainerModel(**{**base, **fields})


def test_the_share_from_pod_volume_is_the_library_s_own_models_volume(
    chart: cdk8s.Chart, synth: Any
) -> None:
    # pod_volume() hands out cdk8s-plus-27's struct; the pod holds the library's: the same
    # volume, so it is kept once and the sub-path mount is added.
    def extend(pod: ServingPod) -> None:
        share = pod.deployment.volume.pod_volume()
        pod.mount("vllm", Mount(share, "/cache", sub_path="cache"))

    deployment(chart).add_extension(_extension(extend))
    spec = pod_spec(synth(chart))
    assert [v["name"] for v in spec["volumes"]].count("models") == 1
    mount = {"mountPath": "/cache", "name": "models", "subPath": "cache"}
    assert mount in containers(spec)["vllm"]["volumeMounts"]


def test_a_mount_the_container_has_already_is_kept_once(chart: cdk8s.Chart, synth: Any) -> None:
    def extend(pod: ServingPod) -> None:
        pod.add_container(_helper(volume_mounts=[k8s.VolumeMount(name="logs", mount_path="/logs")]))
        pod.mount("helper", Mount(LOGS, "/logs"))

    deployment(chart).add_extension(_extension(extend))
    helper = containers(pod_spec(synth(chart)))["helper"]
    assert helper["volumeMounts"] == [{"mountPath": "/logs", "name": "logs"}]


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"requests": {"cpu": 1, "memory": "32Mi"}}, "type of argument value must be str"),
        ({"env": [{"name": "A", "value": 1}]}, "type of argument value must be one of"),
        ({"env": [{"value": "x"}]}, "missing 1 required keyword-only argument: 'name'"),
    ],
    ids=["quantity-int", "env-value-int", "env-without-name"],
)
def test_users_values_meet_the_bindings_checks(
    chart: cdk8s.Chart, synth: Any, fields: dict[str, Any], error: str
) -> None:
    deployment(chart).add_extension(_extension(lambda pod: pod.add_container(_helper(**fields))))
    with pytest.raises(RuntimeError, match=re.escape(error)):
        synth(chart)


def test_values_the_renderer_leaves_to_jsii_render(chart: cdk8s.Chart, synth: Any) -> None:
    attributes = OrderedDict(b="1", a="2")
    csi = k8s.Volume(name="x", csi=k8s.CsiVolumeSource(driver="d", volume_attributes=attributes))
    deployment(chart).add_extension(_extension(lambda pod: pod.mount("vllm", Mount(csi, "/x"))))
    volumes = {v["name"]: v for v in pod_spec(synth(chart))["volumes"]}
    assert volumes["x"] == {
        "csi": {"driver": "d", "volumeAttributes": {"b": "1", "a": "2"}},
        "name": "x",
    }

"""Security controls on the synthesized output: NetworkPolicy selectors, Pod Security levels."""

from __future__ import annotations

from typing import Any

import cdk8s
import pytest

from tests.conftest import find, find_all
from vllm_nfs_constructs import (
    InfraOutputs,
    ModelSource,
    NetworkPeer,
    ServedModel,
    VllmNfsChart,
)

Obj = dict[str, Any]


@pytest.fixture(scope="module")
def objs() -> list[Obj]:
    app = cdk8s.Testing.app()
    chart = VllmNfsChart(
        app,
        "vllm",
        infra=InfraOutputs("10.0.0.5", "/1/share", "gpu-pool"),
        models=[
            ServedModel("qwen"),
            ServedModel(
                "llama",
                ModelSource("meta-llama/Llama-3.1-8B", "main", moving_revision=True),
            ),
        ],
        allow_from=[NetworkPeer("monitoring", {"app.kubernetes.io/name": "prometheus"})],
    )
    return [dict(o) for o in cdk8s.Testing.synth(chart)]


def pods(objs: list[Obj]) -> list[tuple[Obj, Obj]]:
    """(workload, pod template) for every workload."""
    return [
        (o, o["spec"]["template"]) for o in objs if o["kind"] in {"Deployment", "Job", "DaemonSet"}
    ]


def selects(selector: Obj, labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def policies_for(objs: list[Obj], namespace: str, labels: dict[str, str]) -> list[Obj]:
    return [
        p
        for p in find_all(objs, "NetworkPolicy")
        if p["metadata"]["namespace"] == namespace and selects(p["spec"]["podSelector"], labels)
    ]


def test_workload_namespace_denies_everything_by_default(objs):
    deny = find(objs, "NetworkPolicy", "default-deny")
    assert deny["metadata"]["namespace"] == "vllm"
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_every_workload_pod_is_selected_by_its_own_policy_and_no_other(objs):
    checked = []
    for workload, template in pods(objs):
        ns = workload["metadata"]["namespace"]
        if ns != "vllm":
            continue
        labels = template["metadata"]["labels"]
        names = {p["metadata"]["name"] for p in policies_for(objs, ns, labels)}
        own = workload["metadata"]["labels"]["app.kubernetes.io/name"]
        assert names == {"default-deny", own}, (workload["metadata"]["name"], names)
        checked.append(workload["kind"])
    assert {"Deployment", "Job"} <= set(checked), checked  # the loop reached the model's pods


def test_vllm_pods_accept_only_the_scraper_and_reach_only_dns(objs):
    qwen = find(objs, "NetworkPolicy", "qwen")["spec"]
    (rule,) = qwen["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8000}]
    assert rule["from"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
        }
    ]
    (egress,) = qwen["egress"]
    assert egress["to"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ]
    assert {(p["protocol"], p["port"]) for p in egress["ports"]} == {("UDP", 53), ("TCP", 53)}


def test_gateway_data_path_is_allowed_by_cilium_policy_per_route(objs):
    cnps = {c["metadata"]["name"]: c for c in find_all(objs, "CiliumNetworkPolicy")}
    assert set(cnps) == {"gateway-qwen-from-gateway", "gateway-llama-from-gateway"}
    qwen_pod = find(objs, "Deployment", "qwen")["spec"]["template"]["metadata"]["labels"]
    llama_pod = find(objs, "Deployment", "llama")["spec"]["template"]["metadata"]["labels"]
    spec = cnps["gateway-qwen-from-gateway"]["spec"]
    assert selects(spec["endpointSelector"], qwen_pod)
    assert not selects(spec["endpointSelector"], llama_pod)
    assert spec["ingress"] == [
        {"fromEntities": ["ingress"], "toPorts": [{"ports": [{"port": "8000", "protocol": "TCP"}]}]}
    ]


def test_download_job_reaches_only_dns_and_https_and_accepts_nothing(objs):
    pol = find(objs, "NetworkPolicy", "qwen-download")["spec"]
    assert "ingress" not in pol
    assert pol["policyTypes"] == ["Ingress", "Egress"]
    ports = {(p["protocol"], p["port"]) for rule in pol["egress"] for p in rule["ports"]}
    assert ports == {("UDP", 53), ("TCP", 53), ("TCP", 443)}
    jobs = {j["metadata"]["labels"]["app.kubernetes.io/name"]: j for j in find_all(objs, "Job")}
    assert selects(
        pol["podSelector"], jobs["qwen-download"]["spec"]["template"]["metadata"]["labels"]
    )
    assert not selects(
        pol["podSelector"], jobs["llama-download"]["spec"]["template"]["metadata"]["labels"]
    )


# Pod Security Standards, "restricted" profile:
# kubernetes.io/docs/concepts/security/pod-security-standards
ALLOWED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


def restricted_violations(pod: Obj) -> list[str]:
    spec = pod["spec"]
    problems = []
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key):
            problems.append(key)
    for vol in spec.get("volumes", []):
        kinds = set(vol) - {"name"}
        if not kinds <= ALLOWED_VOLUMES:
            problems.append(f"volume {vol['name']}: {kinds}")
    pod_sc = spec.get("securityContext", {})
    for c in spec.get("containers", []) + spec.get("initContainers", []):
        sc = c.get("securityContext", {})
        name = c["name"]
        if sc.get("privileged"):
            problems.append(f"{name}: privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation")
        if not (sc.get("runAsNonRoot") or pod_sc.get("runAsNonRoot")):
            problems.append(f"{name}: runAsNonRoot")
        if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
            problems.append(f"{name}: runAsUser 0")
        seccomp = sc.get("seccompProfile", pod_sc.get("seccompProfile", {})).get("type")
        if seccomp not in {"RuntimeDefault", "Localhost"}:
            problems.append(f"{name}: seccomp {seccomp}")
        caps = sc.get("capabilities", {})
        if "ALL" not in caps.get("drop", []):
            problems.append(f"{name}: capabilities not dropped")
        if set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
            problems.append(f"{name}: adds capabilities")
        if c.get("ports") and any(p.get("hostPort") for p in c["ports"]):
            problems.append(f"{name}: hostPort")
    return problems


def test_workload_namespace_enforces_restricted_and_every_pod_there_fits_it(objs):
    ns = find(objs, "Namespace", "vllm")["metadata"]["labels"]
    assert ns["pod-security.kubernetes.io/enforce"] == "restricted"
    assert ns["pod-security.kubernetes.io/audit"] == "restricted"
    checked = 0
    for workload, template in pods(objs):
        if workload["metadata"]["namespace"] == "vllm":
            assert restricted_violations(template) == [], workload["metadata"]["name"]
            checked += 1
    assert checked == 5  # two Deployments, two Jobs, the image pre-puller


def test_the_checker_catches_the_tuner_which_is_why_it_lives_apart(objs):
    ds = find(objs, "DaemonSet", "network-tuner")
    problems = restricted_violations(ds["spec"]["template"])
    assert "hostNetwork" in problems and "tuner: privileged" in problems
    ns = find(objs, "Namespace", "vllm-network-tuner")["metadata"]["labels"]
    assert ns["pod-security.kubernetes.io/enforce"] == "privileged"
    in_tuner_ns = {
        (o["kind"], o["metadata"]["name"])
        for o in objs
        if o["metadata"].get("namespace") == "vllm-network-tuner"
    }
    assert in_tuner_ns == {
        ("DaemonSet", "network-tuner"),
        ("ServiceAccount", "network-tuner"),
        ("ConfigMap", "vllm-nfs-tuner-program"),
    }


def test_only_the_tuner_gets_a_service_account_token(objs):
    names = [workload["metadata"]["name"] for workload, _ in pods(objs)]
    assert "network-tuner" in names and len(names) > 1, names  # both branches below are reached
    for workload, template in pods(objs):
        automount = template["spec"].get("automountServiceAccountToken")
        if workload["metadata"]["name"] == "network-tuner":
            assert automount is True
        else:
            assert automount is False, workload["metadata"]["name"]


def test_every_container_has_resource_requests(objs):
    for _, template in pods(objs):
        for c in template["spec"]["containers"] + template["spec"].get("initContainers", []):
            assert {"cpu", "memory"} <= set(c["resources"]["requests"]), c["name"]


def test_no_token_like_value_reaches_dist_or_cdktf_out(tmp_path, repo_env):
    """Both apps synthesized with token-like variables set: no value appears in either output."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    secrets = {
        "HF_TOKEN": "hf_FAKEsecretTOKEN0123456789abcdefgh",
        "HUGGING_FACE_HUB_TOKEN": "hf_FAKEsecondTOKEN9876543210zyxwv",
        "DIGITALOCEAN_TOKEN": "dop_v1_FAKE0123456789abcdef0123456789abcdef",
        "DIGITALOCEAN_ACCESS_TOKEN": "dop_v1_FAKEaccess9876543210fedcba98765",
        "AWS_SECRET_ACCESS_KEY": "FAKEspacesSecretKey0123456789abcdefghij",
        "SPACES_SECRET_ACCESS_KEY": "FAKEspaces2Secret0123456789abcdefghij",
    }
    env = {**repo_env, **secrets, "VLLM_NFS_STATE_BUCKET": "tfstate-bucket"}
    work = tmp_path / "repo"
    work.mkdir()
    for app in ("cluster.py", "infra.py"):
        subprocess.run(
            [sys.executable, str(ROOT / "apps" / app)],
            cwd=work,
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )
    outputs = [p for p in work.rglob("*") if p.is_file()]
    assert any(p.match("dist/*.yaml") for p in outputs)
    assert any(p.name == "cdk.tf.json" for p in outputs)
    for path in outputs:
        text = path.read_text(errors="replace")
        for name, value in secrets.items():
            assert value not in text, f"{name} leaked into {path.relative_to(work)}"

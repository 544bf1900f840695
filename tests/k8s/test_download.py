from __future__ import annotations

import hashlib
import inspect
import json
import re
from typing import Any

import cdk8s
import pytest

from tests.conftest import find
from tests.k8s._fixtures import volume
from vllm_nfs_constructs import (
    NOT_TUNED_TAINT_KEY,
    ConfigurationError,
    ModelDownloadJob,
    ModelSource,
    PlatformDefaults,
    SecretKeyRef,
    contracts,
)
from vllm_nfs_constructs.k8s.download import _FETCH_DEFAULT_WORKERS
from vllm_nfs_constructs.runtime import fetch


def job_pod(objs: list[dict[str, Any]]) -> dict[str, Any]:
    return find(objs, "Job")["spec"]["template"]["spec"]


def test_job_fetches_the_pinned_model_as_non_root(chart, synth):
    ModelDownloadJob(chart, "qwen-download", volume=volume(chart))
    objs = synth(chart)
    job = find(objs, "Job")
    assert hashed(job["metadata"]["name"]) == "qwen-download-qwen2-5-0-5b-instruct-7ae557604adf"
    assert job["metadata"]["namespace"] == "vllm"
    spec = job["spec"]
    assert spec["backoffLimit"] == 4
    assert spec["activeDeadlineSeconds"] == 4 * 3600
    assert spec["ttlSecondsAfterFinished"] == 7 * 24 * 3600
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (c,) = pod["containers"]
    assert c["command"] == [
        "python3",
        "/programs/fetch.py",
        "--repo",
        "Qwen/Qwen2.5-0.5B-Instruct",
        "--revision",
        "7ae557604adf67be50417f59c2c2f167def9a775",
        "--root",
        "/models",
    ]
    assert c["image"] == contracts.VLLM_IMAGE
    assert c["securityContext"]["runAsUser"] == 1000
    assert c["securityContext"]["runAsGroup"] == 1000
    assert c["securityContext"]["runAsNonRoot"] is True
    assert {"mountPath": "/models", "name": "models", "readOnly": False} in c["volumeMounts"]


def test_token_comes_from_an_optional_secret_key_ref(chart, synth):
    ModelDownloadJob(chart, "dl", volume=volume(chart), token_secret=SecretKeyRef("hf", "key1"))
    (c,) = job_pod(synth(chart))["containers"]
    (token,) = [e for e in c["env"] if e["name"] == "HF_TOKEN"]
    assert token == {
        "name": "HF_TOKEN",
        "valueFrom": {"secretKeyRef": {"name": "hf", "key": "key1", "optional": True}},
    }


def test_no_token_at_all(chart, synth):
    ModelDownloadJob(chart, "dl", volume=volume(chart), token_secret=None)
    (c,) = job_pod(synth(chart))["containers"]
    assert all(e["name"] != "HF_TOKEN" for e in c["env"])


def test_runs_on_the_management_pool_and_never_tolerates_the_not_tuned_taint(chart, synth):
    ModelDownloadJob(chart, "dl", volume=volume(chart))
    pod = job_pod(synth(chart))
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms["nodeSelectorTerms"] == [
        {
            "matchExpressions": [
                {"key": "doks.digitalocean.com/gpu-brand", "operator": "DoesNotExist"}
            ]
        }
    ]
    assert all(t.get("key") != NOT_TUNED_TAINT_KEY for t in pod.get("tolerations", []))
    assert "tolerations" not in pod


def test_explicit_node_pool(chart, synth):
    ModelDownloadJob(chart, "dl", volume=volume(chart), node_pool="mgmt")
    pod = job_pod(synth(chart))
    assert pod["nodeSelector"] == {"doks.digitalocean.com/node-pool": "mgmt"}
    assert "affinity" not in pod


def test_job_name_changes_with_model_and_revision(chart, synth):
    # Branches and tags on purpose: the job name carries the revision as written.
    vol = volume(chart)
    a = ModelDownloadJob(
        chart,
        "a",
        volume=vol,
        model=ModelSource("Qwen/Qwen2.5-0.5B-Instruct", "main", moving_revision=True),
    )
    b = ModelDownloadJob(
        chart,
        "b",
        volume=vol,
        model=ModelSource("Qwen/Qwen2.5-0.5B-Instruct", "v2", moving_revision=True),
    )
    c = ModelDownloadJob(
        chart,
        "c",
        volume=vol,
        model=ModelSource("Qwen/Qwen2.5-7B-Instruct", "main", moving_revision=True),
    )
    assert hashed(a.job_name) == "a-qwen2-5-0-5b-instruct-main"
    assert hashed(b.job_name) == "b-qwen2-5-0-5b-instruct-v2"
    assert hashed(c.job_name) == "c-qwen2-5-7b-instruct-main"
    long = ModelDownloadJob(
        chart,
        "d",
        volume=vol,
        model=ModelSource(
            "org/a-very-long-model-name-that-goes-on-and-on-and-on-and-on",
            "main",
            moving_revision=True,
        ),
    )
    # The model is cut first: the revision stays readable before the hash.
    assert len(long.job_name) <= 63 and hashed(long.job_name).endswith("-main")
    names = {j["metadata"]["name"] for j in synth(chart) if j["kind"] == "Job"}
    assert names == {a.job_name, b.job_name, c.job_name, long.job_name}


# -- Job names carry a hash of what the API server refuses to change (#28) ------------------

#: The fields of a Job spec the API server refuses to change: k8s.io/kubernetes v1.36.3,
#: pkg/apis/batch/validation/validation.go, ValidateJobSpecUpdate.
IMMUTABLE = (
    "template",
    "selector",
    "completions",
    "completionMode",
    "podFailurePolicy",
    "backoffLimitPerIndex",
    "managedBy",
    "successPolicy",
)
HASHED = re.compile(r"(?P<readable>[a-z0-9-]+)-(?P<hash>[0-9a-f]{8})")


def hashed(name: str) -> str:
    """The readable part of a Job name that ends with ``-<8 hex>`` (fails otherwise)."""
    found = HASHED.fullmatch(name)
    assert found is not None and len(name) <= 63, name
    return found["readable"]


def emitted_job(**kwargs: Any) -> tuple[ModelDownloadJob, dict[str, Any]]:
    app = cdk8s.Testing.app()
    chart = cdk8s.Chart(app, "test", disable_resource_name_hashes=True)
    platform = kwargs.pop("platform", None)
    job = ModelDownloadJob(chart, "qwen-download", volume=volume(chart), **kwargs)
    if platform is not None:
        platform.apply(chart)  # after the Job: the pod changes at synth
    return job, find([dict(o) for o in cdk8s.Testing.synth(chart)], "Job")


def test_the_hash_covers_every_field_the_api_server_refuses_to_change():
    job, emitted = emitted_job()
    name = emitted["metadata"]["name"]
    spec = emitted["spec"]
    fixed = {key: spec[key] for key in IMMUTABLE if key in spec}
    text = json.dumps(fixed, sort_keys=True, separators=(",", ":"))
    readable = "qwen-download-qwen2-5-0-5b-instruct-7ae557604adf"
    digest = hashlib.sha256(f"{readable}\0{text}".encode()).hexdigest()[:8]
    assert name == f"{readable}-{digest}"
    assert job.job_name == name == job.job.job_name


def test_an_unchanged_app_gives_the_same_job_name_twice():
    assert emitted_job()[1]["metadata"]["name"] == emitted_job()[1]["metadata"]["name"]


@pytest.mark.parametrize(
    "change",
    [
        {"workers": 4},
        {"cpu_limit": "3"},
        {"image": "vllm/vllm-openai:v0.34.0"},
        {"token_secret": None},
        {"platform": PlatformDefaults(registry_mirror="registry.example.com/mirror")},
        {"platform": PlatformDefaults(image_pull_secrets=("pull",))},
    ],
    ids=lambda change: next(iter(change)) + "=" + str(next(iter(change.values())))[:40],
)
def test_a_changed_pod_template_is_a_new_job(change):
    """``kubectl apply`` of a changed template under the same name fails ('spec.template: field
    is immutable'); a new name is a new Job."""
    before = emitted_job()[1]
    job, after = emitted_job(**change)
    assert after["spec"]["template"] != before["spec"]["template"]
    assert after["metadata"]["name"] != before["metadata"]["name"]
    assert hashed(after["metadata"]["name"]) == hashed(before["metadata"]["name"])
    assert job.job_name == after["metadata"]["name"]


@pytest.mark.parametrize(
    "change",
    [{"ttl_seconds_after_finished": 60}, {"active_deadline_seconds": 600}, {"backoff_limit": 1}],
)
def test_a_change_the_api_server_accepts_in_place_keeps_the_name(change):
    before = emitted_job()[1]
    after = emitted_job(**change)[1]
    assert after["spec"] != before["spec"]
    assert after["metadata"]["name"] == before["metadata"]["name"]


def test_any_base_name_fits_the_job_name_in_63_characters(chart, synth):
    job = ModelDownloadJob(chart, "x" * 63, volume=volume(chart))
    (emitted,) = [o for o in synth(chart) if o["kind"] == "Job"]
    assert emitted["metadata"]["name"] == job.job_name
    assert len(job.job_name) == 63 and hashed(job.job_name).startswith("x" * 54)


def test_a_64_character_repo_name_gives_valid_label_values(chart, synth):
    """#25: a label value over 63 characters is refused by the API server."""
    repo = "org/" + "m" * 70
    ModelDownloadJob(chart, "dl", volume=volume(chart), model=ModelSource(repo, "a" * 40))
    job = find(synth(chart), "Job")
    for labels in (job["metadata"]["labels"], job["spec"]["template"]["metadata"]["labels"]):
        value = labels["vllm-nfs-constructs/model"]
        assert len(value) <= 63 and LABEL_VALUE.fullmatch(value), value
        assert value.startswith("m" * 40)
    # The annotation keeps the repo whole.
    assert job["metadata"]["annotations"]["vllm-nfs-constructs/model"] == repo


#: A label value (k8s.io/apimachinery v0.36.3, pkg/util/validation/validation.go,
#: labelValueFmt; at most 63 characters).
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")


def test_patterns_and_limits(chart, synth):
    ModelDownloadJob(
        chart,
        "dl",
        volume=volume(chart),
        allow_patterns=["*.safetensors", "*.json"],
        ignore_patterns=["original/*"],
        backoff_limit=1,
        active_deadline_seconds=600,
        ttl_seconds_after_finished=0,
    )
    job = find(synth(chart), "Job")
    cmd = job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert cmd[-6:] == [
        "--allow-pattern",
        "*.safetensors",
        "--allow-pattern",
        "*.json",
        "--ignore-pattern",
        "original/*",
    ]
    assert job["spec"]["backoffLimit"] == 1
    assert job["spec"]["activeDeadlineSeconds"] == 600
    assert job["spec"]["ttlSecondsAfterFinished"] == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"backoff_limit": -1}, "ModelDownloadJob.backoff_limit"),
        ({"active_deadline_seconds": 0}, "ModelDownloadJob.active_deadline_seconds"),
        ({"ttl_seconds_after_finished": -5}, "ModelDownloadJob.ttl_seconds_after_finished"),
        ({"uid": 0}, "ModelDownloadJob.uid"),
        ({"image": "python"}, "ModelDownloadJob.image"),
        ({"token_secret": "hf_abc"}, "ModelDownloadJob.token_secret"),
        ({"allow_patterns": "*.safetensors"}, "ModelDownloadJob.allow_patterns"),
        ({"name": "x" * 64}, "ModelDownloadJob.name"),
    ],
)
def test_bad_input(chart, kwargs, field):
    with pytest.raises(ConfigurationError) as err:
        ModelDownloadJob(chart, "dl", volume=volume(chart), **kwargs)
    assert str(err.value).startswith(field + ":")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"repo_id": "not a repo"}, "ModelSource.repo_id"),
        ({"repo_id": "just-a-name"}, "ModelSource.repo_id"),
        ({"repo_id": "org/na--me"}, "ModelSource.repo_id"),
        ({"revision": ""}, "ModelSource.revision"),
        ({"revision": "../etc"}, "ModelSource.revision"),
        ({"served_name": "has space"}, "ModelSource.served_name"),
        ({"size_gib": -3}, "ModelSource.size_gib"),
    ],
)
def test_invalid_model_ids(kwargs, field):
    with pytest.raises(ConfigurationError) as err:
        ModelSource(**kwargs)
    assert str(err.value).startswith(field + ":")


def test_keep_revisions_prunes_old_commits_after_the_fetch(chart, synth):
    ModelDownloadJob(chart, "dl", volume=volume(chart), keep_revisions=2)
    cmd = job_pod(synth(chart))["containers"][0]["command"]
    assert cmd[cmd.index("--prune-keep") + 1] == "2"


def test_keep_revisions_must_be_positive(chart):
    with pytest.raises(ConfigurationError, match="ModelDownloadJob.keep_revisions: 0"):
        ModelDownloadJob(chart, "dl", volume=volume(chart), keep_revisions=0)


def test_errors_that_cannot_succeed_fail_the_job_at_once(chart, synth):
    ModelDownloadJob(chart, "dl", volume=volume(chart))
    policy = find(synth(chart), "Job")["spec"]["podFailurePolicy"]
    assert policy["rules"] == [
        {
            "action": "FailJob",
            "onExitCodes": {
                "containerName": contracts.FETCH_CONTAINER,
                "operator": "In",
                "values": list(contracts.FETCH_PERMANENT_EXIT_CODES),
            },
        },
        {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
    ]


@pytest.mark.parametrize("revision", ["main/", "refs//pr", "refs--pr--1", "v1."])
def test_revisions_that_would_collide_or_fail_at_run_time_are_rejected(revision):
    with pytest.raises(ConfigurationError, match="ModelSource.revision"):
        ModelSource(revision=revision)


def test_branch_with_a_slash_is_accepted():
    source = ModelSource("org/model", "refs/pr/1", moving_revision=True)
    assert source.relative_path == "org/model/refs--pr--1"


# The fetcher's concurrency (fetch.py --workers, 1..64): bounded and configurable.


def fetch_command(objs: list[dict[str, Any]]) -> list[str]:
    cmd = job_pod(objs)["containers"][0]["command"]
    assert cmd[:2] == ["python3", "/programs/fetch.py"], cmd
    return list(cmd[2:])


def test_default_workers_is_the_fetchers_default_and_is_not_emitted(chart, synth):
    ModelDownloadJob(chart, "dl", volume=volume(chart))
    args = fetch_command(synth(chart))
    assert "--workers" not in args  # the default command (and the snapshots) as before
    assert fetch.parse_args(args).workers == 8 == _FETCH_DEFAULT_WORKERS
    default = inspect.signature(ModelDownloadJob.__init__).parameters["workers"].default
    minimal = ["--repo", "o/n", "--revision", "main", "--root", "/m"]
    assert default == fetch.parse_args(minimal).workers


@pytest.mark.parametrize("workers", [1, 2, 16, 64])
def test_workers_reach_the_fetcher_and_parse_with_its_own_parser(chart, synth, workers):
    ModelDownloadJob(chart, "dl", volume=volume(chart), workers=workers, keep_revisions=2)
    args = fetch_command(synth(chart))
    assert args[args.index("--workers") + 1] == str(workers)
    parsed = fetch.parse_args(args)  # exits (SystemExit) on a flag or value fetch refuses
    assert parsed.workers == workers and parsed.prune_keep == 2


@pytest.mark.parametrize("workers", [0, -1, 65, 1000, True, 2.0, "8", None])
def test_workers_out_of_range_or_not_an_int_is_refused(chart, workers):
    with pytest.raises(ConfigurationError) as err:
        ModelDownloadJob(chart, "dl", volume=volume(chart), workers=workers)
    assert str(err.value).startswith("ModelDownloadJob.workers:")
    assert "an integer from 1 to 64" in str(err.value)

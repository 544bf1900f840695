"""Hypothesis properties of the surfaces of issue #30 (the style of tests/test_properties.py):
registry-mirror rewriting and ``PlatformDefaults``.

- Rewriting an image under a mirror always yields a valid reference, checked against a grammar
  written here from the distribution spec, not with the library's own pattern; and it is
  injective: each rewritten image traces back (``unmirror``) to its source's canonical form,
  computed here independently, so two images that differ never meet.
- Any ``PlatformDefaults`` either raises ``ConfigurationError`` or the app it applies to
  synthesizes manifests that pass ``vllm-nfs validate`` (with ``--platform-mirror``) and the API
  server's limits (label values, annotation size, names). A strategy of valid defaults must
  always build (so the property is not satisfied by refusing everything); the hostile strategy
  records what it refused with ``event``.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

# isort: off
import vllm_nfs_constructs  # noqa: F401  (first: points jsii at the packaged Node.js LTS)
import cdk8s

# isort: on
import pytest
import yaml
from hypothesis import Phase, event, given, settings
from hypothesis import strategies as st

from tests.test_properties import bounded
from vllm_nfs_constructs import (
    ConfigurationError,
    InfraOutputs,
    PlatformDefaults,
    PrefixAwareRouting,
    ServedModel,
    Taint,
    VllmNfsChart,
)
from vllm_nfs_constructs.validate import validate_paths
from vllm_nfs_constructs.values.platform import mirror_image, unmirror

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

# --- the reference grammar, from the distribution spec ----------------------------------------
#
# distribution/reference, reference.go (package comment, "Grammar") and regexp.go:
#   reference        := name [ ":" tag ] [ "@" digest ]
#   name             := [domain '/'] remote-name
#   domain           := host [':' port-number]
#   host             := domain-name | IPv4address | \[ IPv6address \]   ; rfc3986 appendix-A
#   domain-name      := domain-component ['.' domain-component]*
#   domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
#   port-number      := /[0-9]+/
#   path-component   := alpha-numeric [separator alpha-numeric]*
#   path             := path-component ['/' path-component]*
#   alpha-numeric    := /[a-z0-9]+/
#   separator        := /[_.]|__|[-]*/      (regexp.go: `(?:[._]|__|[-]+)`)
#   tag              := /[\w][\w.-]{0,127}/
#   digest           := digest-algorithm ":" digest-hex ; digest-hex := /[0-9a-fA-F]{32,}/
#   digest-algorithm := /[A-Za-z][A-Za-z0-9]*/ ([+.-_] /[A-Za-z][A-Za-z0-9]*/)*
# and RepositoryNameTotalLengthMax = 255 (reference.go). Meaning on top of the grammar: a port
# is 1-65535 (RFC 793's 16 bits; 0 is reserved), a DNS label at most 63 characters (RFC 1035).

_ALNUM = "[a-z0-9]+"
_SEP = "(?:[._]|__|[-]+)"
_PATH_COMPONENT = f"{_ALNUM}(?:{_SEP}{_ALNUM})*"
_DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[(?:[a-fA-F0-9:]+)\])"
_DOMAIN = rf"(?P<host>{_HOST})(?::(?P<port>[0-9]+))?"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}"
REFERENCE = re.compile(rf"(?P<name>{_NAME})(?::{_TAG})?(?:@{_DIGEST})?", re.ASCII)


def valid_reference(image: str) -> bool:
    """The grammar above, the 255-character name limit, a port in range, labels of <= 63."""
    m = REFERENCE.fullmatch(image)
    if m is None or len(m.group("name")) > 255:
        return False
    port = m.group("port")
    if port is not None and not 1 <= int(port) <= 65535:
        return False
    host = m.group("host") or ""
    return host.startswith("[") or all(len(label) <= 63 for label in host.split("."))


def canonical(image: str) -> tuple[str | None, str, str]:
    """(registry, path, tag and digest) as a client resolves them (Docker's normalization:
    the first part is a registry if it has '.' or ':', is localhost or has capitals; Docker
    Hub's aliases are one registry, its single-part names are under library/); host names are
    case-insensitive and IPv6 addresses compared as addresses."""
    name, at, digest = image.partition("@")
    slash, colon = name.rfind("/"), name.rfind(":")
    repo, tag = (name[:colon], name[colon:]) if colon > slash else (name, "")
    first, sep, rest = repo.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        m = re.fullmatch(r"(\[[^\]]+\]|[^:]+)(?::(\d+))?", first)
        assert m is not None
        host, port = m.group(1), m.group(2)
        if host.startswith("["):
            host = f"[{ipaddress.IPv6Address(host[1:-1]).compressed}]"
        host = host.lower()
        registry: str | None = host + (f":{int(port)}" if port else "")
        path = rest
    else:
        registry, path = None, repo
    if registry in ("docker.io", "index.docker.io", "registry-1.docker.io"):
        registry = None
    if registry is None and "/" not in path:
        path = f"library/{path}"
    return registry, path, tag + at + digest


# --- strategies --------------------------------------------------------------------------------

_COMPONENTS = st.from_regex(
    r"[a-z0-9]{1,8}(?:(?:[._]|__|-{1,2})[a-z0-9]{1,6}){0,2}", fullmatch=True
)
_LABELS = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
_DNS = st.lists(_LABELS, min_size=2, max_size=3).map(".".join)
_PORTS = st.integers(min_value=1, max_value=65535)
_IPV6 = st.ip_addresses(v=6).map(lambda a: f"[{a}]")
_IPV4 = st.ip_addresses(v=4).map(str)
_REGISTRY = st.one_of(
    st.none(),
    st.sampled_from(["docker.io", "index.docker.io", "localhost", "ghcr.io", "registry.k8s.io"]),
    _DNS,
    _DNS.map(str.upper),
    st.tuples(st.one_of(_DNS, _IPV4, st.just("localhost"), _LABELS), _PORTS).map(
        lambda hp: f"{hp[0]}:{hp[1]}"
    ),
    _IPV6,
    st.tuples(_IPV6, _PORTS).map(lambda hp: f"{hp[0]}:{hp[1]}"),
)
_SUFFIX = st.one_of(
    st.from_regex(r":[A-Za-z0-9_][A-Za-z0-9_.-]{0,12}", fullmatch=True),
    st.from_regex(r"@sha256:[0-9a-f]{64}", fullmatch=True),
)


@st.composite
def images(draw: st.DrawFn) -> str:
    registry = draw(_REGISTRY)
    path = "/".join(draw(st.lists(_COMPONENTS, min_size=1, max_size=3)))
    return f"{registry}/{path}{draw(_SUFFIX)}" if registry else f"{path}{draw(_SUFFIX)}"


MIRRORS = st.tuples(
    st.one_of(
        _DNS,
        st.tuples(st.one_of(_DNS, st.just("localhost")), _PORTS).map(lambda hp: f"{hp[0]}:{hp[1]}"),
    ),
    st.lists(_COMPONENTS, max_size=2),
).map(lambda t: "/".join([t[0], *t[1]]))


def test_grammar_check_is_the_spec_s() -> None:
    """The checker above agrees with the spec's own test vectors (reference_test.go)."""
    for good in ("test_com", "test.com:10304/j/k/l:tag", "[::1]/x", "a" * 255, "a__b/c--d:t"):
        assert valid_reference(good), good
    for bad in ("Uppercase:tag", "a/a/A:tag", "aa/asdf$$^/aa", "a" * 256, "a:0/b", "x.com:65536/y"):
        assert not valid_reference(bad), bad


@bounded(200)
@given(mirror=MIRRORS, image=images())
def test_mirror_rewriting_yields_a_valid_reference_and_traces_back(mirror: str, image: str) -> None:
    try:
        out = mirror_image(mirror, image)
    except ConfigurationError as exc:
        # Only a registry spelled by its capitals alone, or a name past 255 characters.
        event(f"refused {exc.field}")
        assert ("neither a '.' nor a port" in str(exc)) or "255" in str(exc)
        return
    event("rewritten")
    assert valid_reference(out), out
    assert out.startswith(mirror + "/")
    back = unmirror(mirror, out)
    if out == image:  # already under the mirror
        return
    assert back is not None and canonical(back) == canonical(image), (image, out, back)


@bounded(200)
@given(mirror=MIRRORS, first=images(), second=images())
def test_mirror_rewriting_is_injective(mirror: str, first: str, second: str) -> None:
    """Two images that a client would pull from different places never share a mirror path."""
    try:
        a, b = mirror_image(mirror, first), mirror_image(mirror, second)
    except ConfigurationError:
        return
    if a == first or b == second:  # already under the mirror: kept as they are
        return
    assert (a == b) == (canonical(first) == canonical(second)), (first, second, a)


@bounded(100)
@given(
    mirror=MIRRORS,
    path=st.lists(_COMPONENTS, min_size=1, max_size=2).map("/".join),
    host=_LABELS,
    port=_PORTS,
)
def test_mirror_rewriting_separates_confusable_registries(
    mirror: str, path: str, host: str, port: int
) -> None:
    """The pairs random images rarely meet: a host with a port and a Docker Hub path or host
    spelling the port; localhost and a Docker Hub user; an IPv6 host and a label."""
    family = [
        f"{host}:{port}/{path}:1",
        f"{host}-{port}/{path}:1",
        f"{host}.port/{path}:1",
        f"{host}.example:{port}/{path}:1",
        f"{host}.example-{port}/{path}:1",
        f"localhost:{port}/{path}:1",
        f"localhost-{port}/{path}:1",
        f"localhost/{path}:1",
        f"[::1]:{port}/{path}:1",
        f"[::1]/{path}:1",
        f"{path}:1",
    ]
    out = {}
    for image in family:
        try:
            out[image] = mirror_image(mirror, image)
        except ConfigurationError:
            continue
    by_canonical = {canonical(i): o for i, o in out.items()}
    assert len(set(by_canonical.values())) == len(by_canonical), out


# --- PlatformDefaults: refused, or output that passes validate and the API server --------------

_KEY_PREFIX = st.sampled_from(["example.com/", "team.example/", ""])
_LABEL_VALUE = st.from_regex(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,20}[A-Za-z0-9])?)?", fullmatch=True
)


def _big(size: int) -> st.SearchStrategy[str]:
    """A value of ``size`` characters (built when drawn: a literal would bloat reprs)."""
    return st.just(size).map(lambda n: "v" * n)


_PRINTABLE = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20)
_NAME = st.from_regex(r"[a-z](?:[a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
_KEYS = st.tuples(_KEY_PREFIX, _NAME).map("".join)

VALID_PLATFORM = st.builds(
    PlatformDefaults,
    registry_mirror=st.one_of(st.none(), MIRRORS),
    image_pull_secrets=st.lists(_NAME, max_size=2),
    labels=st.dictionaries(_KEYS, _LABEL_VALUE, max_size=3),
    annotations=st.dictionaries(_KEYS, st.one_of(_PRINTABLE, _big(60_000)), max_size=2),
    priority_class_name=st.one_of(st.none(), _NAME),
    tolerations=st.lists(
        st.builds(
            Taint,
            st.just("example.com/dedicated"),
            st.from_regex(r"[A-Za-z0-9]{1,10}", fullmatch=True),
        ),
        max_size=1,
    ),
    node_selector=st.dictionaries(_KEYS, _LABEL_VALUE, max_size=2),
)
_HOSTILE_TEXT = st.sampled_from(
    [
        "",
        "a" * 64,
        "x" * 300,
        "user:hunter2@registry.example/m",
        "registry.example:0/m",
        "registry.example:99999/m",
        "app.kubernetes.io/name",
        "kubernetes.io/x",
        "doks.digitalocean.com/node-pool",
        "line\nbreak",
        "\ud800",
    ]
)
HOSTILE_PLATFORM = st.builds(
    PlatformDefaults,
    registry_mirror=st.one_of(st.none(), MIRRORS, _HOSTILE_TEXT),
    image_pull_secrets=st.lists(st.one_of(_NAME, _HOSTILE_TEXT), max_size=2),
    labels=st.dictionaries(st.one_of(_KEYS, _HOSTILE_TEXT), _LABEL_VALUE, max_size=2),
    annotations=st.dictionaries(
        st.one_of(_KEYS, _HOSTILE_TEXT),
        st.one_of(st.text(max_size=10), _big(256 * 1024 - 64)),
        max_size=2,
    ),
    priority_class_name=st.one_of(st.none(), _NAME, _HOSTILE_TEXT),
    node_selector=st.dictionaries(
        st.one_of(_KEYS, _HOSTILE_TEXT), st.one_of(_LABEL_VALUE, _HOSTILE_TEXT), max_size=2
    ),
)

_INFRA = InfraOutputs(
    nfs_host="10.110.0.12",
    nfs_mount_path="/2633050/share",
    gpu_node_pool_name="gpu",
    gpu_node_size="gpu-h100x1-80gb",
)
_LABEL_VALUE_RE = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?)?")
_VALIDATED: set[str] = set()


def _maps(obj: Any, key: str) -> list[dict[str, Any]]:
    """Every ``labels`` / ``annotations`` map of an object, its pod template's included."""
    found = []
    meta = obj.get("metadata", {})
    if isinstance(meta.get(key), dict):
        found.append(meta[key])
    template = obj.get("spec", {}).get("template") if isinstance(obj.get("spec"), dict) else None
    if isinstance(template, dict) and isinstance(template.get("metadata", {}).get(key), dict):
        found.append(template["metadata"][key])
    return found


def api_server_limits(obj: dict[str, Any]) -> list[str]:
    """apimachinery's ValidateLabels / ValidateAnnotationsSize / name lengths, per object."""
    problems = []
    name = obj["metadata"].get("name", "")
    if not 0 < len(name) <= 253:
        problems.append(f"name {name!r}")
    for labels in _maps(obj, "labels"):
        for k, v in labels.items():
            if len(v) > 63 or not _LABEL_VALUE_RE.fullmatch(v) or len(k.split("/")[-1]) > 63:
                problems.append(f"label {k}={v!r}")
    for found in _maps(obj, "annotations"):
        size = sum(len(k.encode()) + len(v.encode()) for k, v in found.items())
        if size > 256 * 1024:
            problems.append(f"annotations of {size} bytes")
    return problems


def build_and_check(platform: PlatformDefaults) -> None:
    """The default chart with prefix-aware routing (every kind of pod but the benchmark's) under
    ``platform``; its manifests must pass validate and the API server's limits."""
    app = cdk8s.Testing.app()
    VllmNfsChart(
        app,
        "vllm",
        infra=_INFRA,
        models=[ServedModel("qwen", routing=PrefixAwareRouting())],
        monitoring=True,
        platform=platform,
    )
    objects = [dict(o) for chart in app.charts for o in cdk8s.Testing.synth(chart)]
    limits = [
        f"{o['kind']}/{o['metadata']['name']}: {p}" for o in objects for p in api_server_limits(o)
    ]
    assert not limits, limits
    fresh = [o for o in objects if json.dumps(o, sort_keys=True) not in _VALIDATED]
    if not fresh:
        return
    folder = Path(tempfile.mkdtemp(prefix="vllm-platform-props-"))
    try:
        path = folder / "manifests.yaml"
        path.write_text(yaml.safe_dump_all(fresh), encoding="utf-8")
        report = validate_paths([str(path)], platform_mirror=platform.registry_mirror)
        problems = "\n".join(f"{p.subject}: {p.message}" for p in report.problems)
        assert report.ok, problems
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    _VALIDATED.update(json.dumps(o, sort_keys=True) for o in fresh)


def slow(n: int) -> settings:
    """Each example synthesizes and validates an app (seconds each): few examples, and no
    shrinking (a failure is reported with the example as drawn)."""
    return settings(bounded(n), phases=[Phase.explicit, Phase.generate])  # type: ignore[arg-type]


@slow(6)
@given(platform=VALID_PLATFORM)
def test_valid_platform_defaults_always_build_and_pass_validate(platform: PlatformDefaults) -> None:
    """Every example of the valid strategy builds (100 %, so the property below is not met by
    refusing everything), and its output passes validate and the API server's limits."""
    build_and_check(platform)


@slow(12)
@given(data=st.data())
def test_any_platform_defaults_refused_or_output_passes_validate(data: st.DataObject) -> None:
    try:
        platform = data.draw(HOSTILE_PLATFORM)
    except ConfigurationError as exc:
        event(f"refused {exc.field.split('[')[0]}")
        return
    try:
        build_and_check(platform)
    except ConfigurationError as exc:
        event(f"refused at build {exc.field.split('[')[0]}")
        return
    event("built")

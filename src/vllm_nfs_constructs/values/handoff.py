"""The cloud-to-cluster handoff: the NFS endpoint and the cloud layer's outputs.

``InfraOutputs`` reads ``terraform output -json`` of the ``VllmInfraStack``; the cluster layer
defaults from it. No cdk8s, cdktf or jsii here.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import contracts
from ..errors import ConfigurationError
from . import _checks as v
from ._bounded import check_strings, decode_text, load_json, read_bounded
from .gpus import gpu_profile
from .pools import GpuPool, check_gpu_pools
from .taints import NOT_TUNED_TAINT, Taint

__all__ = ["REQUIRED_OUTPUT_KEYS", "InfraOutputs", "NfsEndpoint"]

# ---------------------------------------------------------------------------------------------
# NFS and infra outputs


@dataclass(frozen=True)
class NfsEndpoint:
    """Where the Managed NFS share is: its host (IP in the VPC) and export path."""

    host: str
    path: str

    def __post_init__(self) -> None:
        v.host("NfsEndpoint.host", self.host)
        v.nfs_export_path("NfsEndpoint.path", self.path)


#: The largest outputs file read (``terraform output -json`` of the stack is a few KiB).
MAX_OUTPUTS_BYTES = 16 << 20

#: Keys the cluster layer needs from the cloud layer's outputs.
REQUIRED_OUTPUT_KEYS = ("nfs_host", "nfs_mount_path", "gpu_node_pool_name")


@dataclass(frozen=True)
class InfraOutputs:
    """What the cloud layer hands to the cluster layer.

    Build it from ``terraform output -json`` (or ``cdktf output --outputs-file``) with
    :meth:`from_file`, or directly.
    """

    nfs_host: str
    nfs_mount_path: str
    gpu_node_pool_name: str
    region: str | None = None
    nfs_size_gb: int | None = None
    cluster_name: str | None = None
    is_example: bool = False
    """True for the built-in example values (never deploy those)."""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    gpu_node_size: str | None = None
    """The GPU pool's Droplet slug (``gpu-h100x1-80gb``); None in outputs older than 0.2."""
    gpu_node_taint: Taint | None = None
    """The pool's start-up taint, which the tuner removes; None when the pool has none or the
    outputs predate 0.2 (see ``has_taint_output``)."""
    gpu_min_nodes: int | None = None
    """The pool's autoscaling lower bound (its fixed size when it does not autoscale)."""
    gpu_max_nodes: int | None = None
    """The pool's autoscaling upper bound (its fixed size when it does not autoscale)."""
    has_taint_output: bool = False
    """True when the outputs carried ``gpu_node_taint`` (even empty: a pool without taint)."""
    gpu_pools: tuple[GpuPool, ...] = ()
    """Every GPU pool, the first being the one the ``gpu_*`` fields describe (the default pool
    of ``ServedModel(pool=None)``). Read from the ``gpu_pools`` output (0.3.0), else one pool made
    from the ``gpu_*`` fields when they describe it fully (0.2.0 outputs); empty for outputs older
    than 0.2.0. Given directly, the ``gpu_*`` fields left unset are taken from the first pool."""

    def __post_init__(self) -> None:
        self._check(lambda name: f"InfraOutputs.{name}")

    def _check(self, field: Callable[[str], str]) -> None:
        """Every field, and the GPU pools made consistent with the ``gpu_*`` fields; errors name
        ``field(<attribute>)``: ``InfraOutputs.nfs_host`` as written in code, the outputs file's
        key (``outputs['nfs_host']``) when read from it (:meth:`from_mapping`)."""
        # NfsEndpoint's checks, named as the user wrote them.
        v.host(field("nfs_host"), self.nfs_host)
        v.nfs_export_path(field("nfs_mount_path"), self.nfs_mount_path)
        for name in ("region", "cluster_name"):
            value = getattr(self, name)
            if value is not None:
                v.instance_of(field(name), value, str, "a string")
        v.instance_of(field("is_example"), self.is_example, bool, "True or False")
        v.dns_label(field("gpu_node_pool_name"), self.gpu_node_pool_name, max_len=255)
        if self.nfs_size_gb is not None:
            v.integer(field("nfs_size_gb"), self.nfs_size_gb, minimum=50)
        if self.gpu_node_size is not None:
            gpu_profile(field("gpu_node_size"), self.gpu_node_size)
        if isinstance(self.gpu_node_taint, str):
            object.__setattr__(
                self,
                "gpu_node_taint",
                Taint.parse(self.gpu_node_taint, field("gpu_node_taint")),
            )
        if self.gpu_node_taint is not None:
            if not isinstance(self.gpu_node_taint, Taint):
                raise ConfigurationError(
                    field("gpu_node_taint"),
                    self.gpu_node_taint,
                    "a Taint or 'key=value:Effect'",
                )
            object.__setattr__(self, "has_taint_output", True)
        for name in ("gpu_min_nodes", "gpu_max_nodes"):
            value = getattr(self, name)
            if value is not None:
                v.integer(field(name), value, minimum=0, maximum=1000)
        if (
            self.gpu_min_nodes is not None
            and self.gpu_max_nodes is not None
            and self.gpu_max_nodes < self.gpu_min_nodes
        ):
            raise ConfigurationError(
                field("gpu_max_nodes"),
                self.gpu_max_nodes,
                f"at least gpu_min_nodes ({self.gpu_min_nodes})",
            )

        self._check_gpu_pools(field)

    def _check_gpu_pools(self, field: Callable[[str], str]) -> None:
        f = field("gpu_pools")
        if not self.gpu_pools:
            object.__setattr__(self, "gpu_pools", self._legacy_pools())
            return
        pools = check_gpu_pools(f, self.gpu_pools)
        if len(pools) == 1 and pools[0].name == self.gpu_node_pool_name:
            # One pool: the gpu_* values are its own description and win, so 0.2.0 code that
            # changes them (dataclasses.replace(infra, gpu_max_nodes=3)) keeps working.
            legacy = self._legacy_pools()
            if legacy:
                object.__setattr__(self, "gpu_pools", legacy)
                return
        if pools[0].name != self.gpu_node_pool_name:
            pools = self._reaimed(pools)
        first = pools[0]
        if first.name != self.gpu_node_pool_name:
            raise ConfigurationError(
                f"{f}[0].name",
                first.name,
                f"the default pool, gpu_node_pool_name ({self.gpu_node_pool_name})",
                "List the pool the gpu_* values describe first.",
            )
        expected: tuple[tuple[str, object, object], ...] = (
            ("gpu_node_size", self.gpu_node_size, first.size),
            ("gpu_min_nodes", self.gpu_min_nodes, first.min_nodes),
            ("gpu_max_nodes", self.gpu_max_nodes, first.max_nodes),
        )
        for name, given, pool_value in expected:
            if given is None:
                object.__setattr__(self, name, pool_value)
            elif given != pool_value:
                raise ConfigurationError(
                    field(name),
                    given,
                    f"the first GPU pool's value ({pool_value})",
                    f"The gpu_* values describe the first pool, {first.name!r}.",
                )
        if self.has_taint_output and self.gpu_node_taint != first.taint:
            raise ConfigurationError(
                field("gpu_node_taint"),
                str(self.gpu_node_taint or ""),
                f"the first GPU pool's taint ({first.taint or 'none'})",
            )
        object.__setattr__(self, "gpu_node_taint", first.taint)
        object.__setattr__(self, "has_taint_output", True)
        object.__setattr__(self, "gpu_pools", pools)

    def _reaimed(self, pools: tuple[GpuPool, ...]) -> tuple[GpuPool, ...]:
        """The pools of a handoff 0.2.0 code aimed at another pool, as in
        ``dataclasses.replace(infra, gpu_node_pool_name="big", gpu_node_size=...)``: the
        ``gpu_*`` values then describe the pool named ``gpu_node_pool_name``, which takes the
        place of the first entry (the pool they described before).

        A listed pool of that name keeps its own values except those the ``gpu_*`` fields
        changed from the first entry's; a pool not listed is made from the ``gpu_*`` values
        (as 0.2.0 did). ``pools`` unchanged when the ``gpu_*`` values do not describe a pool
        fully (then the pools are listed in the wrong order, which the caller refuses)."""
        old = pools[0]
        described = self._legacy_pools()
        if not described:
            return pools
        listed = next((p for p in pools if p.name == self.gpu_node_pool_name), None)
        if listed is None:
            aimed = described[0]
        else:
            taint = self.gpu_node_taint if self.has_taint_output else old.taint
            given: dict[str, tuple[Any, Any]] = {
                "size": (self.gpu_node_size, old.size),
                "min_nodes": (self.gpu_min_nodes, old.min_nodes),
                "max_nodes": (self.gpu_max_nodes, old.max_nodes),
                "taint": (taint, old.taint),
            }
            aimed = dataclasses.replace(
                listed,
                **{key: new for key, (new, was) in given.items() if new is not None and new != was},
            )
        for name, value in (
            ("gpu_node_size", aimed.size),
            ("gpu_min_nodes", aimed.min_nodes),
            ("gpu_max_nodes", aimed.max_nodes),
        ):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "gpu_node_taint", aimed.taint)
        object.__setattr__(self, "has_taint_output", True)
        return (aimed, *(p for p in pools[1:] if p.name != aimed.name))

    def _legacy_pools(self) -> tuple[GpuPool, ...]:
        """The one pool a 0.2.0 handoff describes, or none when it does not describe it fully
        (0.1.0 outputs have no size or bounds) or describes a pool the cloud layer would refuse."""
        if self.gpu_node_size is None or self.gpu_min_nodes is None or self.gpu_max_nodes is None:
            return ()
        try:
            return (
                GpuPool(
                    name=self.gpu_node_pool_name,
                    size=self.gpu_node_size,
                    min_nodes=self.gpu_min_nodes,
                    max_nodes=self.gpu_max_nodes,
                    taint=self.gpu_node_taint if self.has_taint_output else NOT_TUNED_TAINT,
                ),
            )
        except ConfigurationError:
            return ()

    @property
    def nfs(self) -> NfsEndpoint:
        return NfsEndpoint(self.nfs_host, self.nfs_mount_path)

    @classmethod
    def example(cls) -> InfraOutputs:
        """Clearly fake values for trying the cluster layer without a cloud (never deploy)."""
        return cls(
            nfs_host="10.110.0.99",
            nfs_mount_path="/EXAMPLE/replace-with-nfs_mount_path-output",
            gpu_node_pool_name="gpu-pool",
            region="nyc2",
            nfs_size_gb=1000,
            cluster_name="example-cluster",
            is_example=True,
            gpu_node_size=contracts.DEFAULT_GPU_SLUG,
            gpu_node_taint=NOT_TUNED_TAINT,
            gpu_min_nodes=1,
            gpu_max_nodes=1,
        )

    @classmethod
    def from_mapping(cls, data: object, source: str = "outputs") -> InfraOutputs:
        """Accept both Terraform's shape (``{"k": {"value": v, ...}}``) and plain ``{"k": v}``.

        cdktf's ``--outputs-file`` nests outputs under the stack name; a single nested stack is
        unwrapped.
        """
        if not isinstance(data, dict):
            raise ConfigurationError(
                f"{source}", type(data).__name__, "a JSON object of Terraform outputs"
            )
        values = _output_values(data, source)
        size = _output_int(
            source, "nfs_size_gb", values.get("nfs_size_gb"), "an integer number of GiB", 50
        )
        gpu_size = values.get("gpu_node_size") or None
        if gpu_size is not None:
            gpu_profile(f"{source}['gpu_node_size']", gpu_size)
        taint: Taint | None = None
        raw_taint = values.get("gpu_node_taint")
        if raw_taint:
            taint = Taint.parse(raw_taint, f"{source}['gpu_node_taint']")
        bounds = {
            key: _output_int(source, key, values.get(key), "an integer", 0, 1000)
            for key in ("gpu_min_nodes", "gpu_max_nodes")
        }
        raw_pools = values.get("gpu_pools")
        pools = (
            GpuPool.decode(raw_pools, f"{source}['gpu_pools']")
            if raw_pools not in (None, "", [])
            else ()
        )
        if pools and pools[0].name != values["gpu_node_pool_name"]:
            # The stack writes the default pool first: anything else is a damaged file (only
            # code may aim a handoff at another pool, see _reaimed).
            raise ConfigurationError(
                f"{source}['gpu_pools[0].name']",
                pools[0].name,
                f"the default pool, gpu_node_pool_name ({values['gpu_node_pool_name']})",
                "The VllmInfraStack lists the pool the gpu_* outputs describe first.",
            )
        given: dict[str, Any] = {
            "nfs_host": values["nfs_host"],
            "nfs_mount_path": values["nfs_mount_path"],
            "gpu_node_pool_name": values["gpu_node_pool_name"],
            "region": values.get("region"),
            "nfs_size_gb": size,
            "cluster_name": values.get("cluster_name"),
            "extra": {k: val for k, val in values.items() if k not in REQUIRED_OUTPUT_KEYS},
            "gpu_node_size": gpu_size,
            "gpu_node_taint": taint,
            "gpu_min_nodes": bounds["gpu_min_nodes"],
            "gpu_max_nodes": bounds["gpu_max_nodes"],
            "has_taint_output": "gpu_node_taint" in values,
            "gpu_pools": pools,
        }
        # The fields as __init__ sets them, then the checks naming the file's keys (not the
        # attributes: region, cluster_name, the bounds).
        outputs = object.__new__(cls)
        for spec in dataclasses.fields(cls):
            if spec.name in given:
                value = given[spec.name]
            elif spec.default_factory is not dataclasses.MISSING:
                value = spec.default_factory()
            else:
                value = spec.default
            object.__setattr__(outputs, spec.name, value)
        outputs._check(lambda name: f"{source}[{name!r}]")
        return outputs

    @classmethod
    def from_json(cls, text: str | bytes, source: str = "outputs") -> InfraOutputs:
        """Parse ``terraform output -json`` text (or bytes: UTF-8, or UTF-16 with a BOM as
        PowerShell writes it), bounded in size, depth and digits (:mod:`._bounded`)."""
        if isinstance(text, bytes | bytearray):
            if len(text) > MAX_OUTPUTS_BYTES:
                raise ConfigurationError(
                    source, f"{len(text)} bytes", f"at most {MAX_OUTPUTS_BYTES} bytes"
                )
            text = decode_text(bytes(text), source)
        elif not isinstance(text, str):
            raise ConfigurationError(source, type(text).__name__, "JSON text (str or bytes)")
        elif len(text) > MAX_OUTPUTS_BYTES:
            raise ConfigurationError(
                source, f"{len(text)} characters", f"at most {MAX_OUTPUTS_BYTES} characters"
            )
        return cls.from_mapping(load_json(text.removeprefix("\ufeff"), source), source)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> InfraOutputs:
        p = Path(path)
        data = read_bounded(str(p), "infra outputs file", MAX_OUTPUTS_BYTES)
        return cls.from_json(data, source=str(p))


#: An integer output as a digit string (cdktf's outputs file may quote numbers), at most 18
#: digits (int64 range), so converting it is cheap and exact.
_DIGITS = re.compile(r"[0-9]{1,18}")


def _output_values(data: dict[Any, Any], source: str) -> dict[str, Any]:
    """The outputs' values (Terraform's ``{"value": ...}`` unwrapped, a single nested stack
    unwrapped), the required ones present, strings, and a valid NFS endpoint and pool name."""
    check_strings(data, source)
    if len(data) == 1 and not any(k in data for k in REQUIRED_OUTPUT_KEYS):
        (only,) = data.values()
        if isinstance(only, dict) and any(k in only for k in REQUIRED_OUTPUT_KEYS):
            data = only
    assert isinstance(data, dict)
    values: dict[str, Any] = {}
    for key, raw in data.items():
        if isinstance(raw, dict) and "value" in raw:
            values[key] = raw["value"]
        else:
            values[key] = raw
    missing = [k for k in REQUIRED_OUTPUT_KEYS if values.get(k) in (None, "")]
    if missing:
        raise ConfigurationError(
            f"{source}[{missing[0]!r}]",
            None,
            "a value for each of " + ", ".join(REQUIRED_OUTPUT_KEYS),
            f"Missing: {', '.join(missing)}. Run `terraform output -json > outputs.json` "
            "after `terraform apply` of the VllmInfraStack.",
        )
    for key in REQUIRED_OUTPUT_KEYS:
        if not isinstance(values[key], str):
            raise ConfigurationError(f"{source}[{key!r}]", values[key], "a string")
    # NfsEndpoint's and InfraOutputs' checks, named after the outputs the file holds.
    v.host(f"{source}['nfs_host']", values["nfs_host"])
    v.nfs_export_path(f"{source}['nfs_mount_path']", values["nfs_mount_path"])
    v.dns_label(f"{source}['gpu_node_pool_name']", values["gpu_node_pool_name"], max_len=255)
    return values


def _output_int(
    source: str,
    key: str,
    raw: object,
    allowed: str,
    minimum: int,
    maximum: int | None = None,
) -> int | None:
    """An integer output: a JSON integer, an integral JSON number (``1000.0``, ``1e3``) or a
    digit string (``"1000"``); None when absent or empty. ``true``/``false``, fractions
    (``1.7`` is not truncated), NaN, infinities and out-of-range values are refused, naming
    ``<source>['<key>']``."""
    field = f"{source}[{key!r}]"
    if raw is None or raw == "":
        return None
    value: int | None = None
    if isinstance(raw, bool):
        value = None
    elif isinstance(raw, int):
        value = raw
    elif isinstance(raw, float):
        if math.isfinite(raw) and raw.is_integer():
            value = int(raw)
        elif math.isfinite(raw):
            raise ConfigurationError(
                field, raw, allowed, "A whole number: the output is never fractional."
            )
    elif isinstance(raw, str) and _DIGITS.fullmatch(raw):
        value = int(raw)
    if value is None:
        raise ConfigurationError(field, raw, allowed)
    v.integer(field, value, minimum=minimum, maximum=maximum)
    return value

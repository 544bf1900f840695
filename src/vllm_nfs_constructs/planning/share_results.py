"""A share benchmark's aggregate (``vllm-nfs bench-share --aggregate``) as planner figures.

Plain Python. :func:`read_measured_share` reads and validates the file (bounded size, the
``kind`` and ``version`` ``runtime/bench_share.py`` writes, finite numbers in range);
:func:`with_measured_share` puts its figures into :class:`planner.PlanAssumptions`, labelled
**measured** with the file as source.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, replace

from ..errors import ConfigurationError
from ..runtime.bench_share import KIND, BenchError, check_result
from ..values._bounded import decode_text, load_json, read_bounded
from .loading import ShareTier
from .planner import PlanAssumptions

__all__ = ["MAX_FILE_BYTES", "MeasuredShare", "read_measured_share", "with_measured_share"]

#: The aggregate of 1000 nodes is well below this.
MAX_FILE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class MeasuredShare:
    """What k tuned nodes read from the share at once."""

    path: str
    node_count: int
    aggregate_mbps: float
    per_node_mbps_min: float
    per_node_mbps_max: float


def _bad(path: str, why: str) -> ConfigurationError:
    return ConfigurationError(
        "--measured-share",
        path,
        f"the JSON written by `vllm-nfs bench-share --aggregate` (kind {KIND!r}, version 1)",
        f"It {why}.",
    )


def read_measured_share(path: str) -> MeasuredShare:
    """The aggregate in ``path``; ConfigurationError naming ``--measured-share`` otherwise.

    Read as every file from outside is (``values/_bounded.py``): at most MAX_FILE_BYTES of a
    regular file, UTF-8 (or UTF-16/32 with a byte-order mark), JSON nested at most
    100 deep with integers of at most 4300 digits."""
    try:
        # A regular file only: a named pipe without a writer would block the command.
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise _bad(path, "is not a regular file")
    except OSError as exc:
        raise _bad(path, f"cannot be read ({exc.strerror or exc})") from None
    try:
        data = load_json(
            decode_text(read_bounded(path, "--measured-share", MAX_FILE_BYTES), path), path
        )
    except ConfigurationError as exc:
        what = exc.value if exc.value != path else f"not {exc.allowed}"
        raise _bad(path, f"is {what}{f' {exc.fix}' if exc.fix else ''}") from None
    if not isinstance(data, dict) or data.get("kind") != KIND or data.get("version") != 1:
        raise _bad(path, "has another kind or version")
    nodes = data.get("nodes")
    if not isinstance(nodes, list) or not 1 <= len(nodes) <= 1000:
        raise _bad(path, "has no node list (1 to 1000 nodes)")
    rates = []
    for entry in nodes:
        try:
            rate = entry["mbps"] if isinstance(entry, dict) else None
            check_result(
                {
                    "event": "share-bench",
                    "node": entry.get("node") if isinstance(entry, dict) else None,
                    "bytes": entry.get("bytes") if isinstance(entry, dict) else None,
                    "seconds": entry.get("seconds") if isinstance(entry, dict) else None,
                    "mbps": rate,
                    "started_at": 0,
                    "ended_at": 0,
                }
            )
        except (BenchError, KeyError) as exc:
            raise _bad(path, f"has a bad node entry ({exc})") from None
        assert isinstance(rate, (int, float))  # check_result checked it
        rates.append(float(rate))
    aggregate = data.get("aggregate_mbps")
    if (
        isinstance(aggregate, bool)
        or not isinstance(aggregate, (int, float))
        or not 0.001 <= aggregate <= 1_000_000
    ):
        raise _bad(path, "has no aggregate_mbps between 0.001 and 1000000")
    if min(rates) < 0.001:
        raise _bad(path, "reports a node that read nothing")
    return MeasuredShare(path, len(rates), float(aggregate), min(rates), max(rates))


def with_measured_share(
    assumptions: PlanAssumptions, measured: MeasuredShare, share_tier: ShareTier | str = "high"
) -> PlanAssumptions:
    """The tuned per-node rate becomes the fastest node's; with more than one node, the share's
    rate (of ``share_tier``) becomes the aggregate (a lower bound of what the share serves)."""
    where = os.path.basename(measured.path)
    changes: dict[str, float] = {"node_read_mbps_tuned": min(measured.per_node_mbps_max, 1e6)}
    labels = [
        (
            "node_read_mbps_tuned",
            f"{measured.per_node_mbps_max:g} MB/s, fastest of {measured.node_count} tuned "
            f"node(s) ({where}, vllm-nfs bench-share)",
        )
    ]
    if measured.node_count > 1:
        key = f"share_read_mbps_{ShareTier(share_tier).value}"
        changes[key] = measured.aggregate_mbps
        labels.append(
            (
                key,
                f"{measured.aggregate_mbps:g} MB/s from {measured.node_count} nodes at once "
                f"({where}, vllm-nfs bench-share)",
            )
        )
    return replace(assumptions, measured=assumptions.measured + tuple(labels), **changes)  # type: ignore[arg-type]

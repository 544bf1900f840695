"""Download throughput of the model fetcher: ``--workers 1`` against ``--workers 8``.

The Hub stand-in of the tests (tests/runtime/_hfhub.py) serves, on 127.0.0.1, a model of 8
safetensors shards of 8 MiB each (plus config and index) with every connection capped at 64 KiB
per 10 ms (about 6.5 MB/s, like one slow CDN stream; the cap is per connection, not global, as a
CDN's is). The real ``fetch.py`` runs as a fresh process into an empty root, alternately with
``--workers 1`` and ``--workers 8``, ``--runs`` times each; medians are compared, both for the
whole process (interpreter start, huggingface_hub import, listing, downloads, verification,
rename, marker) and for the download phase fetch reports itself (``complete: ... in X s``).

Target (issue 14 item 5): ``--workers 8`` at least 5 x faster than ``--workers 1``.

    python benchmarks/fetch_bench.py [--runs 3] [--shards 8] [--shard-mib 8]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "runtime"))

from _hfhub import HubStandIn, sharded_model  # noqa: E402

PROGRAM = ROOT / "src" / "vllm_nfs_constructs" / "runtime" / "fetch.py"
RATE = 64 * 1024 / 0.010  # bytes per second and connection
PHASE_RE = re.compile(r"complete: \d+ files, .* in ([0-9.]+) s")


def run_once(hub: HubStandIn, workers: int, total: int) -> tuple[float, float]:
    """(process wall seconds, download-phase seconds) of one fetch into an empty root."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
        env.update(HF_ENDPOINT=hub.url, HF_HOME=f"{tmp}/hf-home", HF_HUB_DISABLE_TELEMETRY="1")
        root = Path(tmp) / "models"
        root.mkdir()
        cmd = [sys.executable, str(PROGRAM), "--repo", "org/model", "--revision", "main"]
        cmd += ["--root", str(root), "--workers", str(workers), "--progress-interval", "3600"]
        start = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"fetch --workers {workers} failed: {proc.stderr.strip()}")
        markers = list(root.rglob("*.complete.json"))
        got = sum(p.stat().st_size for p in (root / "org" / "model").rglob("*") if p.is_file())
        if len(markers) != 1 or got < total:
            raise SystemExit(f"fetch --workers {workers} wrote {got} of {total} bytes")
        match = PHASE_RE.search(proc.stdout)
        if match is None:
            raise SystemExit(f"no 'complete:' line in the output of fetch: {proc.stdout}")
        return wall, float(match.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--shard-mib", type=int, default=8)
    args = parser.parse_args()

    files = sharded_model(args.shards, args.shard_mib << 20)
    total = sum(map(len, files.values()))
    results: dict[int, list[tuple[float, float]]] = {1: [], 8: []}
    with HubStandIn() as hub:
        hub.add_commit("org/model", files)
        hub.faults.rate_limit = RATE
        for _ in range(args.runs):
            for workers, samples in results.items():
                hub.clear_log()
                samples.append(run_once(hub, workers, total))
                if workers == 8 and hub.max_active < min(8, args.shards):
                    print(f"note: only {hub.max_active} connections were active at once")

    print(
        f"## fetch: {args.shards} shards x {args.shard_mib} MiB ({total / 1e6:.1f} MB), "
        f"each connection capped at {RATE / 1e6:.2f} MB/s ({args.runs} alternating runs, "
        "medians)\n"
    )
    print("| workers | process s | download phase s | MB/s (phase) |")
    print("|---|---|---|---|")
    med = {}
    for workers, samples in results.items():
        wall = statistics.median(w for w, _ in samples)
        phase = statistics.median(p for _, p in samples)
        med[workers] = (wall, phase)
        print(f"| {workers} | {wall:.2f} | {phase:.2f} | {total / 1e6 / phase:.1f} |")
    wall_ratio = med[1][0] / med[8][0]
    phase_ratio = med[1][1] / med[8][1]
    ok = wall_ratio >= 5.0
    print(
        f"\n--workers 8 is {wall_ratio:.1f} x faster for the whole process, "
        f"{phase_ratio:.1f} x for the download phase. "
        f"Target (>= 5 x, whole process) {'met' if ok else 'NOT met'}."
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

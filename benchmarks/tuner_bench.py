"""Benchmark the node network tuner in throwaway network namespaces (root only).

Builds the same namespaces as the tests (a "node" namespace whose veth end is ``eth1`` at MTU 1500,
a jumbo-capable "server" namespace playing the NFS server), shapes the server's egress to model a
VPC path, and measures bulk TCP throughput server -> node (the NFS read direction) with pure Python
sockets, with 1 and with N parallel connections:

* before: node untuned (MTU 1500, distribution TCP buffer limits);
* after:  new connections after ``tuner.py --once`` ran (MTU 9000, 16 MiB buffer limits);
* stale:  connections opened BEFORE tuning, measured after it (their MSS was fixed in the SYN).

Shaping: ``netem`` delay on both ends plus a per-flow ``fq maxrate`` cap when the kernel has them;
otherwise (``--shaping auto``) a per-flow HTB class per connection port and no added delay, and the
table says so. Segmentation offloads are turned off on the veth pair (``--offloads``, needs
ethtool) so that packets cost what they cost on a NIC path. Also measures tuner latency: program
start to taint removal against the local API.

Usage: ``python benchmarks/tuner_bench.py [--seconds 3] [--delay-ms 1] [--rate-per-flow 2gbit]``.
Nothing outside the namespaces it creates is changed; they are deleted on exit.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "runtime"))

from _kubeapi import TUNER_TAINT, FakeKubeApi, ServedApi, listening_socket  # noqa: E402
from _netns import (  # noqa: E402
    DEFAULT_CORE_MAX,
    NetnsPair,
    in_netns,
    netns_unavailable_reason,
    run,
)

TUNER = ROOT / "src" / "vllm_nfs_constructs" / "runtime" / "tuner.py"
NODE = "bench-node"
CHUNK = 1 << 20


@dataclass
class Result:
    streams: int
    gbps: float
    mss_server: int


def _tc(ns: str, command: str, *, check: bool = False) -> subprocess.CompletedProcess[str]:
    """``tc <command>`` inside namespace ``ns`` (never on this machine's own devices)."""
    return run("ip", "netns", "exec", ns, "tc", *command.split(), check=check)


def shape(pair: NetnsPair, ports: list[int], mode: str, delay_ms: float, rate: str) -> str:
    """Apply shaping inside the namespaces; return a description of what was really applied."""
    ends = ((pair.node, pair.interface), (pair.server, "srv0"))
    if mode in ("auto", "netem-fq"):
        ok = all(
            _tc(
                ns, f"qdisc add dev {dev} root handle 1: netem delay {delay_ms}ms limit 100000"
            ).returncode
            == 0
            for ns, dev in ends
        )
        ok = ok and (
            _tc(
                pair.server, f"qdisc add dev srv0 parent 1: handle 10: fq maxrate {rate}"
            ).returncode
            == 0
        )
        if ok:
            return f"netem {delay_ms} ms each way (RTT {2 * delay_ms} ms) + fq maxrate {rate}/flow"
        for ns, dev in ends:
            _tc(ns, f"qdisc del dev {dev} root")
        if mode == "netem-fq":
            raise SystemExit("this kernel lacks sch_netem or sch_fq (use --shaping htb)")
    if mode in ("auto", "htb"):
        srv = pair.server
        _tc(srv, "qdisc add dev srv0 root handle 1: htb default 999", check=True)
        _tc(srv, "class add dev srv0 parent 1: classid 1:999 htb rate 100gbit", check=True)
        for i, port in enumerate(ports):
            cls = f"1:{10 + i}"
            _tc(
                srv,
                f"class add dev srv0 parent 1: classid {cls} htb rate {rate} ceil {rate} "
                "burst 256k cburst 256k",
                check=True,
            )
            _tc(
                srv,
                f"filter add dev srv0 protocol ip parent 1: prio 1 u32 "
                f"match ip sport {port} 0xffff flowid {cls}",
                check=True,
            )
        return (
            f"HTB {rate} per flow (one class per server port); no added delay: this kernel "
            "has no sch_netem/sch_fq"
        )
    return "none"


def connect(
    pair: NetnsPair, listeners: list[socket.socket]
) -> list[tuple[socket.socket, socket.socket]]:
    """One connection per listener: node connects (like an NFS client), server accepts."""
    conns = []
    for lst in listeners:
        cli = in_netns(pair.node, lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        cli.settimeout(30)
        cli.connect(lst.getsockname())
        srv, _ = lst.accept()
        srv.settimeout(30)
        conns.append((srv, cli))
    return conns


def measure(conns: list[tuple[socket.socket, socket.socket]], seconds: float) -> Result:
    """Bulk send server -> node on every connection for ``seconds``; aggregate goodput."""
    received = [0] * len(conns)
    buf = memoryview(b"\0" * CHUNK)
    start = threading.Barrier(len(conns) * 2 + 1)
    deadline = [0.0]

    def sender(sock: socket.socket) -> None:
        start.wait()
        while time.monotonic() < deadline[0]:
            sock.sendall(buf)
        sock.shutdown(socket.SHUT_WR)

    def receiver(i: int, sock: socket.socket) -> None:
        into = bytearray(CHUNK)
        start.wait()
        while True:
            n = sock.recv_into(into)
            if not n:
                break
            received[i] += n

    threads = []
    for i, (srv, cli) in enumerate(conns):
        threads.append(threading.Thread(target=sender, args=(srv,)))
        threads.append(threading.Thread(target=receiver, args=(i, cli)))
    for t in threads:
        t.start()
    deadline[0] = time.monotonic() + seconds
    t0 = time.monotonic()
    start.wait()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    mss = min(srv.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG) for srv, _ in conns)
    for srv, cli in conns:
        srv.close()
        cli.close()
    return Result(len(conns), sum(received) * 8 / elapsed / 1e9, mss)


def run_tuner(pair: NetnsPair, served: ServedApi, api: FakeKubeApi, work: Path) -> float:
    nps = work / "node-proc-sys"
    (nps / "net" / "core").mkdir(parents=True, exist_ok=True)
    for name in ("rmem_max", "wmem_max"):
        (nps / "net" / "core" / name).write_text(DEFAULT_CORE_MAX + "\n")
    argv = [
        "ip",
        "netns",
        "exec",
        pair.node,
        sys.executable,
        "-I",
        "-S",
        str(TUNER),
        "--node-name",
        NODE,
        "--ready-file",
        str(work / "ready"),
        "--node-proc-sys",
        str(nps),
        "--api-server",
        served.url,
        "--token-file",
        str(served.token_file),
        "--ca-file",
        str(served.ca_file),
        "--once",
    ]
    t0 = time.monotonic()
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise SystemExit(f"tuner failed:\n{out.stdout}{out.stderr}")
    patches = [r for r in api.requests if r.method == "PATCH" and r.status == 200]
    if len(patches) != 1 or TUNER_TAINT in api.current_taints():
        raise SystemExit("tuner did not remove the taint exactly once")
    return patches[0].at - t0


def set_offloads(pair: NetnsPair, mode: str) -> str:
    """Turn segmentation offloads off inside the namespaces (never on this machine's devices).

    A veth pair hands 64 KB GSO super-packets across unsplit, so without this the per-packet
    cost that jumbo frames save does not exist here at all.
    """
    if mode == "on" or (mode == "auto" and shutil.which("ethtool") is None):
        return "offloads on (veth passes GSO super-packets: MTU barely matters)"
    if shutil.which("ethtool") is None:
        raise SystemExit("--offloads off needs ethtool (apt-get install ethtool)")
    for ns, dev in ((pair.node, pair.interface), (pair.server, "srv0")):
        run(
            "ip",
            "netns",
            "exec",
            ns,
            "ethtool",
            "-K",
            dev,
            "tso",
            "off",
            "gso",
            "off",
            "gro",
            "off",
        )
    return "tso/gso/gro off on both veth ends (per-packet costs as on a NIC path)"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--seconds", type=float, default=3.0, help="duration of each transfer")
    p.add_argument("--delay-ms", type=float, default=1.0, help="netem delay each way")
    p.add_argument("--rate-per-flow", default="2gbit", help="per-flow cap (tc rate syntax)")
    p.add_argument("--streams", type=int, default=8, help="parallel connections (besides 1)")
    p.add_argument("--shaping", choices=["auto", "netem-fq", "htb", "none"], default="auto")
    p.add_argument(
        "--offloads",
        choices=["auto", "on", "off"],
        default="auto",
        help="segmentation offloads on the veth pair: 'off' (ethtool -K tso/gso/gro off) makes "
        "every packet cost what it costs on a NIC path, so the MTU matters as it does on a "
        "GPU Droplet; 'auto' = off when ethtool is installed",
    )
    args = p.parse_args(argv)
    reason = netns_unavailable_reason()
    if reason:
        print(f"skipped: {reason}")
        return 0
    with NetnsPair() as pair, tempfile.TemporaryDirectory(prefix="tuner-bench-") as tmp:
        work = Path(tmp)
        listeners = []
        for _ in range(max(1, args.streams)):
            lst = in_netns(pair.server, lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            lst.bind((pair.server_ip, 0))
            lst.listen(16)
            lst.settimeout(10)
            listeners.append(lst)
        ports = [lst.getsockname()[1] for lst in listeners]
        shaping = shape(pair, ports, args.shaping, args.delay_ms, args.rate_per_flow)
        shaping += "; " + set_offloads(pair, args.offloads)
        api = FakeKubeApi(NODE)
        served = ServedApi(api, in_netns(pair.node, listening_socket), work)
        try:
            counts = [1, args.streams] if args.streams > 1 else [1]
            before = {n: measure(connect(pair, listeners[:n]), args.seconds) for n in counts}
            stale = connect(pair, listeners[:1])  # opened before tuning
            latency = run_tuner(pair, served, api, work)
            after = {n: measure(connect(pair, listeners[:n]), args.seconds) for n in counts}
            stale_result = measure(stale, args.seconds)
        finally:
            served.close()
            for lst in listeners:
                lst.close()
    print(render(args, shaping, before, after, stale_result, latency))
    return 0


def render(
    args: argparse.Namespace,
    shaping: str,
    before: dict[int, Result],
    after: dict[int, Result],
    stale: Result,
    latency: float,
) -> str:
    lines = [
        f"Parameters: shaping = {shaping}; {args.seconds:g} s per transfer; server -> node bulk "
        "TCP (pure Python sockets); node MTU 1500 -> 9000, tcp_rmem/tcp_wmem max "
        "6291456/4194304 -> 16777216.",
        "",
        "| connections | before (Gbit/s, MSS) | after (Gbit/s, MSS) | after/before |",
        "|---|---|---|---|",
    ]
    for n, b in before.items():
        a = after[n]
        ratio = a.gbps / b.gbps if b.gbps else float("nan")
        lines.append(
            f"| {n} | {b.gbps:.2f} ({b.mss_server}) | {a.gbps:.2f} ({a.mss_server}) | {ratio:.2f} |"
        )
    b1 = before[1]
    lines.append(
        f"| 1, opened before tuning, measured after | {b1.gbps:.2f} ({b1.mss_server}) | "
        f"{stale.gbps:.2f} ({stale.mss_server}) | {stale.gbps / b1.gbps:.2f} |"
    )
    lines += [
        "",
        f"Tuner latency (program start to taint removed, local HTTPS API): "
        f"{latency * 1000:.0f} ms (target < 2000 ms).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

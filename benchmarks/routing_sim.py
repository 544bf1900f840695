"""A SIMULATION (not a measurement) of prefix-cache hits: round robin vs the llm-d picker.

Why prefix-aware routing pays, on paper: N vLLM replicas, each with an LRU cache of KV blocks
(vLLM's automatic prefix caching keeps blocks of ``--block-size`` tokens keyed by their whole
prefix), receive the same trace under two policies:

* **round robin**: what a Kubernetes Service does (near enough: kube-proxy/Cilium pick per
  connection, at random; round robin is the kinder case for the Service);
* **prefix-aware**: the llm-d Endpoint Picker's default profile: each replica scores
  ``2 * queue + 2 * kv-cache + 3 * prefix``, where queue is ``(max - waiting) / (max - min)``
  across replicas (1 when all equal), kv-cache is ``1 - KV utilization`` and prefix is the
  fraction of the request's blocks the picker's index says the replica holds; the highest score
  wins (ties broken at random). The picker's index is modelled as exact (it records which blocks
  it sent where, with the replica's capacity); the real one is approximate, so this is the
  optimistic side for the picker.

Trace model (all draws from one seeded ``random.Random``, so a run is reproducible):

* ``--system-prompts`` shared system prompts (agents, assistants) of 512-4096 tokens, picked with
  Zipf-like popularity (weight ``1 / rank``);
* ``--conversations`` multi-turn conversations, each on one system prompt, with a geometric
  number of turns (mean ``--turns``); a turn sends the system prompt, the whole history and a
  new user message of 20-400 tokens, and appends a 50-500-token reply to the history;
* requests arrive as a Poisson process at ``--rate`` per second; the next request comes from a
  random open conversation (at most ``--concurrent`` open at a time), so turns of one
  conversation are separated by the others' traffic, as with real users' think time.

Replica model: ``--slots`` concurrent requests per replica; a request waits for a free slot,
prefills its uncached tokens at ``--prefill-tps`` tokens/s and decodes its reply at
``--decode-ms`` per token. The estimated time to first token is wait + 20 ms + uncached prompt
tokens / prefill rate: the part of TTFT routing changes. The hit rate is cached prompt tokens /
prompt tokens, what ``vllm:prefix_cache_hits_total / vllm:prefix_cache_queries_total`` reports.

Usage: ``python benchmarks/routing_sim.py [--replicas 4] [--conversations 400] [--seed 19]``.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

Block = tuple[str, int, int]

#: The picker's default weights (llm-d-router v0.10.0's default profile).
WEIGHTS = {"queue": 2.0, "kv": 2.0, "prefix": 3.0}
FIXED_TTFT_S = 0.020


@dataclass
class Request:
    blocks: list[Block]
    prompt_tokens: int
    output_tokens: int


@dataclass
class Replica:
    capacity: int
    slots: int
    cache: OrderedDict[Block, None] = field(default_factory=OrderedDict)
    #: (start, finish, blocks) of requests admitted and not yet finished.
    flights: list[tuple[float, float, int]] = field(default_factory=list)
    free_at: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.free_at = [0.0] * self.slots

    def cached_prefix(self, blocks: Sequence[Block]) -> int:
        hits = 0
        for block in blocks:
            if block not in self.cache:
                break
            hits += 1
        return hits

    def touch(self, blocks: Sequence[Block]) -> None:
        for block in blocks:
            if block in self.cache:
                self.cache.move_to_end(block)
            else:
                self.cache[block] = None
        while len(self.cache) > self.capacity:
            self.cache.popitem(last=False)

    def expire(self, now: float) -> None:
        self.flights = [f for f in self.flights if f[1] > now]

    def waiting(self, now: float) -> int:
        return sum(1 for start, _, _ in self.flights if start > now)

    def kv_utilization(self, now: float) -> float:
        used = sum(blocks for start, _, blocks in self.flights if start <= now)
        return min(1.0, used / self.capacity)


@dataclass
class Outcome:
    hit_tokens: int = 0
    prompt_tokens: int = 0
    ttfts: list[float] = field(default_factory=list)

    @property
    def hit_rate(self) -> float:
        return 100.0 * self.hit_tokens / self.prompt_tokens if self.prompt_tokens else 0.0

    def ttft(self, q: float) -> float:
        ordered = sorted(self.ttfts)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def trace(args: argparse.Namespace) -> list[tuple[float, Request]]:
    """The requests with their arrival times (see the module docstring for the model)."""
    rng = random.Random(args.seed)
    bs = args.block_size
    systems = [rng.randint(512, 4096) for _ in range(args.system_prompts)]
    popularity = [1.0 / (rank + 1) for rank in range(args.system_prompts)]
    pending = list(range(args.conversations))
    open_: list[dict[str, int]] = []
    out: list[tuple[float, Request]] = []
    now = 0.0
    while pending or open_:
        while pending and len(open_) < args.concurrent:
            cid = pending.pop()
            sid = rng.choices(range(args.system_prompts), popularity)[0]
            turns = 1
            while rng.random() > 1.0 / args.turns:
                turns += 1
            open_.append({"cid": cid, "sid": sid, "history": 0, "turns": turns})
        now += rng.expovariate(args.rate)
        conv = rng.choice(open_)
        user = rng.randint(20, 400)
        reply = rng.randint(50, 500)
        system_tokens = systems[conv["sid"]]
        own_tokens = conv["history"] + user
        # vLLM caches full blocks only: the system prompt's blocks are shared across
        # conversations, the conversation's own blocks follow them.
        blocks: list[Block] = [("s", conv["sid"], i) for i in range(system_tokens // bs)]
        blocks += [("c", conv["cid"], i) for i in range(own_tokens // bs)]
        out.append((now, Request(blocks, system_tokens + own_tokens, reply)))
        conv["history"] += user + reply
        conv["turns"] -= 1
        if conv["turns"] == 0:
            open_.remove(conv)
    return out


def pick_prefix_aware(
    replicas: list[Replica], index: list[Replica], req: Request, now: float, rng: random.Random
) -> int:
    waiting = [r.waiting(now) for r in replicas]
    low, high = min(waiting), max(waiting)
    best: list[int] = []
    best_score = -1.0
    for i, replica in enumerate(replicas):
        queue = 1.0 if high == low else (high - waiting[i]) / (high - low)
        kv = 1.0 - replica.kv_utilization(now)
        prefix = index[i].cached_prefix(req.blocks) / len(req.blocks) if req.blocks else 0.0
        score = WEIGHTS["queue"] * queue + WEIGHTS["kv"] * kv + WEIGHTS["prefix"] * prefix
        if score > best_score + 1e-12:
            best, best_score = [i], score
        elif abs(score - best_score) <= 1e-12:
            best.append(i)
    return rng.choice(best)


def simulate(
    policy: str, requests: list[tuple[float, Request]], args: argparse.Namespace
) -> Outcome:
    rng = random.Random(args.seed + 1)
    replicas = [Replica(args.cache_blocks, args.slots) for _ in range(args.replicas)]
    # The picker's own view of each replica's cache (what it routed where).
    index = [Replica(args.cache_blocks, 1) for _ in range(args.replicas)]
    out = Outcome()
    turn = 0
    for now, req in requests:
        for replica in replicas:
            replica.expire(now)
        if policy == "round robin":
            chosen = turn % len(replicas)
            turn += 1
        else:
            chosen = pick_prefix_aware(replicas, index, req, now, rng)
            index[chosen].touch(req.blocks)
        replica = replicas[chosen]
        hit_tokens = replica.cached_prefix(req.blocks) * args.block_size
        replica.touch(req.blocks)
        uncached = req.prompt_tokens - hit_tokens
        slot = min(range(args.slots), key=lambda s: replica.free_at[s])
        start = max(now, replica.free_at[slot])
        prefill = uncached / args.prefill_tps
        finish = start + FIXED_TTFT_S + prefill + req.output_tokens * args.decode_ms / 1000.0
        replica.free_at[slot] = finish
        replica.flights.append(
            (start, finish, len(req.blocks) + req.output_tokens // args.block_size)
        )
        out.hit_tokens += hit_tokens
        out.prompt_tokens += req.prompt_tokens
        out.ttfts.append(start - now + FIXED_TTFT_S + prefill)
    return out


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--replicas", type=int, default=4)
    p.add_argument("--conversations", type=int, default=400)
    p.add_argument("--system-prompts", type=int, default=8)
    p.add_argument("--turns", type=float, default=6.0, help="mean turns per conversation")
    p.add_argument("--concurrent", type=int, default=64, help="conversations open at a time")
    p.add_argument("--rate", type=float, default=6.0, help="requests per second")
    p.add_argument("--block-size", type=int, default=16, help="tokens per KV block")
    p.add_argument(
        "--cache-blocks", type=int, default=8192, help="KV blocks per replica (8192 x 16 tokens)"
    )
    p.add_argument("--slots", type=int, default=16, help="concurrent requests per replica")
    p.add_argument("--prefill-tps", type=float, default=8000.0, help="prefill tokens per second")
    p.add_argument("--decode-ms", type=float, default=15.0, help="ms per output token")
    p.add_argument("--seed", type=int, default=19)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    for name in ("replicas", "conversations", "system_prompts", "concurrent", "block_size"):
        if getattr(args, name) < 1:
            parser().error(f"--{name.replace('_', '-')} must be at least 1")
    if args.turns < 1 or args.rate <= 0 or args.cache_blocks < 1 or args.slots < 1:
        parser().error("--turns >= 1, --rate > 0, --cache-blocks >= 1 and --slots >= 1")
    requests = trace(args)
    results = {
        policy: simulate(policy, requests, args) for policy in ("round robin", "prefix-aware")
    }
    print(
        f"SIMULATION, not a measurement: {args.replicas} replicas x {args.cache_blocks} KV blocks "
        f"of {args.block_size} tokens, {len(requests)} requests from {args.conversations} "
        f"conversations on {args.system_prompts} system prompts, seed {args.seed}"
    )
    print("prefix cache hit rate (cached prompt tokens / prompt tokens):")
    for policy, outcome in results.items():
        print(f"{policy}: {outcome.hit_rate:.1f} %")
    print("estimated time to first token (queue wait + uncached prefill), mean / p95:")
    for policy, outcome in results.items():
        mean = sum(outcome.ttfts) / len(outcome.ttfts)
        print(f"  {policy}: {mean * 1000:.0f} ms / {outcome.ttft(0.95) * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

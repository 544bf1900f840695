"""The gateway's route table: which paths vLLM 0.33 answers, which of them clients may call
through the gateway, and the rule for a model's route prefix (it must not be one of vLLM's own
first path segments). Used by ``ServedModel`` (its name is its prefix) and ``InferenceGateway``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ..errors import ConfigurationError

# vLLM's HTTP paths (vLLM 0.33.0, read from the vllm-0.33.0 wheel's vllm/entrypoints/):
#
#   launchers/app.py               FastAPI app: /docs, /docs/oauth2-redirect, /redoc, /openapi.json
#   launchers/api_server/routers.py  which routers are attached, and when
#   serve/instrumentator/          /health, /metrics (Mount), /load, /version, /kv_event_sources,
#                                  /static (offline docs)
#   serve/lora/api_router.py       /v1/load_lora_adapter, /v1/unload_lora_adapter (admin)
#   serve/profile/api_router.py    /start_profile, /stop_profile
#   serve/tokenize/api_router.py   /tokenize, /detokenize, /tokenizer_info
#   serve/sagemaker/api_router.py  /ping, /invocations; its bootstrap adds /adapters and
#                                  /adapters/{name} (model-hosting-container-standards LoRA routes)
#   serve/dev/*                    /server_info, /reset_prefix_cache, /reset_mm_cache,
#                                  /reset_encoder_cache, /collective_rpc, /sleep, /wake_up,
#                                  /is_sleeping, /release_kv_cache_memory (VLLM_SERVER_DEV_MODE)
#   serve/elastic_ep/api_router.py /scale_elastic_ep, /is_scaling_elastic_ep
#   serve/fault_tolerance/         /fault_tolerance/apply, /fault_tolerance/status
#   rl/online/api_router.py        /pause, /resume, /abort_requests, /is_paused, weight-update
#                                  endpoints (dev mode)
#   openai/*/api_router.py         /v1/chat/completions[/batch], /v1/completions, /v1/models,
#                                  /v1/responses[/{id}[/cancel]], /v1/decisions
#   anthropic/api_router.py        /v1/messages, /v1/messages/count_tokens
#   cohere/api_router.py           /cohere/v2/chat[/render]
#   pooling/*/api_router.py        /pooling, /classify, /score, /v1/score, /rerank, /v1/rerank,
#                                  /v2/rerank, /v1/embeddings, /v2/embed
#   speech_to_text/*/api_router.py /v1/audio/transcriptions, /v1/audio/translations,
#                                  /v1/realtime (WebSocket)
#   generate/*/api_router.py       /generative_scoring, /v1/systemone
#   scale_out/*/api_router.py      /v1/{chat/completions,completions,messages,responses}/render,
#                                  /v1/{chat/completions,completions}/derender,
#                                  /inference/v1/generate, /inference/v1/abort_requests
#   launchers/dp_supervisor.py     /health, /ready, /readyz

#: First path segments of every path a vLLM 0.33 server may answer. A model routed at
#: ``/<name>`` must not use one: the gateway's default route (``/``) sends these to vLLM, so
#: ``/<name>/...`` would be ambiguous (a model named ``v1`` would shadow ``/v1/chat/completions``).
RESERVED_ROUTE_NAMES: frozenset[str] = frozenset(
    {
        # OpenAI- and other API-compatible prefixes
        "v1",
        "v2",
        "cohere",
        "inference",
        # FastAPI documentation
        "docs",
        "redoc",
        "openapi.json",
        "static",
        # health, metrics, information
        "health",
        "ready",
        "readyz",
        "metrics",
        "load",
        "version",
        "kv_event_sources",
        "ping",
        "server_info",
        # SageMaker
        "invocations",
        "adapters",
        # vLLM extras
        "tokenize",
        "detokenize",
        "tokenizer_info",
        "pooling",
        "classify",
        "score",
        "rerank",
        "generative_scoring",
        # admin and development endpoints
        "start_profile",
        "stop_profile",
        "reset_prefix_cache",
        "reset_mm_cache",
        "reset_encoder_cache",
        "collective_rpc",
        "sleep",
        "wake_up",
        "is_sleeping",
        "release_kv_cache_memory",
        "scale_elastic_ep",
        "is_scaling_elastic_ep",
        "fault_tolerance",
        "pause",
        "resume",
        "is_paused",
        "abort_requests",
        "init_weight_transfer_engine",
        "shutdown_weight_transfer_engine",
        "start_weight_update",
        "start_draft_weight_update",
        "update_weights",
        "finish_weight_update",
        "update_weight_version",
        "weight_info",
        "weight_checker",
        "get_world_size",
    }
)

_ROUTE_NAME = re.compile(r"[A-Za-z0-9._~-]+")


def route_name(field: str, value: object) -> str:
    """A name used as the path prefix ``/<name>``: one URL path segment (letters, digits, '.',
    '_', '~', '-'; not '.' or '..') that is not in :data:`RESERVED_ROUTE_NAMES` (compared
    case-insensitively)."""
    if (
        not isinstance(value, str)
        or len(value) > 253
        or not _ROUTE_NAME.fullmatch(value)
        or value in (".", "..")
    ):
        raise ConfigurationError(
            field,
            value,
            "one URL path segment of letters, digits, '.', '_', '~' or '-'",
        )
    if value.lower() in RESERVED_ROUTE_NAMES:
        raise ConfigurationError(
            field,
            value,
            "a name that is not one of vLLM's own paths ("
            + ", ".join(sorted(RESERVED_ROUTE_NAMES)[:8])
            + ", ...)",
            f"'/{value}' is a vLLM server path; rename the model, e.g. '{value}-model'.",
        )
    return value


@dataclass(frozen=True)
class ClientPath:
    """One path clients of the OpenAI-compatible API call, as a Gateway API path match.

    ``match`` is the HTTPRoute ``path.type``: ``Exact``, or ``PathPrefix`` (element-wise: the
    path itself and anything under ``path/``).
    """

    path: str
    match: Literal["Exact", "PathPrefix"]
    methods: tuple[str, ...]
    note: str = ""

    def matches(self, request_path: str) -> bool:
        """Whether Gateway API would route ``request_path`` by this match."""
        if self.match == "Exact":
            return request_path == self.path
        return request_path == self.path or request_path.startswith(self.path.rstrip("/") + "/")


#: The OpenAI-compatible paths vLLM 0.33 serves to clients (see the sources above). vLLM answers
#: 404 for those its model does not support (e.g. audio on a text model). Nothing else of vLLM's
#: belongs on a gateway: in particular never the admin paths in :data:`VLLM_ADMIN_PATHS`.
VLLM_CLIENT_PATHS: tuple[ClientPath, ...] = (
    ClientPath("/v1/chat/completions", "Exact", ("POST",)),
    ClientPath("/v1/completions", "Exact", ("POST",)),
    ClientPath("/v1/models", "Exact", ("GET",)),
    ClientPath("/v1/embeddings", "Exact", ("POST",), "embedding models"),
    ClientPath("/v1/responses", "Exact", ("POST",)),
    ClientPath(
        "/v1/responses/",
        "PathPrefix",
        ("GET", "POST"),
        "GET /v1/responses/{id} and POST /v1/responses/{id}/cancel; also reaches "
        "/v1/responses/render, which vLLM refuses (403) unless started with --enable-scale-out",
    ),
    ClientPath("/v1/audio/transcriptions", "Exact", ("POST",), "speech-to-text models"),
    ClientPath("/v1/audio/translations", "Exact", ("POST",), "speech-to-text models"),
    ClientPath("/v1/realtime", "Exact", ("GET",), "WebSocket upgrade; realtime models"),
)

#: vLLM's health check (GET, 200 when the engine is up), for a load balancer that probes through
#: the gateway. Not an OpenAI path; add it to the allow-list only if the load balancer needs it.
VLLM_HEALTH_PATH = "/health"

#: Paths that change or inspect the server: never on a client allow-list.
VLLM_ADMIN_PATHS: tuple[str, ...] = (
    "/v1/load_lora_adapter",
    "/v1/unload_lora_adapter",
    "/adapters",
    "/start_profile",
    "/stop_profile",
    "/sleep",
    "/wake_up",
    "/is_sleeping",
    "/collective_rpc",
    "/reset_prefix_cache",
    "/reset_mm_cache",
    "/reset_encoder_cache",
    "/release_kv_cache_memory",
    "/server_info",
    "/scale_elastic_ep",
    "/is_scaling_elastic_ep",
    "/fault_tolerance/apply",
    "/pause",
    "/resume",
    "/abort_requests",
    "/update_weights",
    "/metrics",
    "/invocations",
    "/docs",
    "/openapi.json",
)

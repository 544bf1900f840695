"""Schemas shipped as package data (read with :mod:`importlib.resources`).

``gateway-api-v1.3.0/``: the Gateway API v1.3.0 standard-channel CRDs for Gateway and HTTPRoute
(Apache-2.0, see the LICENSE and SOURCE.md beside them), used by ``vllm-nfs validate``.
"""

from __future__ import annotations

GATEWAY_API_VERSION = "v1.3.0"
GATEWAY_API_DIR = f"gateway-api-{GATEWAY_API_VERSION}"

__all__ = ["GATEWAY_API_DIR", "GATEWAY_API_VERSION"]

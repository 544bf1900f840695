"""Schemas shipped as package data (read with :mod:`importlib.resources`).

``gateway-api-v1.3.0/``: the Gateway API v1.3.0 standard-channel CRDs for Gateway and HTTPRoute
(Apache-2.0, see the LICENSE and SOURCE.md beside them), used by ``vllm-nfs validate``.

``prometheus-operator-v0.93.0/``: PodMonitor, ServiceMonitor and PrometheusRule CRDs.

``gateway-api-inference-extension-v1.6.0/``: the InferencePool CRD
(``inference.networking.k8s.io``); ``llm-d-router-v0.10.0/``: the InferenceObjective and
InferenceModelRewrite CRDs (``llm-d.ai``); ``gateway-api-inference-extension-v1.5.0-legacy/``:
the same two kinds in the legacy group ``inference.networking.x-k8s.io``, which the Endpoint
Picker also watches; all for prefix-aware routing (docs/routing.md).

``vllm-nfs validate`` indexes every CRD in every folder here by (apiVersion, kind)
(``validate.crd_schemas``): a new folder of CRD YAML with its LICENSE and SOURCE.md (whose first
words, before the version, name the source in findings) needs no code change.
"""

from __future__ import annotations

GATEWAY_API_VERSION = "v1.3.0"
GATEWAY_API_DIR = f"gateway-api-{GATEWAY_API_VERSION}"

__all__ = ["GATEWAY_API_DIR", "GATEWAY_API_VERSION"]

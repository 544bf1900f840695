"""Route a request path through synthesized HTTPRoutes the way Gateway API does.

Written from the Gateway API spec (HTTPRoute ``path`` match and ``URLRewrite`` filter), not from
the library, so tests check the manifests independently of how the library builds them:

- ``Exact`` matches the path exactly; ``PathPrefix`` matches element-wise (``/abc`` matches
  ``/abc`` and ``/abc/def`` but not ``/abcd``; a trailing ``/`` in the value is ignored);
- among matching rules an ``Exact`` match wins, then the longest prefix;
- ``ReplaceFullPath`` replaces the whole path; ``ReplacePrefixMatch`` replaces the matched prefix.
"""

from __future__ import annotations

from typing import Any

Manifest = dict[str, Any]


def _prefix_matches(prefix: str, path: str) -> bool:
    prefix = prefix.rstrip("/")
    return prefix in ("", path) or path.startswith(prefix + "/")


def _rewrite(rule: Manifest, match: Manifest, path: str) -> str:
    for flt in rule.get("filters", []):
        if flt["type"] != "URLRewrite" or "path" not in flt["urlRewrite"]:
            continue
        rewrite = flt["urlRewrite"]["path"]
        if rewrite["type"] == "ReplaceFullPath":
            return str(rewrite["replaceFullPath"])
        assert rewrite["type"] == "ReplacePrefixMatch", rewrite
        assert match["type"] == "PathPrefix", "ReplacePrefixMatch needs a PathPrefix match"
        rest = path[len(match["value"].rstrip("/")) :]
        replaced = rewrite["replacePrefixMatch"].rstrip("/") + rest
        return replaced or "/"
    return path


def route_request(routes: list[Manifest], path: str) -> tuple[str, str] | None:
    """``(backend Service name, path the backend sees)``, or None (the gateway answers 404)."""
    best: tuple[tuple[int, int], Manifest, Manifest] | None = None
    tied = False
    for route in routes:
        for rule in route["spec"]["rules"]:
            for match in rule.get("matches", [{"path": {"type": "PathPrefix", "value": "/"}}]):
                p = match["path"]
                if p["type"] == "Exact":
                    if path != p["value"]:
                        continue
                    rank = (1, len(p["value"]))
                elif p["type"] == "PathPrefix":
                    if not _prefix_matches(p["value"], path):
                        continue
                    rank = (0, len(p["value"].rstrip("/")))
                else:
                    raise AssertionError(f"unexpected path match type {p['type']}")
                if best is None or rank > best[0]:
                    best, tied = (rank, rule, p), False
                elif rank == best[0] and rule["backendRefs"] != best[1]["backendRefs"]:
                    tied = True
    if best is None:
        return None
    assert not tied, f"{path}: two rules of equal precedence to different backends"
    _, rule, match = best
    (backend,) = rule["backendRefs"]
    return backend["name"], _rewrite(rule, match, path)

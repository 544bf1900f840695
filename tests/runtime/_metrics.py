"""A loopback stand-in for vLLM's /metrics endpoint whose answers a test scripts over time."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Answer:
    """One scrape's answer: metrics text, an HTTP status, or a hang of ``hang`` seconds."""

    text: str = ""
    status: int = 200
    hang: float = 0.0


def vllm_metrics(*engines: tuple[float, float], model: str = "org/model") -> str:
    """vLLM-style exposition with one running/waiting series per engine (running, waiting)."""
    lines = [
        "# HELP vllm:num_requests_running Number of requests in model execution batches.",
        "# TYPE vllm:num_requests_running gauge",
    ]
    for i, (running, _) in enumerate(engines):
        lines.append(f'vllm:num_requests_running{{engine="{i}",model_name="{model}"}} {running!r}')
    lines += [
        "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.",
        "# TYPE vllm:num_requests_waiting gauge",
    ]
    for i, (_, waiting) in enumerate(engines):
        lines.append(f'vllm:num_requests_waiting{{engine="{i}",model_name="{model}"}} {waiting!r}')
    lines += [
        "# TYPE vllm:gpu_cache_usage_perc gauge",
        f'vllm:gpu_cache_usage_perc{{engine="0",model_name="{model}"}} NaN',
        'http_requests_total{handler="/v1/chat/completions",method="POST"} 1.5e+03',
    ]
    return "\n".join(lines) + "\n"


class MetricsServer:
    """Serves ``answers`` in order (the last one repeats); records the scrape times."""

    def __init__(self, answers: list[Answer]) -> None:
        self.answers = list(answers)
        self.scrapes: list[float] = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                with server.lock:
                    server.scrapes.append(time.monotonic())
                    answer = server.answers.pop(0) if len(server.answers) > 1 else server.answers[0]
                if answer.hang:
                    server.release.wait(answer.hang)
                body = answer.text.encode()
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "text/plain; version=0.0.4")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/metrics"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.stopped = False

    def stop(self) -> None:
        """Close the listening socket: later scrapes get "connection refused"."""
        if not self.stopped:
            self.stopped = True
            self.release.set()
            self.httpd.shutdown()
            self.httpd.server_close()

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

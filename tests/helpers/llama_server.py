"""A small OpenAI-compatible HTTP server that really runs llama.cpp, for testing the remote backend.

It stands in for vLLM, llama.cpp's server or Ollama: a separate HTTP endpoint with its own copy of a model. Only
`POST /chat/completions` (streamed or not) is served, which is all the remote backend uses.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class LlamaServer:
    def __init__(self, model_path: Path, model_name: str) -> None:
        from llama_cpp import Llama

        self.model_name = model_name
        self.requests: list[dict[str, Any]] = []
        # logits_all: OpenAI's `logprobs`, which the answer judgement asks for, needs every position's logits.
        self._llama = Llama(model_path=str(model_path), n_ctx=2048, n_threads=2, seed=0, logits_all=True, verbose=False)
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> LlamaServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._llama.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                if self.path != "/v1/chat/completions":
                    self.send_error(404)
                    return
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"body": body, "authorization": self.headers.get("Authorization")})
                with server._lock:
                    result = server._llama.create_chat_completion(
                        messages=body["messages"],
                        temperature=body.get("temperature", 0.0),
                        top_p=body.get("top_p", 1.0),
                        max_tokens=body.get("max_tokens", 128),
                        seed=body.get("seed"),
                        stream=bool(body.get("stream")),
                        logprobs=body.get("logprobs"),
                        top_logprobs=body.get("top_logprobs"),
                    )
                    if not body.get("stream"):
                        self._send(200, "application/json", json.dumps(result, default=float).encode())
                        return
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    for part in result:
                        self.wfile.write(f"data: {json.dumps(part, default=float)}\n\n".encode())
                        self.wfile.flush()
                    self.wfile.write(b"data: [DONE]\n\n")

            def _send(self, status: int, content_type: str, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler

"""Load on a running instance: concurrent clients mixing searches, questions (streamed and not) and uploads.

    python -m bench.load --token crk_... [--url http://127.0.0.1:8000] [--clients 1,10] [--seconds 30]
                         [--contention 8] [--fault 'COMMAND@SECONDS' ...] [--settle 600]
                         [--bulk 40 [--bulk-token crk_...]]

Each client loops for `--seconds` over a weighted mix (search 50 %, query 20 %, streamed query 20 %, upload 10 %;
each upload is a small new text file). Prints, per concurrency level and endpoint: requests, errors by status,
p50/p95 latency (for streamed queries: time to the first token event and to the end) and throughput. With
`--contention N`, it also measures search latency alone and while N streamed answers run at once (the issue's
target: at most 3x). Traffic goes to 127.0.0.1 only, and is bounded in time and in clients (at most 50). Start the
instance with CLEANROOM_API_RATE=off CLEANROOM_ANSWER_RATE=off, or its rate limits answer 429s.

Faults: each `--fault` runs the operator's shell command that many seconds into every level (a SIGKILL of the
worker's pool child, a broker or database restart); with `--settle N` the run then waits up to N seconds for every
upload the service accepted to end, and fails unless each was indexed exactly once (one `indexed` step, chunks).

Bulk ingestion: with `--bulk N`, each level also starts, beside the clients, one uploader that sends N documents of
about 4,000 characters each as fast as the service accepts them (with `--bulk-token`, as another tenant's editor: the
fairness case), so the clients' searches, questions and small uploads run while the worker is busy with a backlog.
The level reports how many of the bulk documents were indexed by its end; `--settle` checks them too.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

QUESTIONS = [
    "How many days of annual leave do employees get?",
    "What is the notice period?",
    "Which hotels can be booked when travelling?",
    "Who approves overtime?",
]
SEARCHES = ["annual leave", "notice period", "travel hotel", "overtime approval", "security badge"]
MIX = [("search", 50), ("query", 20), ("query_stream", 20), ("upload", 10)]
MAX_CLIENTS = 50
MAX_BULK = 500
_WORDS = (
    "policy staff leave travel approval record office canteen security badge visitor contract review budget "
    "training safety shift overtime reimbursement laptop network password audit supplier invoice quarterly"
).split()


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))] if ordered else float("nan")


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    first_token: list[float] = field(default_factory=list)
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    uploads: list[str] = field(default_factory=list)  # ids of accepted uploads (202)
    bulk: list[str] = field(default_factory=list)  # ids of the accepted bulk documents
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(
        self, endpoint: str, status: int, seconds: float, first: float | None = None, document_id: str = ""
    ) -> None:
        with self.lock:
            if document_id:
                self.uploads.append(document_id)
            self.statuses[endpoint][status] += 1
            if 200 <= status < 300:
                self.latencies[endpoint].append(seconds)
                if first is not None:
                    self.first_token.append(first)


class Client:
    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token

    def _send(self, path: str, data: bytes | None, content_type: str) -> urllib.request.Request:
        headers = {"Authorization": f"Token {self.token}"}
        request = urllib.request.Request(self.base + path, data=data, headers=headers)  # noqa: S310 - loopback, http
        if content_type:
            request.add_header("Content-Type", content_type)
        return request

    def upload_request(self, text: str) -> urllib.request.Request:
        boundary = uuid.uuid4().hex
        data = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="note.txt"\r\n\r\n'.encode()
            + text.encode()
            + f"\r\n--{boundary}--\r\n".encode()
        )
        return self._send("/api/v1/documents", data, f"multipart/form-data; boundary={boundary}")

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(self._send(path, None, ""), timeout=30) as response:  # noqa: S310 - loopback
            return json.loads(response.read())

    def call(self, endpoint: str) -> tuple[int, float, float | None, str]:
        """(status, seconds, seconds to the first token for a streamed query, id of an accepted upload)."""
        if endpoint == "search":
            body = {"query": random.choice(SEARCHES), "top_k": 5}
            request = self._send("/api/v1/search", json.dumps(body).encode(), "application/json")
        elif endpoint in ("query", "query_stream"):
            body = {"question": random.choice(QUESTIONS), "stream": endpoint == "query_stream"}
            request = self._send("/api/v1/query", json.dumps(body).encode(), "application/json")
        else:
            text = f"Load test note {uuid.uuid4()}: the canteen opens at 8:00 and closes at 15:00."
            request = self.upload_request(text)
        began = time.monotonic()
        first = None
        document_id = ""
        try:
            with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310 - loopback only (checked)
                if endpoint == "query_stream":
                    for line in response:
                        if first is None and line.startswith(b"event: token"):
                            first = time.monotonic() - began
                else:
                    body = response.read()
                    if endpoint == "upload" and response.status == 202:
                        document_id = json.loads(body)["id"]
                status = response.status
        except urllib.error.HTTPError as exc:
            exc.read()
            status = exc.code
        except (urllib.error.URLError, TimeoutError, ConnectionError):
            status = 0  # no answer at all
        return status, time.monotonic() - began, first, document_id


def bulk_text(rng: random.Random, n: int) -> str:
    """A document of about 4,000 characters: ten paragraphs of policy-like words, new on every call (the service
    answers an upload it already holds with 200, not 202)."""
    nonce = uuid.uuid4().hex[:8]
    paragraphs = [
        f"Section {i + 1} of bulk document {n} ({nonce}). " + " ".join(rng.choice(_WORDS) for _ in range(55)) + "."
        for i in range(10)
    ]
    return "\n\n".join(paragraphs)


def upload_bulk(client: Client, count: int, results: Results, deadline: float) -> None:
    """Send `count` documents one after another (the backlog a bulk import makes), stopping at the deadline."""
    rng = random.Random(count)
    for n in range(count):
        if time.monotonic() >= deadline:
            break
        began = time.monotonic()
        try:
            with urllib.request.urlopen(client.upload_request(bulk_text(rng, n)), timeout=300) as response:  # noqa: S310
                body = response.read()
                status = response.status
        except urllib.error.HTTPError as exc:
            exc.read()
            status = exc.code
        except (urllib.error.URLError, TimeoutError, ConnectionError):
            status = 0
        with results.lock:
            results.statuses["bulk_upload"][status] += 1
            if status == 202:
                results.bulk.append(json.loads(body)["id"])
                results.latencies["bulk_upload"].append(time.monotonic() - began)


def indexed_count(client: Client, ids: Sequence[str]) -> int:
    count = 0
    for document_id in ids:
        try:
            count += client.get(f"/api/v1/documents/{document_id}")["status"] == "indexed"
        except (urllib.error.URLError, TimeoutError, ConnectionError):
            pass
    return count


def run_mix(
    client: Client,
    clients: int,
    seconds: float,
    faults: Sequence[tuple[str, float]] = (),
    bulk: tuple[Client, int] | None = None,
) -> Results:
    results = Results()
    started = time.monotonic()
    deadline = started + seconds
    names, weights = zip(*MIX, strict=True)

    def loop() -> None:
        while time.monotonic() < deadline:
            endpoint = random.choices(names, weights)[0]
            status, took, first, document_id = client.call(endpoint)
            results.add(endpoint, status, took, first, document_id)

    def inject(command: str, at: float) -> None:
        time.sleep(max(0.0, started + at - time.monotonic()))
        # The operator's own command (e.g. a SIGKILL of the worker's pool child, a broker or database restart).
        done = subprocess.run(command, shell=True, capture_output=True, text=True)  # noqa: S602
        print(f"  fault at {time.monotonic() - started:.0f} s: {command!r} -> exit {done.returncode}", flush=True)

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(clients)]
    threads += [threading.Thread(target=inject, args=fault, daemon=True) for fault in faults]
    if bulk:
        threads.append(threading.Thread(target=upload_bulk, args=(*bulk, results, deadline), daemon=True))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def settle(client: Client, ids: Sequence[str], seconds: float, label: str) -> bool:
    """Wait for every accepted upload to end, then check each was indexed exactly once. True: all were."""
    deadline = time.monotonic() + seconds
    pending = set(ids)
    final: dict[str, dict] = {}
    while pending and time.monotonic() < deadline:
        for document_id in sorted(pending):
            try:
                document = client.get(f"/api/v1/documents/{document_id}")
            except (urllib.error.URLError, TimeoutError, ConnectionError):
                continue  # the service itself may be restarting
            if document["status"] in ("indexed", "failed"):
                final[document_id] = document
                pending.discard(document_id)
        if pending:
            time.sleep(2)
    indexed_once = [
        d
        for d in final.values()
        if d["status"] == "indexed" and d["chunk_count"] >= 1 and sum(s["status"] == "indexed" for s in d["steps"]) == 1
    ]
    failed = Counter((d.get("error") or {}).get("code", "?") for d in final.values() if d["status"] == "failed")
    twice = len([d for d in final.values() if sum(s["status"] == "indexed" for s in d["steps"]) > 1])
    print(
        f"\n{label} accepted uploads: {len(ids)}; indexed exactly once: {len(indexed_once)};"
        f" indexed more than once: {twice}; failed: {dict(failed) or 0};"
        f" not finished after {seconds:.0f} s: {len(pending)}"
    )
    return len(indexed_once) == len(ids)


def report(results: Results, clients: int, seconds: float) -> None:
    total = sum(sum(c.values()) for c in results.statuses.values())
    print(f"\n{clients} client(s), {seconds:.0f} s: {total} requests, {total / seconds:.1f}/s")
    print(f"  {'endpoint':<14}{'ok':>6}  {'errors by status':<22}{'p50 s':>8}{'p95 s':>8}")
    for endpoint in [name for name, _ in MIX] + (["bulk_upload"] if "bulk_upload" in results.statuses else []):
        statuses = results.statuses.get(endpoint, Counter())
        latencies = results.latencies.get(endpoint, [])
        errors = ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items()) if not 200 <= s < 300) or "-"
        line = f"  {endpoint:<14}{len(latencies):>6}  {errors:<22}"
        print(line + f"{percentile(latencies, 0.5):>8.2f}{percentile(latencies, 0.95):>8.2f}")
    if results.first_token:
        ft = results.first_token
        print(f"  {'first token':<14}{len(ft):>6}  {'':<22}{percentile(ft, 0.5):>8.2f}{percentile(ft, 0.95):>8.2f}")


def contention(client: Client, answers: int, searches: int, seconds: float) -> None:
    """Search latency alone, then while `answers` streamed questions run at once (each phase: `searches` searches,
    or fewer if `seconds` run out)."""

    def timed_searches() -> list[float]:
        out = []
        deadline = time.monotonic() + seconds
        for _ in range(searches):
            if time.monotonic() > deadline:
                break
            status, took, _, _ = client.call("search")
            if status == 200:
                out.append(took)
        return out

    alone = timed_searches()
    stop = threading.Event()

    def answer() -> None:
        while not stop.is_set():
            client.call("query_stream")

    threads = [threading.Thread(target=answer, daemon=True) for _ in range(answers)]
    for thread in threads:
        thread.start()
    time.sleep(2)  # let the answers start generating
    busy = timed_searches()
    stop.set()
    for thread in threads:
        thread.join(timeout=300)
    p95_alone, p95_busy = percentile(alone, 0.95), percentile(busy, 0.95)
    print(f"\nsearch p95 alone {p95_alone:.3f} s ({len(alone)} ok); with {answers} answers streaming")
    print(f"  {p95_busy:.3f} s ({len(busy)} ok): {p95_busy / p95_alone:.1f}x (target: at most 3x)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--token", required=True, help="an editor's API token (uploads need one)")
    parser.add_argument("--clients", default="1,10", help="concurrency levels, comma-separated")
    parser.add_argument("--seconds", type=float, default=30.0, help="per concurrency level (at most 600)")
    parser.add_argument("--contention", type=int, default=0, help="streamed answers at once for the search check")
    parser.add_argument("--searches", type=int, default=40, help="searches timed in each contention phase (at most)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="COMMAND@SECONDS",
        help="run this shell command that many seconds into each level (repeatable), e.g. "
        "\"pkill -9 -f 'celery.*worker' -n@20\"",
    )
    parser.add_argument(
        "--bulk", type=int, default=0, help=f"documents a bulk uploader sends in each level (<= {MAX_BULK})"
    )
    parser.add_argument(
        "--bulk-token", default="", help="the bulk uploader's token (default: --token), e.g. another tenant's"
    )
    parser.add_argument(
        "--settle", type=float, default=0, help="then wait up to this long for every accepted upload to be indexed"
    )
    args = parser.parse_args(argv)
    if urlsplit(args.url).hostname not in ("127.0.0.1", "localhost", "::1"):
        parser.error("--url must be a loopback address: this tool only loads a local instance")
    levels = [int(n) for n in args.clients.split(",") if n.strip()]
    if any(not 1 <= n <= MAX_CLIENTS for n in levels) or not 0 < args.seconds <= 600:
        parser.error(f"clients must be 1..{MAX_CLIENTS} and seconds 0..600")
    if not 0 <= args.bulk <= MAX_BULK:
        parser.error(f"--bulk must be 0..{MAX_BULK}")
    faults = []
    for fault in args.fault:
        command, _, at = fault.rpartition("@")
        if not command or not at.replace(".", "", 1).isdigit():
            parser.error("--fault is COMMAND@SECONDS")
        faults.append((command, float(at)))
    random.seed(args.seed)
    client = Client(args.url.rstrip("/"), args.token)
    bulk_client = Client(client.base, args.bulk_token or args.token)
    uploads: list[str] = []
    bulk_uploads: list[str] = []
    for clients in levels:
        results = run_mix(client, clients, args.seconds, faults, (bulk_client, args.bulk) if args.bulk else None)
        report(results, clients, args.seconds)
        if results.bulk:
            done = indexed_count(bulk_client, results.bulk)
            print(f"  bulk: {len(results.bulk)} accepted, {done} indexed by the end of the level")
        uploads += results.uploads
        bulk_uploads += results.bulk
    if args.contention:
        contention(client, min(args.contention, MAX_CLIENTS), args.searches, args.seconds)
    if args.settle:
        settled = settle(client, uploads, args.settle, "the clients'")
        if bulk_uploads:
            settled = settle(bulk_client, bulk_uploads, args.settle, "bulk") and settled
        if not settled:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

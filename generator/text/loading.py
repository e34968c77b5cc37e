"""Load a local Hugging Face BERT directory (weights, tokenizer) offline, with errors in words, not tracebacks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from transformers import AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase
from transformers.utils import logging as hf_logging

from generator.text.errors import TextError

WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)


def model_type(path: Path) -> str:
    """config.json's model_type, or a TextError saying why `path` is not a Hugging Face model folder."""
    config = path / "config.json"
    if not config.is_file():
        raise TextError(f"{path}: not a Hugging Face model folder (no config.json)")
    try:
        return str(json.loads(config.read_text(encoding="utf-8")).get("model_type"))
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as error:
        raise TextError(f"{config}: not a JSON object ({error})") from None


def weight_file(path: Path) -> Path:
    """The folder's weight file (or shard index), in Hugging Face's order of preference."""
    for name in WEIGHT_FILES:
        if (path / name).is_file():
            return path / name
    raise TextError(f"{path}: no weights (model.safetensors or pytorch_model.bin)")


def load_tokenizer(path: Path) -> PreTrainedTokenizerBase:
    """The folder's tokenizer (tokenizer.json or vocab.txt)."""
    try:
        with quiet_transformers():
            return AutoTokenizer.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError, TypeError) as error:
        raise TextError(f"{path}: no usable tokenizer (tokenizer.json or vocab.txt): {error}") from None


def load_weights(
    model_class: type[PreTrainedModel], path: Path, new_prefixes: tuple[str, ...] = ()
) -> tuple[PreTrainedModel, list[str]]:
    """`model_class` with the folder's weights, and the names of parameters that started random.

    Only parameters under `new_prefixes` (e.g. pre-training heads a plain BertModel lacks) may be absent;
    any other missing weight is a TextError, since that model would silently be partly random.
    Weights the class does not use (e.g. the heads when loading an encoder) are ignored.
    """
    weight_file(path)
    try:
        with quiet_transformers():
            model, info = model_class.from_pretrained(path, local_files_only=True, output_loading_info=True)
    except (OSError, ValueError, RuntimeError) as error:
        raise TextError(f"{path}: cannot be loaded as {model_class.__name__}: {error}") from None
    missing = sorted(info["missing_keys"])
    unexpected = [key for key in missing if not key.startswith(new_prefixes)]
    if unexpected:
        shown = ", ".join(unexpected[:5]) + (" ..." if len(unexpected) > 5 else "")
        raise TextError(f"{path}: {len(unexpected)} weights are missing ({shown}); is it a BERT checkpoint?")
    return model, missing


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' load report and progress bar (we check the load ourselves), then restore them."""
    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()

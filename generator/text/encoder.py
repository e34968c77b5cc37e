"""The frozen report encoder: token features and attention mask for the diffusion model's cross-attention."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModel, PreTrainedModel, PreTrainedTokenizerBase

from contracts.digests import file_sha256
from generator.text.errors import TextError
from generator.text.loading import load_tokenizer, load_weights, model_type, weight_file
from generator.text.sections import segments


class ReportEncoder:
    """A local Hugging Face BERT in eval mode with frozen weights; call it with reports to get (features, mask).

    Each report is read as [CLS] Findings [SEP] Impression [SEP] (the pre-training format), or [CLS] text [SEP]
    for a bare prompt; the empty string is the unconditional report ([CLS] [SEP]).
    """

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        max_length: int,
        device: str | torch.device,
        digest: str,
    ):
        # float32 whatever the folder stores (the demo's shipped encoder is float16): features match the training's
        self.model = model.to(device, torch.float32).eval().requires_grad_(False)
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.device = torch.device(device)
        self.digest = digest  # sha256 of the weight file(s), recorded in meta.json of generated cases
        self.dim = int(model.config.hidden_size)

    @classmethod
    def load(cls, path: Path, max_length: int = 128, device: str | torch.device = "cpu") -> ReportEncoder:
        """Load a BERT directory (ours from pretrain-text, MiniLM, a downloaded CXR-BERT ...), offline only."""
        path = Path(path)
        model_type(path)
        tokenizer = load_tokenizer(path)
        model, _ = load_weights(AutoModel, path, new_prefixes=("pooler.",))  # the pooler is unused
        positions = getattr(model.config, "max_position_embeddings", max_length)
        if not 2 <= max_length <= positions:
            raise TextError(f"max_length {max_length} must be between 2 and the model's {positions} positions")
        # the digest of the weight file (for sharded weights, of the index that names the shards)
        return cls(model, tokenizer, max_length, device, file_sha256(weight_file(path)))

    @torch.no_grad()
    def __call__(self, reports: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Features (B, L, D) float32, zero at padding, and mask (B, L) bool; L = max_length, longest-first cut."""
        if isinstance(reports, str):
            raise TextError("ReportEncoder takes a list of reports, not one string")
        firsts, seconds = zip(*[(s[0], s[1] if len(s) == 2 else None) for s in map(segments, reports)])
        batch = [self._tokenize(first, second) for first, second in zip(firsts, seconds)]
        inputs = self.tokenizer.pad(batch, padding="max_length", max_length=self.max_length, return_tensors="pt")
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        features = self.model(**inputs).last_hidden_state.float()
        mask = inputs["attention_mask"].bool()
        return features * mask.unsqueeze(-1), mask

    def _tokenize(self, first: str, second: str | None) -> dict:
        """One report's token ids (and segment ids), cut to max_length keeping [CLS] and the final [SEP]."""
        return self.tokenizer(first, second, truncation="longest_first" if second else True, max_length=self.max_length)

"""Pre-training examples (paper, IV-A): Impressions swapped between reports, and 15 % of tokens masked."""

from __future__ import annotations

import numpy as np
import torch

from generator.text.errors import TextError
from generator.text.sections import Sections

PAIRED, SWAPPED = 0, 1  # BertForPreTraining's next-sentence labels: 0 = B belongs to A, 1 = B is from elsewhere
MASK_FRACTION = 0.15


def pair_sections(
    sections: list[Sections], impressions: list[str], rng: np.random.Generator
) -> tuple[list[tuple[str, str]], list[int]]:
    """(Findings, Impression) pairs with the Impression of a random half swapped for one from `impressions`.

    Exactly ⌊n/2⌋ examples are swapped, each for an Impression whose text differs from its own, so a label
    never lies about the content (phantom reports often share a wording such as "No acute abnormality.").
    Returns the pairs and their labels (PAIRED or SWAPPED).
    """
    if len(set(impressions)) < 2:
        raise TextError("every report has the same Impression, so swapped and paired examples cannot differ")
    labels = np.full(len(sections), PAIRED)
    labels[rng.permutation(len(sections))[: len(sections) // 2]] = SWAPPED
    pairs = []
    for section, label in zip(sections, labels):
        impression = section.impression
        while label == SWAPPED and impression == section.impression:
            impression = impressions[rng.integers(len(impressions))]
        pairs.append((section.findings, impression))
    return pairs, labels.tolist()


def mask_tokens(
    input_ids: torch.Tensor, special: torch.Tensor, mask_id: int, vocab_size: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking: pick 15 % of the non-special tokens; of those 80 % become [MASK], 10 % a random token.

    input_ids, special: (B, L), `special` True at [CLS], [SEP] and padding. Returns (masked ids, labels) with
    labels -100 wherever nothing is predicted. The paper says "replace 15 % with [MASK]"; the 80/10/10 split
    is BERT's own recipe (Devlin et al. 2019, section 3.1), which its fine-tuning inherits.
    """
    chosen = (torch.rand(input_ids.shape, generator=generator) < MASK_FRACTION) & ~special
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, -100))
    draw = torch.rand(input_ids.shape, generator=generator)
    masked = torch.where(chosen & (draw < 0.8), torch.full_like(input_ids, mask_id), input_ids)
    random_ids = torch.randint(vocab_size, input_ids.shape, generator=generator)
    masked = torch.where(chosen & (draw >= 0.8) & (draw < 0.9), random_ids, masked)
    return masked, labels

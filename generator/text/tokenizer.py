"""Train a BERT WordPiece tokenizer on radiology reports (lower-cased, BERT's punctuation splitting).

The vocabulary is learnt here rather than by `tokenizers.trainers.WordPieceTrainer`: that trainer breaks ties
between equally frequent pairs in hash order, so two trainings on the same reports gave different vocabularies
(and a pre-training whose held-out pairing accuracy ranged over 0.53–0.81 from one run to the next). Here the
merges are the same greedy pair merges (with BERT's "##" continuation prefix), ties broken by the pair's text.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import BertTokenizerFast

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
PREFIX = "##"


def train_tokenizer(texts: Iterable[str], vocab_size: int) -> BertTokenizerFast:
    """Learn a WordPiece vocabulary of at most `vocab_size` entries; the result saves as a standard HF tokenizer.

    The same texts give the same vocabulary with the same ids, in every process.
    """
    normalizer = normalizers.BertNormalizer(lowercase=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    words: Counter[str] = Counter()
    for text in texts:
        words.update(word for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text)))
    tokenizer = Tokenizer(
        models.WordPiece(vocab=learn_vocabulary(words, vocab_size), unk_token="[UNK]", continuing_subword_prefix=PREFIX)
    )
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = pre_tokenizer
    tokenizer.decoder = decoders.WordPiece(prefix=PREFIX)
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    return BertTokenizerFast(
        tokenizer_object=tokenizer,
        do_lower_case=True,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )


def learn_vocabulary(words: Counter[str], vocab_size: int) -> dict[str, int]:
    """Token → id: the special tokens, every character (initial and "##" continued) in sorted order, then the most
    frequent adjacent pair of pieces merged, again and again, until `vocab_size` (ties: the smaller pair's text)."""
    pieces = [[w[0], *(PREFIX + c for c in w[1:])] for w in words]
    counts = list(words.values())
    alphabet = sorted({p for word in pieces for p in word})
    vocab = {token: i for i, token in enumerate(SPECIAL_TOKENS + alphabet[: max(vocab_size - len(SPECIAL_TOKENS), 0)])}
    pairs: Counter[tuple[str, str]] = Counter()
    where: defaultdict[tuple[str, str], set[int]] = defaultdict(set)
    for i, word in enumerate(pieces):
        for pair in zip(word, word[1:]):
            pairs[pair] += counts[i]
            where[pair].add(i)
    heap = [(-n, pair) for pair, n in pairs.items()]
    heapq.heapify(heap)
    while len(vocab) < vocab_size and heap:
        n, pair = heapq.heappop(heap)
        if pairs.get(pair, 0) != -n or n == 0:
            continue
        merged = pair[0] + pair[1].removeprefix(PREFIX)
        vocab.setdefault(merged, len(vocab))
        changed: set[tuple[str, str]] = set()
        for i in sorted(where.pop(pair)):
            word = pieces[i]
            for old in zip(word, word[1:]):
                pairs[old] -= counts[i]
                changed.add(old)
            pieces[i] = word = _merge(word, pair, merged)
            for new in zip(word, word[1:]):
                pairs[new] += counts[i]
                where[new].add(i)
                changed.add(new)
        del pairs[pair]
        for other in changed - {pair}:
            if pairs[other] > 0:
                heapq.heappush(heap, (-pairs[other], other))
    return vocab


def _merge(word: list[str], pair: tuple[str, str], merged: str) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(word):
        if i + 1 < len(word) and (word[i], word[i + 1]) == pair:
            out.append(merged)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return out

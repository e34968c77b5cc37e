"""train_tokenizer: a WordPiece vocabulary learnt from reports, saved as a standard Hugging Face tokenizer."""

from collections import Counter

from transformers import AutoTokenizer

from generator.text.tokenizer import SPECIAL_TOKENS, learn_vocabulary, train_tokenizer

TEXTS = ["There is a large right pleural effusion.", "No pleural effusion.", "The heart is enlarged."] * 20


def test_it_learns_whole_words_that_recur_in_the_reports():
    tokenizer = train_tokenizer(TEXTS, vocab_size=300)
    assert tokenizer.tokenize("Pleural effusion") == ["pleural", "effusion"]


def test_it_reserves_berts_special_tokens_first():
    tokenizer = train_tokenizer(TEXTS, vocab_size=300)
    assert tokenizer.convert_tokens_to_ids(SPECIAL_TOKENS) == [0, 1, 2, 3, 4]
    assert tokenizer.pad_token_id == 0


def test_it_keeps_the_vocabulary_within_the_requested_size():
    assert len(train_tokenizer(TEXTS, vocab_size=40)) <= 40


def test_it_splits_an_unseen_word_into_pieces_rather_than_unknown():
    tokenizer = train_tokenizer(TEXTS, vocab_size=300)
    pieces = tokenizer.tokenize("effusions")
    assert pieces[0] == "effusion" and pieces[1:] and all(p.startswith("##") for p in pieces[1:])


def test_it_frames_a_pair_as_cls_findings_sep_impression_sep_with_segment_ids():
    tokenizer = train_tokenizer(TEXTS, vocab_size=300)
    encoded = tokenizer("No pleural effusion.", "The heart is enlarged.")
    tokens = tokenizer.convert_ids_to_tokens(encoded["input_ids"])
    assert tokens == [
        "[CLS]",
        "no",
        "pleural",
        "effusion",
        ".",
        "[SEP]",
        "the",
        "heart",
        "is",
        "enlarged",
        ".",
        "[SEP]",
    ]
    assert encoded["token_type_ids"] == [0] * 6 + [1] * 6


def test_it_saves_a_folder_that_autotokenizer_loads_to_the_same_ids(tmp_path):
    tokenizer = train_tokenizer(TEXTS, vocab_size=300)
    tokenizer.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path, local_files_only=True)
    text = ("Large right pleural effusion.", "Heart enlarged.")
    assert loaded(*text)["input_ids"] == tokenizer(*text)["input_ids"]


def test_the_same_reports_give_the_same_vocabulary_and_ids_every_time():
    """Ties between equally frequent pairs (here "ca"+"##r" and "##r"+"##d" ...) are broken by text, not hash order."""
    texts = ["cardiomegaly carcinoma cardiac", "cardiomegaly, mild.", "No cardiomegaly."] * 5
    first = train_tokenizer(texts, vocab_size=120).get_vocab()
    assert all(train_tokenizer(texts, vocab_size=120).get_vocab() == first for _ in range(5))


def test_it_merges_the_most_frequent_pair_first_and_breaks_ties_by_text():
    vocab = learn_vocabulary(Counter({"ab": 3, "cd": 3, "ef": 1}), vocab_size=len(SPECIAL_TOKENS) + 6 + 2)
    assert list(vocab)[-2:] == ["ab", "cd"]

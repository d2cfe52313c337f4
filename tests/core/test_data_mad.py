"""Tests of hope_lite.data.mad: the six MAD synthetic tasks and their dispatcher.

Each task's targets are recomputed from its tokens alone, by the definition in its docstring.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from hope_lite.data.mad import (MAD_TASKS, compression, fuzzy_recall, in_context_recall, mad_task, memorization,
                                noisy_recall, selective_copying)
from hope_lite.data.tasks import IGNORE_INDEX

pytestmark = pytest.mark.usefixtures("one_thread")


def rows(batch):
    """(tokens, targets) of each sequence, as lists."""
    return list(zip(batch["tokens"].tolist(), batch["targets"].tolist()))


# ---- every task ----

@pytest.mark.parametrize("name", MAD_TASKS)
def test_defaults_fit_a_byte_model(name):
    batch = mad_task(name, 6)
    tokens, targets = batch["tokens"], batch["targets"]
    assert tokens.dim() == 2 and tokens.shape == targets.shape and tokens.shape[0] == 6
    assert tokens.shape[1] <= 128                                             # short sequences by default
    assert tokens.dtype == targets.dtype == torch.int64
    assert tokens.min() >= 0 and tokens.max() < 256                           # byte ids
    scored = targets != IGNORE_INDEX
    assert scored.any(dim=1).all()                                            # every sequence asks something
    assert targets[scored].min() >= 0 and targets[scored].max() < 256


@pytest.mark.parametrize("name", MAD_TASKS)
def test_seeded_and_the_global_rng_untouched(name):
    state = torch.get_rng_state()
    a, b = mad_task(name, 4, seed=3), mad_task(name, 4, seed=3)
    c = mad_task(name, 4, seed=4)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(a["tokens"], b["tokens"]) and torch.equal(a["targets"], b["targets"])
    assert not torch.equal(a["tokens"], c["tokens"])


@pytest.mark.parametrize("name", MAD_TASKS)
def test_targets_work_with_cross_entropy(name):
    batch = mad_task(name, 3)
    logits = torch.zeros(*batch["tokens"].shape, 256)
    logits.scatter_(2, batch["targets"].clamp(min=0).unsqueeze(-1), 50.0)     # a perfect "model"
    loss = F.cross_entropy(logits.flatten(0, 1), batch["targets"].flatten())
    assert loss.item() < 1e-6                                                 # -100 positions are ignored


def test_dispatcher_calls_the_generator_by_name():
    direct = fuzzy_recall(3, n_keys=4, length=50, vocab_size=20, seed=2)
    by_name = mad_task("fuzzy_recall", 3, n_keys=4, length=50, vocab_size=20, seed=2)
    assert torch.equal(direct["tokens"], by_name["tokens"]) and torch.equal(direct["targets"], by_name["targets"])
    assert set(MAD_TASKS) == {"in_context_recall", "fuzzy_recall", "noisy_recall", "selective_copying",
                              "compression", "memorization"}


@pytest.mark.parametrize("name, sizes, match", [
    ("recall", {}, r"name must be one of \('in_context_recall'"),
    ("", {}, "name must be one of"),
    ("compression", dict(n_keys=3), "compression takes no argument 'n_keys'; its arguments are length, "
                                    "vocab_size, seed"),
    ("memorization", dict(map_seeds=1, n_key=2), "memorization takes no argument 'map_seeds', 'n_key'"),
])
def test_dispatcher_rejects_unknown_names(name, sizes, match):
    with pytest.raises(ValueError, match=match):
        mad_task(name, 2, **sizes)


# ---- in-context recall and noisy recall ----

def check_recall(tokens, targets, key_range, value_range, noise_range):
    """The pairs (key then value) of one sequence, noise aside; targets recomputed from the tokens."""
    pairs, seen, position = {}, set(), 0
    while position < len(tokens):
        token = tokens[position]
        if noise_range[0] <= token < noise_range[1]:
            assert targets[position] == IGNORE_INDEX                          # noise is never scored
            position += 1
            continue
        assert key_range[0] <= token < key_range[1]                           # a pair starts with a key
        value = tokens[position + 1]
        assert value_range[0] <= value < value_range[1]                       # and its value follows at once
        assert pairs.setdefault(token, value) == value                        # one value per key
        expected = value if token in seen else IGNORE_INDEX                   # scored iff seen before
        assert targets[position] == expected and targets[position + 1] == IGNORE_INDEX
        seen.add(token)
        position += 2
    return pairs


def test_in_context_recall_scores_the_value_of_every_repeated_key():
    batch = in_context_recall(30, n_keys=5, n_pairs=20, vocab_size=64, seed=1)
    assert batch["tokens"].shape == (30, 40)
    n_scored = 0
    for tokens, targets in rows(batch):
        pairs = check_recall(tokens, targets, (0, 32), (32, 64), (0, 0))
        assert 1 <= len(pairs) <= 5
        n_scored += sum(t != IGNORE_INDEX for t in targets)
    assert n_scored == 30 * 20 - sum(len(set(row[0::2])) for row in batch["tokens"].tolist())


def test_in_context_recall_maps_change_between_sequences():
    batch = in_context_recall(50, n_keys=4, n_pairs=16, vocab_size=16, seed=0)
    maps = {tuple(sorted(check_recall(t, g, (0, 8), (8, 16), (0, 0)).items())) for t, g in rows(batch)}
    assert len(maps) > 40                                                     # not one map learned in the weights


def test_in_context_recall_edge_sizes():
    batch = in_context_recall(1, n_keys=1, n_pairs=3, vocab_size=2)          # one key, one value: 0 1 0 1 0 1
    assert batch["tokens"].tolist() == [[0, 1, 0, 1, 0, 1]]
    assert batch["targets"].tolist() == [[IGNORE_INDEX, IGNORE_INDEX, 1, IGNORE_INDEX, 1, IGNORE_INDEX]]
    batch = in_context_recall(2, n_keys=8, n_pairs=200, vocab_size=16)        # every key of the range in use
    assert sorted(set(batch["tokens"][0, 0::2].tolist())) == list(range(8))


def test_noisy_recall_puts_noise_between_pairs_and_never_scores_it():
    n_pairs, n_noise, vocab = 6, 9, 30
    batch = noisy_recall(200, n_keys=3, n_pairs=n_pairs, n_noise=n_noise, vocab_size=vocab, seed=2)
    tokens = batch["tokens"]
    assert tokens.shape == (200, 2 * n_pairs + n_noise)
    assert ((tokens >= 20).sum(dim=1) == n_noise).all()                       # noise from the top third
    for row_tokens, row_targets in rows(batch):
        check_recall(row_tokens, row_targets, (0, 10), (10, 20), (20, 30))
    assert (tokens[:, 0] >= 20).any() and (tokens[:, 0] < 10).any()           # noise before the first pair, or not
    assert (tokens[:, -1] >= 20).any() and (tokens[:, -1] < 20).any()         # noise after the last pair, or not
    assert (batch["targets"] != IGNORE_INDEX).any()


# ---- fuzzy recall ----

def spans(tokens, h, pad):
    """A fuzzy-recall sequence cut into (start, key span, value span) triples by the token ranges."""
    out, position, end = [], 0, len(tokens)
    while position < end and tokens[position] != pad:
        start = position
        while tokens[position] < h:
            position += 1
        key_end = position
        while position < end and h <= tokens[position] < pad:
            position += 1
        out.append((start, tuple(tokens[start:key_end]), tuple(tokens[key_end:position])))
    return out, position


@pytest.mark.parametrize("sizes", [
    dict(n_keys=6, length=100, max_key_len=3, max_value_len=3, vocab_size=41),
    dict(n_keys=4, length=30, max_key_len=2, max_value_len=4, vocab_size=9),      # tiny key range: h = 4
    dict(n_keys=3, length=20, max_key_len=1, max_value_len=1, vocab_size=7),      # plain recall, padded
])
def test_fuzzy_recall_scores_the_value_spans_of_repeated_key_spans(sizes):
    vocab, length = sizes["vocab_size"], sizes["length"]
    pad, h = vocab - 1, (vocab - 1) // 2
    batch = fuzzy_recall(60, seed=5, **sizes)
    assert batch["tokens"].shape == (60, length)
    n_scored = 0
    for tokens, targets in rows(batch):
        pairs, pad_from = spans(tokens, h, pad)
        assert all(t == pad for t in tokens[pad_from:])                       # padding only at the end
        assert length - pad_from < sizes["max_key_len"] + sizes["max_value_len"]  # the next pair did not fit
        expected, value_of = [IGNORE_INDEX] * length, {}
        for start, key, value in pairs:
            assert 1 <= len(key) <= sizes["max_key_len"] and 1 <= len(value) <= sizes["max_value_len"]
            if key in value_of:
                assert value_of[key] == value                                 # one value span per key span
                value_start = start + len(key)
                expected[value_start - 1:value_start - 1 + len(value)] = value
            value_of[key] = value
        assert targets == expected                                            # scored exactly there
        n_scored += sum(t != IGNORE_INDEX for t in targets)
        keys = list(value_of)
        assert len(keys) <= sizes["n_keys"]
        for a in keys:                                                        # prefix-free key spans
            assert not any(b != a and b[:len(a)] == a for b in keys)
    assert n_scored > 0


def test_fuzzy_recall_spans_vary_in_length():
    batch = fuzzy_recall(20, seed=0)
    lengths = {(len(k), len(v)) for tokens in batch["tokens"].tolist() for _, k, v in spans(tokens, 127, 255)[0]}
    assert {len_k for len_k, _ in lengths} == {1, 2, 3} and {len_v for _, len_v in lengths} == {1, 2, 3}


def test_fuzzy_recall_with_every_key_token_in_use_terminates():
    # n_keys equals the key range: one-token keys must use every key id
    batch = fuzzy_recall(10, n_keys=5, length=40, max_key_len=1, max_value_len=2, vocab_size=11, seed=1)
    for tokens in batch["tokens"].tolist():
        assert all(len(key) == 1 for _, key, _ in spans(tokens, 5, 10)[0])


# ---- selective copying ----

def test_selective_copying_scores_the_content_in_order_on_the_copy_tokens():
    n_content, n_blanks, vocab = 5, 11, 20
    blank, copy = vocab - 2, vocab - 1
    batch = selective_copying(40, n_content=n_content, n_blanks=n_blanks, vocab_size=vocab, seed=3)
    region = n_content + n_blanks
    assert batch["tokens"].shape == (40, region + n_content)
    for tokens, targets in rows(batch):
        content = [t for t in tokens[:region] if t != blank]
        assert len(content) == n_content and all(0 <= t < blank for t in content)
        assert tokens[:region].count(blank) == n_blanks and copy not in tokens[:region]
        assert tokens[region:] == [copy] * n_content
        assert targets == [IGNORE_INDEX] * region + content                  # in order, on the copy tokens only
    places = (batch["tokens"][:, :region] != blank).float().mean(dim=0)
    assert (places > 0).all()                                                 # content can sit anywhere


# ---- compression ----

@pytest.mark.parametrize("length", [1, 2, 17])
def test_compression_reproduces_the_sequence_after_the_marker(length):
    vocab = 12
    batch = compression(25, length=length, vocab_size=vocab, seed=4)
    tokens, targets = batch["tokens"], batch["targets"]
    assert tokens.shape == (25, 2 * length)
    assert (tokens == vocab - 1).sum(dim=1).tolist() == [1] * 25 and (tokens[:, length] == vocab - 1).all()
    assert torch.equal(targets[:, length:], tokens[:, :length])               # the sequence, token by token
    assert torch.equal(tokens[:, length + 1:], tokens[:, :length - 1])        # teacher forcing
    assert (targets[:, :length] == IGNORE_INDEX).all()


# ---- memorization ----

def test_memorization_keeps_one_map_across_seeds():
    a = memorization(20, n_keys=10, n_pairs=15, vocab_size=64, seed=0)
    b = memorization(20, n_keys=10, n_pairs=15, vocab_size=64, seed=1)
    c = memorization(20, n_keys=10, n_pairs=15, vocab_size=64, seed=0, map_seed=1)
    assert torch.equal(a["map"], b["map"]) and not torch.equal(a["map"], c["map"])
    assert not torch.equal(a["tokens"], b["tokens"])                          # other sequences, same facts
    facts = dict(a["map"].tolist())
    assert len(facts) == 10 and all(k < 32 <= v < 64 for k, v in facts.items())
    for batch in (a, b):
        assert batch["tokens"].shape == (20, 30)
        for tokens, targets in rows(batch):
            for position in range(0, 30, 2):
                key, value = tokens[position], tokens[position + 1]
                assert facts[key] == value == targets[position]               # every value scored, first one too
                assert targets[position + 1] == IGNORE_INDEX
    assert torch.equal(memorization(3, n_keys=10, n_pairs=1, vocab_size=64)["map"], a["map"])  # sizes aside


# ---- bad arguments ----

@pytest.mark.parametrize("name, sizes, match", [
    ("in_context_recall", dict(n_keys=0), "n_keys must be a positive int"),
    ("in_context_recall", dict(n_pairs=0), "n_pairs must be a positive int"),
    ("in_context_recall", dict(n_keys=9, vocab_size=16), "n_keys must be <= vocab_size // 2 = 8.*raise vocab_size"),
    ("in_context_recall", dict(vocab_size=1), "vocab_size must be >= 2"),
    ("in_context_recall", dict(seed=1.5), "seed"),
    ("noisy_recall", dict(n_noise=0), "n_noise must be a positive int"),
    ("noisy_recall", dict(n_keys=6, vocab_size=16), "n_keys must be <= vocab_size // 3 = 5"),
    ("noisy_recall", dict(vocab_size=2, n_keys=1), "vocab_size must be >= 3"),
    ("fuzzy_recall", dict(max_key_len=0), "max_key_len must be a positive int"),
    ("fuzzy_recall", dict(max_value_len=2.0), "max_value_len"),
    ("fuzzy_recall", dict(length=5, max_key_len=3, max_value_len=3), "length must be >= max_key_len \\+ "
                                                                      "max_value_len = 6.*raise length"),
    ("fuzzy_recall", dict(n_keys=8, vocab_size=16), r"n_keys must be <= \(vocab_size - 1\) // 2 = 7"),
    ("fuzzy_recall", dict(vocab_size=2, n_keys=1), "vocab_size must be >= 3"),
    ("selective_copying", dict(n_content=0), "n_content must be a positive int"),
    ("selective_copying", dict(n_blanks=0), "n_blanks must be a positive int"),
    ("selective_copying", dict(vocab_size=2), "vocab_size must be >= 3"),
    ("compression", dict(length=0), "length must be a positive int"),
    ("compression", dict(vocab_size=1), "vocab_size must be >= 2"),
    ("compression", dict(seed=2**64), r"seed must be an int in \[-2\*\*63, 2\*\*64\)"),
    ("memorization", dict(n_keys=65, vocab_size=128), "n_keys must be <= vocab_size // 2 = 64"),
    ("memorization", dict(n_keys=64, vocab_size=64), "lower n_keys or raise vocab_size"),
    ("memorization", dict(map_seed="0"), "map_seed must be an int"),
    ("memorization", dict(map_seed=-2**63 - 1), r"map_seed must be an int in \[-2\*\*63, 2\*\*64\)"),
    ("memorization", dict(n_pairs=True), "n_pairs"),
])
def test_bad_sizes_say_what_to_change(name, sizes, match):
    with pytest.raises(ValueError, match=match):
        mad_task(name, 2, **sizes)


@pytest.mark.parametrize("name", MAD_TASKS)
def test_zero_sequences_are_refused(name):
    with pytest.raises(ValueError, match="n_sequences must be a positive int"):
        mad_task(name, 0)

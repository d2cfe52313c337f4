"""Tests of hope_lite.data.formal: the formal-language recognition tasks (parity ... shuffle-2)."""

from __future__ import annotations

from collections import Counter

import pytest
import torch
import torch.nn.functional as F

from hope_lite.data.formal import (ACCEPT, LANGUAGES, PAD, QUERY, REJECT, VOCAB_SIZE, formal_language,
                                   is_member)
from hope_lite.data.tasks import IGNORE_INDEX

pytestmark = pytest.mark.usefixtures("one_thread")

SYMBOLS = {"a": 0, "b": 1, "c": 2, "(": 3, ")": 4, "[": 5, "]": 6}
ALPHABETS = {"parity": "ab", "aa": "a", "abab": "ab", "anbn": "ab", "anbncn": "abc", "shuffle2": "()[]"}
PERIODS = {"parity": 1, "aa": 2, "abab": 4, "anbn": 2, "anbncn": 3, "shuffle2": 2}


def ids(text: str) -> list[int]:
    """A string written with the letters and brackets, as symbol ids."""
    return [SYMBOLS[ch] for ch in text]


def strings(batch: dict) -> list[list[int]]:
    """Each row's string: the tokens between the padding and the QUERY."""
    return [row[len(row) - 1 - length:-1] for row, length in zip(batch["tokens"].tolist(), batch["lengths"].tolist())]


# ---- the generated data ----

@pytest.mark.parametrize("name", LANGUAGES)
@pytest.mark.parametrize("n_sequences", [1, 2, 7, 40])
def test_layout_labels_and_balance(name, n_sequences):
    min_length, max_length = 1, 14
    batch = formal_language(name, n_sequences, min_length, max_length, seed=3)
    tokens, targets, labels, lengths = batch["tokens"], batch["targets"], batch["labels"], batch["lengths"]
    assert set(batch) == {"tokens", "targets", "labels", "lengths"}
    assert tokens.shape == targets.shape == (n_sequences, max_length + 1)
    assert labels.shape == lengths.shape == (n_sequences,)
    assert all(t.dtype == torch.int64 for t in (tokens, targets, labels, lengths))
    assert tokens.min() >= 0 and tokens.max() < VOCAB_SIZE

    assert (tokens[:, -1] == QUERY).all() and (tokens[:, :-1] != QUERY).all()      # QUERY last, and only there
    assert ((lengths >= min_length) & (lengths <= max_length)).all()
    for row, length in zip(tokens.tolist(), lengths.tolist()):
        padding = max_length - length
        assert row[:padding] == [PAD] * padding                                     # left padding
        assert PAD not in row[padding:]
    scored = targets != IGNORE_INDEX
    assert scored.sum(dim=1).tolist() == [1] * n_sequences and scored[:, -1].all()  # one answer, at the QUERY
    assert torch.equal(targets[:, -1], torch.where(labels == 1, ACCEPT, REJECT))

    assert labels.sum().item() == n_sequences // 2                                  # the extra one is a negative
    alphabet = set(ids(ALPHABETS[name]))
    for string, label in zip(strings(batch), labels.tolist()):
        assert set(string) <= alphabet
        assert is_member(name, string) == bool(label), (name, string, label)


@pytest.mark.parametrize("name", LANGUAGES)
def test_lengths_where_the_language_has_strings(name):
    batch = formal_language(name, 200, 2, 25, seed=0)
    labels, lengths = batch["labels"], batch["lengths"]
    positive, negative = set(lengths[labels == 1].tolist()), set(lengths[labels == 0].tolist())
    assert all(n % PERIODS[name] == 0 for n in positive)
    assert len(positive) > 1                                                        # drawn, not one fixed length
    if name == "aa":
        assert all(n % 2 == 1 for n in negative)                                    # a^k, k odd
    else:
        assert all(n % PERIODS[name] == 0 for n in negative)                        # the length gives nothing away


def test_negatives_are_near_misses_of_every_kind():
    def negatives(name: str) -> list[str]:
        batch = formal_language(name, 120, 4, 24, seed=1)
        letters = {v: k for k, v in SYMBOLS.items()}
        return ["".join(letters[x] for x in s) for s, label in zip(strings(batch), batch["labels"].tolist())
                if not label]

    abab = negatives("abab")
    rotations = [s for s in abab if s == "ba" * (len(s) // 2)]
    flips = [s for s in abab if sum(x != y for x, y in zip(s, "ab" * len(s))) == 1]
    assert len(abab) == 60 and len(rotations) >= 15 and len(flips) >= 15

    anbn = negatives("anbn")
    unequal = [s for s in anbn if s == "".join(sorted(s)) and s.count("a") != s.count("b")]
    unsorted = [s for s in anbn if s.count("a") == s.count("b") and s != "".join(sorted(s))]
    assert len(unequal) == len(unsorted) == 30

    anbncn = negatives("anbncn")
    counts_off = [s for s in anbncn if s == "".join(sorted(s))]
    reordered = [s for s in anbncn if s != "".join(sorted(s))]
    assert len(counts_off) == len(reordered) == 30
    for s in counts_off:                                                            # one block +1, another -1
        assert sorted(abs(s.count(ch) - len(s) // 3) for ch in "abc") == [0, 1, 1]
    for s in reordered:                                                             # equal blocks, another order
        n = len(s) // 3
        assert s.count("a") == s.count("b") == s.count("c") == n
        assert len({s[i * n:(i + 1) * n] for i in range(3)}) == 3

    shuffled = negatives("shuffle2")
    ways = Counter()
    for s in shuffled:
        broken = []
        for opener, closer in ("()", "[]"):
            alone = [x for x in s if x in opener + closer]
            if not is_member("shuffle2", ids("".join(alone))):
                broken.append((alone.count(opener) - alone.count(closer)))
        assert len(broken) == 1                                                     # exactly one type breaks
        ways[{-2: "extra closer", 2: "missing closer", 0: "closer too early"}[broken[0]]] += 1
    assert set(ways.values()) == {20}


def test_works_with_cross_entropy():
    batch = formal_language("anbncn", 6, 3, 12, seed=0)
    logits = torch.zeros(*batch["tokens"].shape, VOCAB_SIZE)
    logits.scatter_(2, batch["targets"].clamp(min=0).unsqueeze(-1), 50.0)           # a perfect "model"
    loss = F.cross_entropy(logits.flatten(0, 1), batch["targets"].flatten())
    assert loss.item() < 1e-6


@pytest.mark.parametrize("name", LANGUAGES)
def test_seeded_and_leaves_the_global_rng_alone(name):
    state = torch.get_rng_state()
    a, b = formal_language(name, 16, 1, 20, seed=7), formal_language(name, 16, 1, 20, seed=7)
    c = formal_language(name, 16, 1, 20, seed=8)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(a[key], b[key]) for key in a)
    assert not torch.equal(a["tokens"], c["tokens"])


def test_edge_lengths():
    one = formal_language("parity", 2, 1, 1)                                        # one bit: "0" and "1"
    assert sorted(s[0] for s in strings(one)) == [0, 1]
    abab = formal_language("abab", 2, 4, 4)                                         # one positive, one flip
    positive, negative = sorted(strings(abab), key=lambda s: is_member("abab", s), reverse=True)
    assert positive == ids("abab") and sum(x != y for x, y in zip(negative, positive)) == 1
    aa = formal_language("aa", 4, 2, 3)
    assert sorted(aa["lengths"].tolist()) == [2, 2, 3, 3]
    for seed in (-2**63, 2**64 - 1):
        assert formal_language("shuffle2", 2, 2, 2, seed=seed)["tokens"].shape == (2, 3)


# ---- membership by definition ----

@pytest.mark.parametrize("name, text, expected", [
    ("parity", "", True), ("parity", "abba", True), ("parity", "bab", True), ("parity", "b", False),
    ("parity", "abbb", False), ("parity", "ac", False),
    ("aa", "", True), ("aa", "aa", True), ("aa", "aaaa", True), ("aa", "aaa", False), ("aa", "ab", False),
    ("abab", "", True), ("abab", "abab", True), ("abab", "abababab", True), ("abab", "ab", False),
    ("abab", "baba", False), ("abab", "ababa", False), ("abab", "abba", False),
    ("anbn", "", True), ("anbn", "ab", True), ("anbn", "aabb", True), ("anbn", "abab", False),
    ("anbn", "aab", False), ("anbn", "ba", False), ("anbn", "aabbb", False), ("anbn", "aabc", False),
    ("anbncn", "", True), ("anbncn", "abc", True), ("anbncn", "aabbcc", True), ("anbncn", "aabbc", False),
    ("anbncn", "abcabc", False), ("anbncn", "aacbbc", False), ("anbncn", "bac", False),
    ("shuffle2", "", True), ("shuffle2", "()", True), ("shuffle2", "([)]", True), ("shuffle2", "[(])", True),
    ("shuffle2", "(()[])", True), ("shuffle2", ")(", False), ("shuffle2", "(]", False),
    ("shuffle2", "(()", False), ("shuffle2", "())(", False), ("shuffle2", "[]][", False), ("shuffle2", "ab", False),
])
def test_is_member_on_hand_written_strings(name, text, expected):
    assert is_member(name, ids(text)) is expected
    assert is_member(name, tuple(ids(text))) is expected
    assert is_member(name, torch.tensor(ids(text), dtype=torch.int64)) is expected


@pytest.mark.parametrize("symbols, match", [
    ([0, PAD], "strip the PAD=7 and QUERY=8"),
    ([QUERY], "strip"),
    ([-1], r"symbol ids in \[0, 7\)"),
    ([0, True], "symbol ids"),
    ([0.0], "symbol ids"),
    ("ab", "list of symbol ids"),
    (5, "list of symbol ids"),
    (torch.zeros(2, 2, dtype=torch.int64), "1-D integer tensor"),
    (torch.zeros(2), "1-D integer tensor"),
])
def test_is_member_rejects_bad_symbols(symbols, match):
    with pytest.raises(ValueError, match=match):
        is_member("anbn", symbols)


def test_is_member_rejects_an_unknown_language():
    with pytest.raises(ValueError, match="name must be one of"):
        is_member("dyck", [0])


# ---- bad arguments ----

@pytest.mark.parametrize("kwargs, match", [
    (dict(name="dyck"), "name must be one of"),
    (dict(name=None), "name must be one of"),
    (dict(n_sequences=0), "n_sequences must be a positive int"),
    (dict(n_sequences=True), "n_sequences"),
    (dict(n_sequences=4.0), "n_sequences"),
    (dict(min_length=0), "min_length must be a positive int"),
    (dict(min_length=True), "min_length"),
    (dict(max_length=False), "max_length"),
    (dict(max_length=2.5), "max_length"),
    (dict(min_length=9, max_length=8), "min_length must be <= max_length.*lower min_length or raise max_length"),
    (dict(seed=1.0), "seed"),
    (dict(seed=True), "seed"),
    (dict(seed=2**64), r"seed must be an int in \[-2\*\*63, 2\*\*64\)"),
    (dict(name="abab", min_length=5, max_length=7),
     r"\(abab\)\* has strings only at lengths that are multiples of 4.*\[5, 7\].*raise max_length to 8 "
     r"or lower min_length to 4"),
    (dict(name="abab", min_length=1, max_length=3), r"raise max_length to 4\.$"),
    (dict(name="anbn", min_length=3, max_length=3), "even lengths.*raise max_length to 4 or lower min_length to 2"),
    (dict(name="shuffle2", min_length=1, max_length=1), "shuffle-2 has strings only at even lengths"),
    (dict(name="anbncn", min_length=4, max_length=5), "multiples of 3.*raise max_length to 6 or lower min_length to 3"),
    (dict(name="aa", min_length=4, max_length=4), r"\(aa\)\* needs an odd length.*raise max_length to 5 or "
                                                  r"lower min_length to 3"),
    (dict(name="aa", min_length=3, max_length=3), r"\(aa\)\* has strings only at even lengths"),
])
def test_rejects_bad_arguments(kwargs, match):
    arguments = dict(name="anbn", n_sequences=4, min_length=2, max_length=8) | kwargs
    with pytest.raises(ValueError, match=match):
        formal_language(arguments.pop("name"), arguments.pop("n_sequences"), arguments.pop("min_length"),
                        arguments.pop("max_length"), **arguments)

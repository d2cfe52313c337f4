"""Tests of hope_lite.data.needles: single-needle retrieval in byte haystacks (pass key, number, word).

Every row is decoded back to text and checked against the definition in the module docstring."""

from __future__ import annotations

import re

import pytest
import torch

from hope_lite.data import needle_haystack
from hope_lite.data.needles import FILLER, NEEDLE_KINDS, WORDS, answer_length, needle_text
from hope_lite.data.tasks import IGNORE_INDEX

pytestmark = pytest.mark.usefixtures("one_thread")


def text_of(batch, i):
    return bytes(batch["tokens"][i].tolist()).decode("ascii")


@pytest.mark.parametrize("kind", NEEDLE_KINDS)
@pytest.mark.parametrize("length", [256, 1024])
def test_every_row_hides_one_needle_and_asks_for_it_at_the_end(kind, length):
    batch = needle_haystack(kind, 5, length, seed=3)
    tokens, targets = batch["tokens"], batch["targets"]
    assert tokens.shape == targets.shape == (5, length) and tokens.dtype == torch.int64
    width = answer_length(kind)
    for i in range(5):
        text, answer = text_of(batch, i), batch["answers"][i]
        needle = needle_text(kind, answer)
        assert text.count(needle) == 1 and text.index(needle) == int(batch["needle_at"][i])
        assert text.endswith(answer.ljust(width)) and "?" in text[-width - 60:]
        asked = targets[i] != IGNORE_INDEX
        assert int(asked.sum()) == width and asked[-width - 1:-1].all()        # the answer's bytes, nothing else
        assert bytes(targets[i][asked].tolist()).decode() == answer.ljust(width)
        # teacher forcing: each target is the next token
        assert torch.equal(targets[i][-width - 1:-1], tokens[i][-width:])
        haystack = text[:int(batch["needle_at"][i])] + text[int(batch["needle_at"][i]) + len(needle):]
        assert not re.search(r"\d", haystack.split("What is")[0])                # no digit outside the needle


def test_the_answers_are_what_each_kind_says():
    for kind, pattern in (("pass_key", r"[1-9]\d{4}"), ("number", r"[1-9]\d{6}")):
        assert all(re.fullmatch(pattern, a) for a in needle_haystack(kind, 20, 256, seed=0)["answers"])
    words = needle_haystack("word", 40, 256, seed=0)["answers"]
    assert set(words) <= set(WORDS) and len(set(words)) > 5
    assert not any(w in "".join(FILLER) for w in WORDS)                       # the filler never names a word
    assert answer_length("word") == max(map(len, WORDS)) and answer_length("number") == 7


def test_depth_puts_the_needle_first_or_last():
    first = needle_haystack("number", 3, 600, depth=0.0)
    assert first["needle_at"].tolist() == [0, 0, 0]
    last = needle_haystack("number", 3, 600, depth=1.0)
    for i in range(3):
        text = text_of(last, i)
        after = text[int(last["needle_at"][i]) + len(needle_text("number", last["answers"][i])):]
        assert after.startswith("What is the special number?")                # right before the question
    middle = needle_haystack("number", 50, 2000, seed=1)["needle_at"]
    assert middle.min() < 500 < 1500 < middle.max()                           # None: uniform per row


def test_seeded_and_the_global_rng_untouched():
    torch.manual_seed(0)
    state = torch.get_rng_state()
    a, b = needle_haystack("word", 4, 300, seed=5), needle_haystack("word", 4, 300, seed=5)
    assert torch.equal(a["tokens"], b["tokens"]) and a["answers"] == b["answers"]
    assert not torch.equal(a["tokens"], needle_haystack("word", 4, 300, seed=6)["tokens"])
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize("args, kwargs, message", [
    (("needle", 2, 256), {}, "kind must be one of"),
    (("pass_key", 2, 100), {}, r"length must be >= \d+ bytes for a 'pass_key' needle"),
    (("number", 0, 256), {}, "n_sequences must be"),
    (("word", 2, 256), {"depth": 1.5}, r"depth must be a number in \[0, 1\]"),
    (("word", 2, 256), {"depth": True}, r"depth must be a number in \[0, 1\]"),
    (("word", 2, 256), {"seed": 1.0}, "seed must be an int"),
])
def test_bad_input_says_what_to_change(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        needle_haystack(*args, **kwargs)

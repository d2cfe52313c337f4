"""Single-needle retrieval in byte haystacks: a pass key, a number or a word hidden in filler text, asked at the end.

The Titans paper's S-NIAH test (its Table 2) and the RULER NIAH tasks of the Nested Learning paper (Table 1,
docs/paper.md §7.5) hide one fact in a long, uninformative text and ask for it after the text: can the model
still read it back after thousands of tokens? Three needle kinds, as in Titans' Table 2:

- ``"pass_key"``: ``"The pass key is 48213. Remember it. 48213 is the pass key. "``: 5 digits, said twice;
- ``"number"``: ``"The special number is 7381942. "``: 7 digits, said once;
- ``"word"``: ``"The special word is lantern. "``: one of :data:`WORDS`, said once.

The haystack is filler made of a few plain sentences (:data:`FILLER`), repeated in a random order, so that
nothing in it helps to answer; it is cut to length at its start (an excerpt: the first sentence may be a
fragment) and ends with a whole sentence. The needle is put at the start of a sentence, at relative ``depth``
(0: first, 1: last, right before the question). The sequence ends with the question and, teacher-forced, the answer::

    tokens   ... filler ... The pass key is 48213. ... filler ... What is the pass key? The pass key is_ 4 8 2 1 3
    targets  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  4 8 2 1 3 .

(``_`` is the space before the answer: it predicts the first digit, each digit the next, and the last one is a
target only.)

Only the answer's bytes are asked (``IGNORE_INDEX``, -100, elsewhere): ``targets[:, t]`` is what the model
should predict after ``tokens[:, :t + 1]``, the conventions of :mod:`hope_lite.data.tasks`. Every sequence has
exactly ``length`` bytes (the filler is cut to fit), so the scored positions are the last ``len(answer)``
ones of every row, and a batch of one kind has one answer length (``answer_length``).

:func:`needle_haystack` draws from a private ``torch.Generator`` seeded with ``seed``: the same call returns the
same tensors, different seeds give different data, and the global RNG is untouched.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .. import checks
from .tasks import IGNORE_INDEX, _check_sizes, _generator

__all__ = ["NEEDLE_KINDS", "FILLER", "WORDS", "needle_haystack", "needle_text", "answer_length"]

NEEDLE_KINDS = ("pass_key", "number", "word")
"""The needle kinds :func:`needle_haystack` takes (Titans' Table 2: pass-key, number, word)."""

FILLER = ("The river runs down to the sea. ", "The hills are quiet in the evening. ", "A bird sings on the fence. ",
          "The road goes on and on. ", "Clouds pass over the valley. ", "The wind moves the tall grass. ")
"""The filler sentences (plain ASCII, no digits), repeated in a random order to make the haystack."""

WORDS = ("lantern", "harbor", "copper", "meadow", "violin", "glacier", "saddle", "pepper", "marble", "falcon",
         "canyon", "ribbon", "walnut", "beacon", "thimble", "orchid", "lagoon", "cobalt", "quiver", "tundra",
         "pebble", "sapphire", "mantle", "jigsaw", "kettle", "nectar", "oyster", "parcel", "quartz", "raven",
         "summit", "tangle")
"""The words a ``"word"`` needle hides (32 of them, none in the filler)."""

_DIGITS = {"pass_key": 5, "number": 7}
_QUESTIONS = {"pass_key": "What is the pass key? The pass key is ", "number": "What is the special number? The special number is ",
              "word": "What is the special word? The special word is "}


def needle_text(kind: str, answer: str) -> str:
    """The needle sentence of ``kind`` that hides ``answer``."""
    checks.choice("kind", kind, NEEDLE_KINDS)
    if kind == "pass_key":
        return f"The pass key is {answer}. Remember it. {answer} is the pass key. "
    return f"The special {'number' if kind == 'number' else 'word'} is {answer}. "


def answer_length(kind: str) -> int:
    """Bytes of the answer (the scored positions of a row): 5 for a pass key, 7 for a number, the longest word."""
    checks.choice("kind", kind, NEEDLE_KINDS)
    return _DIGITS.get(kind) or max(len(w) for w in WORDS)


def _answer(kind: str, gen: torch.Generator) -> str:
    if kind == "word":
        return WORDS[int(torch.randint(len(WORDS), (1,), generator=gen))]
    digits = torch.randint(10, (_DIGITS[kind],), generator=gen).tolist()
    digits[0] = 1 + digits[0] % 9                                     # no leading zero: a number as written
    return "".join(map(str, digits))


def needle_haystack(kind: str, n_sequences: int, length: int, *, depth: float | None = None,
                    seed: int = 0) -> dict[str, Tensor]:
    """``n_sequences`` byte sequences of exactly ``length`` bytes: filler, one needle of ``kind``, the question, and
    the teacher-forced answer; the answer's bytes are the only targets.

    A word answer is padded on the right with spaces to :func:`answer_length` (the spaces are targets too, so every
    row of a batch asks the same number of bytes).

    Args:
        kind: one of :data:`NEEDLE_KINDS`.
        n_sequences: number of sequences N, >= 1.
        length: bytes per sequence; long enough for the needle, the question and the answer with some filler
            (the error says how long).
        depth: where the needle sits in the filler, in [0, 1]; None draws it uniformly per row.
        seed: seed of the private generator.

    Returns:
        dict with ``tokens`` and ``targets`` (int64, ``(N, length)``), ``needle_at`` (int64, ``(N,)``: the index of
        the needle's first byte) and ``answers`` (a list of the N answer strings).

    >>> batch = needle_haystack("pass_key", 2, 256, depth=0.5)
    >>> tuple(batch["tokens"].shape), int((batch["targets"][0] != -100).sum())
    ((2, 256), 5)
    """
    checks.choice("kind", kind, NEEDLE_KINDS)
    _check_sizes(seed, n_sequences=n_sequences, length=length)
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, (int, float)) or
                              not math.isfinite(depth) or not 0.0 <= depth <= 1.0):
        raise ValueError(f"depth must be a number in [0, 1] (0: needle first, 1: needle last) or None (random per "
                         f"row), got {depth!r}.")
    width = answer_length(kind)
    longest = len(needle_text(kind, "9" * width if kind != "word" else "w" * width))
    shortest = longest + len(_QUESTIONS[kind]) + width + 2 * max(len(s) for s in FILLER)
    if length < shortest:
        raise ValueError(f"length must be >= {shortest} bytes for a {kind!r} needle (the needle, the question, the "
                         f"answer and two filler sentences), got {length}.")
    gen = _generator(seed)
    rows, at, answers = [], [], []
    for _ in range(n_sequences):
        answer = _answer(kind, gen)
        spoken = answer.ljust(width)                                      # a word padded to the batch's width
        needle = needle_text(kind, answer)
        tail = _QUESTIONS[kind] + spoken
        room = length - len(needle) - len(tail)                           # filler bytes around the needle
        order = torch.randint(len(FILLER), (room // min(map(len, FILLER)) + 2,), generator=gen).tolist()
        filler = "".join(FILLER[i] for i in order)[-room:]               # ends with a whole sentence
        sentences = [0] + [i + 1 for i, ch in enumerate(filler) if ch == " " and filler[i - 1] == "."]
        sentences = [s for s in sentences if s <= room]                   # needle positions: sentence starts
        where = float(torch.rand((), generator=gen)) if depth is None else float(depth)
        cut = sentences[min(len(sentences) - 1, round(where * (len(sentences) - 1)))]
        text = filler[:cut] + needle + filler[cut:] + tail
        rows.append(list(text.encode("ascii")))
        at.append(cut)
        answers.append(answer)
    tokens = torch.tensor(rows, dtype=torch.int64)                        # (N, length)
    targets = torch.full_like(tokens, IGNORE_INDEX)
    # teacher forcing: the byte before each answer byte predicts it; the last answer byte is a target only
    targets[:, -width - 1:-1] = tokens[:, -width:]
    return {"tokens": tokens, "targets": targets, "needle_at": torch.tensor(at, dtype=torch.int64),
            "answers": answers}

"""Formal-language recognition: is this string in the language? Six regular and non-regular languages.

The Nested Learning paper's Table 5 (docs/paper.md §7.6) scores sequence models on Irie et al.'s
formal-language tasks (2023, "Practical Computational Power of Linear Transformers and Their
Recurrent and Self-Referential Extensions"; the languages come from Bhattamishra et al., 2020).
Each task asks one yes/no question about a whole string, and each language needs a different kind
of state to answer it:

- ``"parity"``: bit strings with an even number of 1s (a one-bit state, flipped by every 1).
- ``"aa"``: ``(aa)*``, strings ``a^k`` with ``k`` even (a counter modulo 2).
- ``"abab"``: ``(abab)*``, the string ``abab`` repeated (a counter modulo 4 and the symbols).
- ``"anbn"``: ``a^n b^n`` (one unbounded counter: not regular).
- ``"anbncn"``: ``a^n b^n c^n`` (two counters: not even context-free).
- ``"shuffle2"``: shuffles of two Dyck-1 languages, brackets ``( )`` and ``[ ]``: each bracket
  type on its own is balanced (every prefix has at least as many openers as closers, the counts
  match at the end); the two types may cross, so ``([)]`` is in the language (two counters).

Token ids are small integers (:data:`VOCAB_SIZE` = 11; any id below 256 suits the byte-level
models): the symbols ``a`` = :data:`A` = 0, ``b`` = :data:`B` = 1, ``c`` = :data:`C` = 2 (parity
uses 0 and 1 as its bits), the brackets ``(`` ``)`` ``[`` ``]`` = 3, 4, 5, 6, then :data:`PAD` = 7,
:data:`QUERY` = 8 and the two answers :data:`REJECT` = 9 and :data:`ACCEPT` = 10. A sequence is
left-padded, then the string, then ``QUERY``; the only target is the answer, at the ``QUERY``
position (``targets`` hold :data:`IGNORE_INDEX`, -100, everywhere else), so a causal next-token
model answers after reading the whole string::

    tokens   PAD PAD  a   a   b   b  QUERY         (anbn, max_length=6, the string "aabb")
    targets   .   .   .   .   .   .  ACCEPT        (. = -100)

Half the strings are in the language and half are not, at the same lengths wherever the language
allows it (only ``(aa)*`` separates its classes by length, since its strings differ in nothing
else), and the negatives are *near misses*: one symbol flipped, counts off by one, two brackets
swapped. So neither the length nor a glance at the symbols gives the answer away.

:func:`formal_language` draws the data from a private ``torch.Generator`` seeded with ``seed``:
the same call returns the same tensors, different seeds give different data, and the global RNG is
untouched. :func:`is_member` decides membership directly from the definitions above.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import Tensor

from .. import checks
from .tasks import IGNORE_INDEX, _check_sizes, _generator

__all__ = ["LANGUAGES", "A", "B", "C", "OPEN_ROUND", "CLOSE_ROUND", "OPEN_SQUARE", "CLOSE_SQUARE", "PAD", "QUERY",
           "REJECT", "ACCEPT", "VOCAB_SIZE", "IGNORE_INDEX", "formal_language", "is_member"]

LANGUAGES = ("parity", "aa", "abab", "anbn", "anbncn", "shuffle2")
"""The language names :func:`formal_language` and :func:`is_member` take."""

A, B, C = 0, 1, 2
"""The symbols ``a``, ``b``, ``c`` (parity's bits are 0 and 1, i.e. ``A`` and ``B``)."""
OPEN_ROUND, CLOSE_ROUND, OPEN_SQUARE, CLOSE_SQUARE = 3, 4, 5, 6
"""shuffle-2's brackets ``(`` ``)`` ``[`` ``]``; a closer's id is its opener's plus one."""
PAD = 7
"""Left padding, before the string (never scored)."""
QUERY = 8
"""The last token of every sequence: "is the string so far in the language?"."""
REJECT, ACCEPT = 9, 10
"""The answers, the target at the ``QUERY`` position: not in the language, in the language."""
VOCAB_SIZE = 11
"""Token ids lie in ``[0, VOCAB_SIZE)``."""

_NAMES = {"parity": "parity", "aa": "(aa)*", "abab": "(abab)*", "anbn": "a^n b^n", "anbncn": "a^n b^n c^n",
          "shuffle2": "shuffle-2"}


# ---------------------------------------------------------------------------------------------
# Membership, straight from the definitions


def _in_parity(s: list[int]) -> bool:
    return all(x in (0, 1) for x in s) and s.count(1) % 2 == 0


def _in_aa(s: list[int]) -> bool:
    return all(x == A for x in s) and len(s) % 2 == 0


def _in_abab(s: list[int]) -> bool:
    return len(s) % 4 == 0 and all(x == (A, B)[i % 2] for i, x in enumerate(s))


def _in_anbn(s: list[int]) -> bool:
    n, rest = divmod(len(s), 2)
    return rest == 0 and s == [A] * n + [B] * n


def _in_anbncn(s: list[int]) -> bool:
    n, rest = divmod(len(s), 3)
    return rest == 0 and s == [A] * n + [B] * n + [C] * n


def _in_shuffle2(s: list[int]) -> bool:
    depth = {OPEN_ROUND: 0, OPEN_SQUARE: 0}                 # open brackets of each type, keyed by the opener
    for x in s:
        if x in depth:
            depth[x] += 1
        elif x - 1 in depth:                                # a closer: its opener's id is one less
            depth[x - 1] -= 1
            if depth[x - 1] < 0:                            # a closer with no opener of its type before it
                return False
        else:
            return False                                    # not a bracket
    return all(d == 0 for d in depth.values())


_MEMBERSHIP: dict[str, Callable[[list[int]], bool]] = {
    "parity": _in_parity, "aa": _in_aa, "abab": _in_abab, "anbn": _in_anbn, "anbncn": _in_anbncn,
    "shuffle2": _in_shuffle2}


def is_member(name: str, symbols: Sequence[int] | Tensor) -> bool:
    """Whether the string ``symbols`` belongs to the language ``name``, decided from its definition.

    Symbols outside the language's alphabet (a ``c`` in ``a^n b^n``, a bracket in parity) make the
    string a non-member. The empty string is a member of every language here (zero 1s, ``k = 0``,
    ``n = 0``, two empty Dyck words).

    Args:
        name: one of :data:`LANGUAGES`.
        symbols: the string, as symbol ids in ``[0, PAD)`` (a list, a tuple or a 1-D integer tensor),
            without the padding and the ``QUERY`` token.

    Returns:
        True when the string is in the language.

    >>> is_member("anbn", [A, A, B, B]), is_member("shuffle2", [OPEN_ROUND, OPEN_SQUARE, CLOSE_ROUND, CLOSE_SQUARE])
    (True, True)
    >>> is_member("shuffle2", [CLOSE_ROUND, OPEN_ROUND])
    False
    """
    checks.choice("name", name, LANGUAGES)
    if torch.is_tensor(symbols):
        if symbols.dim() != 1 or symbols.is_floating_point() or symbols.is_complex() or symbols.dtype == torch.bool:
            raise ValueError(f"symbols must be a 1-D integer tensor, got shape {tuple(symbols.shape)} and "
                             f"dtype {symbols.dtype}.")
        symbols = symbols.tolist()
    if isinstance(symbols, (str, bytes)) or not isinstance(symbols, Sequence):
        raise ValueError(f"symbols must be a list of symbol ids (ints), got {type(symbols).__name__}.")
    symbols = list(symbols)
    bad = [x for x in symbols if isinstance(x, bool) or not isinstance(x, int) or not 0 <= x < PAD]
    if bad:
        raise ValueError(f"symbols must be symbol ids in [0, {PAD}) (a=0, b=1, c=2, brackets 3-6); strip the "
                         f"PAD={PAD} and QUERY={QUERY} tokens first; got {bad[0]!r}.")
    return _MEMBERSHIP[name](symbols)


# ---------------------------------------------------------------------------------------------
# Lengths: where each language has members (positives) and non-members (negatives)

_POSITIVE_LENGTHS = {  # name: (period, in words): the lengths at which the language has strings
    "parity": (1, "any length"), "aa": (2, "even lengths"), "abab": (4, "lengths that are multiples of 4"),
    "anbn": (2, "even lengths"), "anbncn": (3, "lengths that are multiples of 3"), "shuffle2": (2, "even lengths")}


def _lengths(name: str, min_length: int, max_length: int) -> tuple[list[int], list[int]]:
    """The lengths the positives and the negatives are drawn from; a ValueError if either is empty."""
    period, words = _POSITIVE_LENGTHS[name]
    positive = [n for n in range(min_length, max_length + 1) if n % period == 0]
    if name == "aa":                                        # a^k: the length is all there is to the label
        negative = [n for n in range(min_length, max_length + 1) if n % 2 == 1]
    else:                                                   # the same lengths: the length says nothing
        negative = positive
    span = f"[min_length, max_length] = [{min_length}, {max_length}]"
    if not positive:
        above = next(n for n in range(max_length + 1, max_length + period + 1) if n % period == 0)
        below = max((n for n in range(1, min_length) if n % period == 0), default=None)
        lower = f" or lower min_length to {below}" if below is not None else ""
        raise ValueError(f"{_NAMES[name]} has strings only at {words}, and {span} holds none: "
                         f"raise max_length to {above}{lower}.")
    if not negative:                                        # (aa)* on one even length (so min_length >= 2)
        raise ValueError(f"{_NAMES[name]} needs an odd length for its negatives (a^k with k odd) next to the "
                         f"even ones of its positives, and {span} holds none: raise max_length to "
                         f"{max_length + 1} or lower min_length to {min_length - 1}.")
    return positive, negative


# ---------------------------------------------------------------------------------------------
# Strings: positives, and near-miss negatives of the same length


def _randint(gen: torch.Generator, low: int, high: int) -> int:
    """One int uniform in [low, high)."""
    return int(torch.randint(low, high, (1,), generator=gen))


def _dyck(n: int, opener: int, gen: torch.Generator) -> list[int]:
    """A Dyck word of ``n`` bracket pairs, uniform over all of them (the cycle lemma).

    Shuffle ``n`` openers (+1) and ``n + 1`` closers (-1); exactly one rotation of the result keeps
    every proper prefix sum >= 0: the one that starts right after the first minimum of the prefix
    sums. It ends with a closer, which is dropped.
    """
    if n == 0:
        return []
    steps = [1] * n + [-1] * (n + 1)
    steps = [steps[i] for i in torch.randperm(2 * n + 1, generator=gen).tolist()]
    total, lowest, cut = 0, 1, 0
    for i, step in enumerate(steps):
        total += step
        if total < lowest:
            lowest, cut = total, i + 1
    rotated = steps[cut:] + steps[:cut]
    return [opener if step == 1 else opener + 1 for step in rotated[:-1]]


def _shuffle2_positive(length: int, gen: torch.Generator) -> list[int]:
    """Two random Dyck words, ``( )`` and ``[ ]``, interleaved at random positions."""
    pairs = length // 2
    n_round = _randint(gen, 0, pairs + 1)
    rounds = _dyck(n_round, OPEN_ROUND, gen)
    squares = _dyck(pairs - n_round, OPEN_SQUARE, gen)
    from_rounds = (torch.randperm(length, generator=gen) < len(rounds)).tolist()
    rounds_left, squares_left = iter(rounds), iter(squares)
    return [next(rounds_left) if r else next(squares_left) for r in from_rounds]


def _shuffle2_negative(length: int, kind: int, gen: torch.Generator) -> list[int]:
    """A positive with one bracket type broken: an extra closer, a missing closer, or a closer too early."""
    s = _shuffle2_positive(length, gen)
    present = [o for o in (OPEN_ROUND, OPEN_SQUARE) if o in s]
    opener = present[_randint(gen, 0, len(present))]
    closer = opener + 1
    if kind == 0:                                           # an opener becomes a closer: one closer too many
        at = [i for i, x in enumerate(s) if x == opener]
        s[at[_randint(gen, 0, len(at))]] = closer
    elif kind == 1:                                         # a closer becomes an opener: one closer missing
        at = [i for i, x in enumerate(s) if x == closer]
        s[at[_randint(gen, 0, len(at))]] = opener
    else:                                                   # a top-level pair reversed: a closer too early
        tops, depth, stack = [], 0, []
        for i, x in enumerate(s):
            if x == opener:
                stack.append(i)
                depth += 1
            elif x == closer:
                depth -= 1
                start = stack.pop()
                if depth == 0:
                    tops.append((start, i))
        start, end = tops[_randint(gen, 0, len(tops))]
        s[start], s[end] = closer, opener
    return s


def _positive(name: str, length: int, gen: torch.Generator) -> list[int]:
    if name == "parity":
        bits = torch.randint(0, 2, (length - 1,), generator=gen).tolist()
        return bits + [sum(bits) % 2]                       # the last bit makes the count of 1s even
    if name == "aa":
        return [A] * length
    if name == "abab":
        return [A, B] * (length // 2)
    if name == "anbn":
        return [A] * (length // 2) + [B] * (length // 2)
    if name == "anbncn":
        return [A] * (length // 3) + [B] * (length // 3) + [C] * (length // 3)
    return _shuffle2_positive(length, gen)


_NEGATIVE_KINDS = {"parity": 1, "aa": 1, "abab": 3, "anbn": 2, "anbncn": 2, "shuffle2": 3}
_BLOCK_ORDERS = ((A, C, B), (B, A, C), (B, C, A), (C, A, B), (C, B, A))     # every order but a, b, c


def _negative(name: str, length: int, kind: int, gen: torch.Generator) -> list[int]:
    if name == "parity":
        bits = torch.randint(0, 2, (length - 1,), generator=gen).tolist()
        return bits + [1 - sum(bits) % 2]                   # the last bit makes the count of 1s odd
    if name == "aa":
        return [A] * length                                 # an odd length
    if name == "abab":
        positive = [A, B] * (length // 2)
        if kind == 0:                                       # one symbol flipped
            flipped = list(positive)
            at = _randint(gen, 0, length)
            flipped[at] = B if flipped[at] == A else A
            return flipped
        if kind == 1:                                       # the rotation "baba..."
            return [B, A] * (length // 2)
        while True:                                         # a random a/b string, redrawn if it is the positive
            s = torch.randint(0, 2, (length,), generator=gen).tolist()
            if s != positive:
                return s
    if name == "anbn":
        n = length // 2
        if kind == 0:                                       # a^i b^j, i + j = length, i != j
            i = _randint(gen, 0, length)
            i += i >= n
            return [A] * i + [B] * (length - i)
        s = [A] * n + [B] * n                               # equal counts, one a and one b swapped
        i, j = _randint(gen, 0, n), _randint(gen, n, length)
        s[i], s[j] = B, A
        return s
    if name == "anbncn":
        n = length // 3
        if kind == 0:                                       # one block one longer, another one shorter
            counts = [n, n, n]
            longer = _randint(gen, 0, 3)
            shorter = (longer + _randint(gen, 1, 3)) % 3
            counts[longer] += 1
            counts[shorter] -= 1
            return [A] * counts[0] + [B] * counts[1] + [C] * counts[2]
        order = _BLOCK_ORDERS[_randint(gen, 0, len(_BLOCK_ORDERS))]          # the blocks out of order
        return [symbol for symbol in order for _ in range(n)]
    return _shuffle2_negative(length, kind, gen)


# ---------------------------------------------------------------------------------------------
# The task


def formal_language(name: str, n_sequences: int, min_length: int, max_length: int, *,
                    seed: int = 0) -> dict[str, Tensor]:
    """Formal-language recognition: strings of ``name``, half in the language, each followed by a question.

    Row ``i`` holds a string of ``lengths[i]`` symbols, left-padded with :data:`PAD` to
    ``max_length`` and followed by :data:`QUERY`; the target at the ``QUERY`` position (the last
    column) is :data:`ACCEPT` when the string is in the language, else :data:`REJECT`, and
    :data:`IGNORE_INDEX` everywhere else::

        tokens   PAD  a   b   a   b  QUERY            (abab, max_length=5, the string "abab")
        targets   .   .   .   .   .  ACCEPT           (. = -100)

    Exactly ``n_sequences // 2`` strings are positives (an odd ``n_sequences`` has one negative
    more), in random rows. Lengths are uniform over the lengths in ``[min_length, max_length]``
    where the language has strings: multiples of 4 for ``(abab)*``, even for ``a^n b^n`` and
    shuffle-2, multiples of 3 for ``a^n b^n c^n``, any for parity. The negatives are drawn at the
    same lengths (except ``(aa)*``, whose non-members are the odd-length ``a^k``), as near misses:

    - parity: random bits, the last one set to make the number of 1s even (positives) or odd.
    - abab: ``(abab)^m`` with one symbol flipped, the rotation ``(baba)^m``, or a random a/b
      string other than ``(abab)^m`` (a third each).
    - anbn: ``a^i b^j`` with ``i != j``, or ``a^n b^n`` with one ``a`` and one ``b`` swapped
      (equal counts, unsorted); half each.
    - anbncn: one block one symbol longer and another one shorter (``a^(n+1) b^(n-1) c^n``: the
      same length), or the three blocks in another order; half each.
    - shuffle2: a positive (two random Dyck words interleaved) with one bracket type broken: an
      opener turned into a closer (an extra closer), a closer turned into an opener (a missing
      closer), or a top-level pair reversed, ``( ... )`` to ``) ... (`` (a closer too early, the
      counts still equal); a third each.

    The kinds of negative are split as evenly as the count allows. Every label agrees with
    :func:`is_member`.

    Args:
        name: one of :data:`LANGUAGES`.
        n_sequences: number of sequences N, >= 1.
        min_length: the shortest string, >= 1 symbols (the ``QUERY`` token not counted).
        max_length: the longest string, >= ``min_length``; the range must hold a length where the
            language has strings (and, for ``(aa)*``, an odd length for its negatives).
        seed: seed of the private generator.

    Returns:
        dict with ``tokens`` and ``targets`` (int64, ``(N, max_length + 1)``), ``labels`` (int64,
        ``(N,)``, 1 = in the language) and ``lengths`` (int64, ``(N,)``, each string's length).

    >>> batch = formal_language("anbn", 4, min_length=2, max_length=6, seed=0)
    >>> tuple(batch["tokens"].shape), batch["labels"].sum().item(), (batch["tokens"][:, -1] == QUERY).all().item()
    ((4, 7), 2, True)
    """
    checks.choice("name", name, LANGUAGES)
    _check_sizes(seed, n_sequences=n_sequences, min_length=min_length, max_length=max_length)
    if min_length > max_length:
        raise ValueError(f"min_length must be <= max_length, got min_length={min_length} > "
                         f"max_length={max_length}; lower min_length or raise max_length.")
    positive_lengths, negative_lengths = _lengths(name, min_length, max_length)
    gen = _generator(seed)
    n_positive = n_sequences // 2
    order = torch.randperm(n_sequences, generator=gen)                                    # rows in random order
    labels = torch.zeros(n_sequences, dtype=torch.int64)
    labels[order[:n_positive]] = 1
    kinds = torch.zeros(n_sequences, dtype=torch.int64)
    kinds[order[n_positive:]] = torch.arange(n_sequences - n_positive) % _NEGATIVE_KINDS[name]
    lengths = torch.empty(n_sequences, dtype=torch.int64)
    for label, choices in ((1, positive_lengths), (0, negative_lengths)):
        rows = labels == label
        picks = torch.randint(0, len(choices), (int(rows.sum()),), generator=gen)
        lengths[rows] = torch.tensor(choices, dtype=torch.int64)[picks]

    tokens = torch.full((n_sequences, max_length + 1), PAD, dtype=torch.int64)
    for row, (label, kind, length) in enumerate(zip(labels.tolist(), kinds.tolist(), lengths.tolist())):
        string = _positive(name, length, gen) if label else _negative(name, length, kind, gen)
        tokens[row, max_length - length:max_length] = torch.tensor(string, dtype=torch.int64)
    tokens[:, -1] = QUERY
    targets = torch.full_like(tokens, IGNORE_INDEX)
    targets[:, -1] = torch.where(labels == 1, ACCEPT, REJECT)
    return {"tokens": tokens, "targets": targets, "labels": labels, "lengths": lengths}

"""The MAD synthetic tasks: six token-manipulation probes of a sequence model, as next-token tasks.

MAD (Mechanistic Architecture Design; Poli et al. 2024, "Mechanistic Design and Scaling of Hybrid
Architectures") is a suite of small synthetic tasks, each built to test one skill a language
model needs; the Nested Learning paper reports Hope, Titans and the Transformer on it (Table 4,
docs/paper.md §7.6). The generators here are toy-scale versions, written for this library:

- :func:`in_context_recall`: key-value pairs repeat through the sequence; recall a key's value.
- :func:`fuzzy_recall`: the same, with keys and values that span several tokens each.
- :func:`noisy_recall`: the same as in-context recall, with noise tokens between the pairs.
- :func:`selective_copying`: copy the content tokens scattered among blanks, in their order.
- :func:`compression`: reproduce a random sequence after a marker (the whole sequence must be
  carried past the marker: a bottleneck for a model whose state has a fixed size).
- :func:`memorization`: a key-value map fixed across sequences; learn it in the weights.

:func:`mad_task` calls one by name (:data:`MAD_TASKS`). The conventions are those of
:mod:`hope_lite.data.tasks`: ``tokens`` and ``targets`` are int64 of shape ``(N, T)``,
``targets[:, t]`` is what the model should predict after reading ``tokens[:, :t + 1]``, and
:data:`~hope_lite.data.tasks.IGNORE_INDEX` (-100) marks the positions where nothing is asked,
so ``F.cross_entropy(logits.flatten(0, 1), targets.flatten())`` scores the task's questions
only. Every default keeps ``T <= 128`` and token ids below ``vocab_size = 256``, the byte
vocabulary, so the models of this library read these tasks as they read text. Each task splits
the vocabulary into disjoint ranges (keys, values, noise, special tokens), so a token's role is
never ambiguous; each docstring says how.

Every generator draws from a private ``torch.Generator`` seeded with ``seed``: the same call
returns the same tensors, different seeds give different data, and the global RNG is untouched.
"""

from __future__ import annotations

import inspect

import torch
from torch import Tensor

from .. import checks
from .tasks import IGNORE_INDEX, _check_sizes, _generator, key_value_halves

__all__ = ["MAD_TASKS", "mad_task", "in_context_recall", "fuzzy_recall", "noisy_recall", "selective_copying",
           "compression", "memorization"]

MAD_TASKS = ("in_context_recall", "fuzzy_recall", "noisy_recall", "selective_copying", "compression",
             "memorization")
"""The task names :func:`mad_task` accepts, in the order of the MAD paper."""


# ---------------------------------------------------------------------------------------------
# Shared pieces


def _check_seed_like(name: str, value: object) -> None:
    """A second seed (``map_seed``) checked as ``seed`` is: an int torch.Generator accepts."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int, got {value!r}.")
    if not -2**63 <= value < 2**64:
        raise ValueError(f"{name} must be an int in [-2**63, 2**64) (what torch.Generator.manual_seed takes), "
                         f"got {value}.")


def _distinct(n_rows: int, n_choose: int, n_from: int, gen: torch.Generator) -> Tensor:
    """``n_choose`` distinct ids of ``[0, n_from)`` per row, in random order: (n_rows, n_choose)."""
    return torch.rand(n_rows, n_from, generator=gen).argsort(dim=1)[:, :n_choose]


def _seen_before(slots: Tensor) -> Tensor:
    """(N, S) bool: whether ``slots[n, s]`` already occurred in ``slots[n, :s]``."""
    earlier = torch.ones(slots.shape[1], slots.shape[1], dtype=torch.bool).tril(diagonal=-1)   # (S, S): j < s
    same = slots.unsqueeze(2) == slots.unsqueeze(1)                                            # (N, S, S)
    return (same & earlier).any(dim=2)


def _recall(n_sequences: int, n_keys: int, n_pairs: int, n_noise: int, key_range: tuple[int, int],
            value_range: tuple[int, int], noise_range: tuple[int, int], gen: torch.Generator) -> dict[str, Tensor]:
    """In-context recall with ``n_noise`` noise tokens spread over the gaps around the pairs."""
    keys = key_range[0] + _distinct(n_sequences, n_keys, key_range[1] - key_range[0], gen)     # (N, K)
    values = torch.randint(*value_range, (n_sequences, n_keys), generator=gen)                 # (N, K)
    slots = torch.randint(0, n_keys, (n_sequences, n_pairs), generator=gen)                   # (N, P): which key
    slot_keys, slot_values = keys.gather(1, slots), values.gather(1, slots)                   # (N, P)

    # the sequence is P pair units (2 tokens) and Z noise units (1 token) in a random order
    units = n_pairs + n_noise
    is_pair = torch.rand(n_sequences, units, generator=gen).argsort(dim=1) < n_pairs          # (N, U), P per row
    widths = 1 + is_pair.long()
    starts = widths.cumsum(dim=1) - widths                                                    # (N, U)
    pair_at = starts[is_pair].view(n_sequences, n_pairs)                                      # (N, P), increasing
    tokens = torch.empty(n_sequences, 2 * n_pairs + n_noise, dtype=torch.long)
    if n_noise:
        noise_at = starts[~is_pair].view(n_sequences, n_noise)
        tokens.scatter_(1, noise_at, torch.randint(*noise_range, (n_sequences, n_noise), generator=gen))
    tokens.scatter_(1, pair_at, slot_keys)
    tokens.scatter_(1, pair_at + 1, slot_values)

    targets = torch.full_like(tokens, IGNORE_INDEX)
    scored = _seen_before(slots)                                                              # (N, P)
    targets.scatter_(1, pair_at, torch.where(scored, slot_values, IGNORE_INDEX))
    return {"tokens": tokens, "targets": targets}


# ---------------------------------------------------------------------------------------------
# The six tasks


def in_context_recall(n_sequences: int, *, n_keys: int = 8, n_pairs: int = 64, vocab_size: int = 256,
                      seed: int = 0) -> dict[str, Tensor]:
    """In-context recall: key-value pairs that recur through the sequence; recall each value.

    Each sequence has its own map of ``n_keys`` distinct keys, drawn from the lower half of the
    vocabulary ``[0, vocab_size // 2)``, to values drawn from the upper half ``[vocab_size // 2,
    vocab_size)`` (values may repeat). The sequence is ``n_pairs`` pairs ``key value``, each key
    drawn uniformly (with replacement) from the map, so most keys recur many times::

        tokens    k3 v3 k1 v1 k3 v3 k2 v2 k1 v1 ...     (T = 2 * n_pairs)
        targets    .  .  .  . v3  .  .  . v1  . ...     (. = -100)

    The target sits on a key's position, and only when that key occurred earlier in the
    sequence: then its value is determined by the context, and the model is scored on recalling
    it. A key's first occurrence is not scored (its value is a fresh random draw), and neither
    is any value position (the next key is random). The map changes from sequence to sequence,
    so it cannot be learned in the weights; it must be read from the context.

    Args:
        n_sequences: number of sequences N, >= 1.
        n_keys: distinct keys in a sequence's map, in [1, vocab_size // 2].
        n_pairs: key-value pairs per sequence, >= 1.
        vocab_size: token ids lie in [0, vocab_size); >= 2.
        seed: seed of the private generator.

    Returns:
        dict with ``tokens`` and ``targets``, int64 of shape ``(N, 2 * n_pairs)``.

    >>> batch = in_context_recall(2, n_keys=2, n_pairs=6, vocab_size=8)
    >>> tuple(batch["tokens"].shape), bool((batch["targets"] != -100).any())
    ((2, 12), True)
    """
    _check_sizes(seed, n_sequences=n_sequences, n_keys=n_keys, n_pairs=n_pairs, vocab_size=vocab_size)
    half = key_value_halves(vocab_size, n_keys, "n_keys")
    return _recall(n_sequences, n_keys, n_pairs, 0, (0, half), (half, vocab_size), (0, 0), _generator(seed))


def noisy_recall(n_sequences: int, *, n_keys: int = 8, n_pairs: int = 32, n_noise: int = 64, vocab_size: int = 256,
                 seed: int = 0) -> dict[str, Tensor]:
    """Noisy in-context recall: in-context recall with noise tokens between the pairs.

    The vocabulary has three disjoint ranges: keys ``[0, a)``, values ``[a, b)`` and noise
    ``[b, vocab_size)``, with ``a = vocab_size // 3`` and ``b = 2 * vocab_size // 3``. The pairs
    are those of :func:`in_context_recall` (a per-sequence map of ``n_keys`` distinct keys,
    ``n_pairs`` pairs with keys drawn with replacement); ``n_noise`` noise tokens, uniform over
    the noise range, fill the gaps around the pairs at random: before the first pair, between
    two pairs, after the last, any number in a gap (every arrangement of the ``n_pairs`` pairs
    and ``n_noise`` noise tokens is equally likely). Noise never splits a key from its value::

        tokens    k2 v2 z z k1 v1 z k2 v2 z z z k1 v1 ...   (T = 2 * n_pairs + n_noise)
        targets    .  . . .  .  . .  v2 . . . .  v1 . ...   (. = -100; z = noise)

    Targets are exactly those of in-context recall: on a key seen earlier in the sequence, its
    value. Noise positions are never scored (the next token after noise is random). The model
    must learn in training to ignore the noise range, and recall the pairs across it.

    Args:
        n_sequences: number of sequences N, >= 1.
        n_keys: distinct keys in a sequence's map, in [1, vocab_size // 3].
        n_pairs: key-value pairs per sequence, >= 1.
        n_noise: noise tokens per sequence, >= 1.
        vocab_size: token ids lie in [0, vocab_size); >= 3 (keys, values, noise).
        seed: seed of the private generator.

    Returns:
        dict with ``tokens`` and ``targets``, int64 of shape ``(N, 2 * n_pairs + n_noise)``.

    >>> batch = noisy_recall(2, n_keys=2, n_pairs=4, n_noise=5, vocab_size=9)
    >>> tuple(batch["tokens"].shape), int((batch["tokens"] >= 6).sum(dim=1)[0])
    ((2, 13), 5)
    """
    _check_sizes(seed, n_sequences=n_sequences, n_keys=n_keys, n_pairs=n_pairs, n_noise=n_noise,
                 vocab_size=vocab_size)
    if vocab_size < 3:
        raise ValueError(f"vocab_size must be >= 3 (keys, values and noise use disjoint thirds), got {vocab_size}.")
    a, b = vocab_size // 3, 2 * vocab_size // 3
    if n_keys > a:
        raise ValueError(f"n_keys must be <= vocab_size // 3 = {a} so that keys are distinct, got "
                         f"n_keys={n_keys}; lower n_keys or raise vocab_size.")
    return _recall(n_sequences, n_keys, n_pairs, n_noise, (0, a), (a, b), (b, vocab_size), _generator(seed))


def fuzzy_recall(n_sequences: int, *, n_keys: int = 8, length: int = 128, max_key_len: int = 3,
                 max_value_len: int = 3, vocab_size: int = 256, seed: int = 0) -> dict[str, Tensor]:
    """Fuzzy in-context recall: in-context recall with keys and values of several tokens each.

    The last id, ``pad = vocab_size - 1``, pads the end of a sequence; key tokens come from
    ``[0, h)`` and value tokens from ``[h, vocab_size - 1)``, with ``h = (vocab_size - 1) // 2``.
    Each sequence has its own map of ``n_keys`` key spans to value spans. A key span has a length
    drawn uniformly in ``[1, max_key_len]`` and tokens drawn uniformly from the key range; a
    value span likewise, in ``[1, max_value_len]``. The key spans of a map are *prefix-free*: no
    key span equals another or begins another (drawn again until so), so the end of a known key
    is always recognisable. Pairs ``key span, value span``, each key drawn uniformly from the map,
    follow one another until the next pair would not fit in ``length`` tokens; the rest is pad::

        tokens    k1a k1b | v1a      | k2a | v2a v2b v2c | k1a k1b | v1a      | pad pad
        targets     .   . |   .      |   . |   .   .   . |   .  v1a|   .      |   .   .   (. = -100)

    and with a value span of several tokens, e.g. ``k2a | v2a v2b v2c`` seen before, the targets
    are ``v2a`` on ``k2a``, ``v2b`` on ``v2a``, ``v2c`` on ``v2b``. In general: when a pair's key
    span occurred earlier in the sequence, every token of its value span is scored, each at the
    position just before it (the last key token predicts the first value token, and so on). The
    last value token predicts nothing (the next key is random), nor does a key's first occurrence,
    nor padding. A sequence splits into its spans by the ranges alone: a key span is a maximal
    run of key-range tokens, a value span a maximal run of value-range tokens.

    Args:
        n_sequences: number of sequences N, >= 1.
        n_keys: key spans in a sequence's map, in [1, (vocab_size - 1) // 2].
        length: tokens per sequence T, >= max_key_len + max_value_len (so that one pair fits).
        max_key_len: longest key span, >= 1 (1 gives one-token keys).
        max_value_len: longest value span, >= 1.
        vocab_size: token ids lie in [0, vocab_size); >= 3 (keys, values and the pad).
        seed: seed of the private generator.

    Returns:
        dict with ``tokens`` and ``targets``, int64 of shape ``(N, length)``.

    >>> batch = fuzzy_recall(2, n_keys=3, length=40, vocab_size=16)
    >>> tuple(batch["tokens"].shape), int(batch["tokens"].max()) <= 15
    ((2, 40), True)
    """
    _check_sizes(seed, n_sequences=n_sequences, n_keys=n_keys, length=length, max_key_len=max_key_len,
                 max_value_len=max_value_len, vocab_size=vocab_size)
    if vocab_size < 3:
        raise ValueError(f"vocab_size must be >= 3 (key tokens, value tokens and a pad token), got {vocab_size}.")
    pad, h = vocab_size - 1, (vocab_size - 1) // 2
    if n_keys > h:
        raise ValueError(f"n_keys must be <= (vocab_size - 1) // 2 = {h} (the key-token range) so that the "
                         f"key spans can be prefix-free, got n_keys={n_keys}; lower n_keys or raise vocab_size.")
    if length < max_key_len + max_value_len:
        raise ValueError(f"length must be >= max_key_len + max_value_len = {max_key_len + max_value_len} so that "
                         f"a pair fits, got length={length}; raise length or lower the span lengths.")
    gen = _generator(seed)
    n, k = n_sequences, n_keys

    # prefix-free key spans: redraw every key that equals or extends an earlier key, or is a prefix
    # of one, until none does. Key j always has a free first token (j < h earlier keys use at most
    # j first tokens), so each key settles once the keys before it have.
    key_len = torch.randint(1, max_key_len + 1, (n, k), generator=gen)
    key_tok = torch.randint(0, h, (n, k, max_key_len), generator=gen)
    column = torch.arange(max_key_len)
    earlier = torch.ones(k, k, dtype=torch.bool).tril(diagonal=-1)                          # [b, a]: a < b
    while True:
        # prefix[n, a, b]: key a is a prefix of key b (equal included)
        agree = (key_tok.unsqueeze(2) == key_tok.unsqueeze(1)) | (column >= key_len[:, :, None, None])
        prefix = agree.all(dim=3) & (key_len.unsqueeze(2) <= key_len.unsqueeze(1))          # (N, K, K)
        clash = ((prefix | prefix.transpose(1, 2)).transpose(1, 2) & earlier).any(dim=2)    # (N, K)
        if not clash.any():
            break
        redo = int(clash.sum())
        key_len[clash] = torch.randint(1, max_key_len + 1, (redo,), generator=gen)
        key_tok[clash] = torch.randint(0, h, (redo, max_key_len), generator=gen)
    value_len = torch.randint(1, max_value_len + 1, (n, k), generator=gen)
    value_tok = torch.randint(h, pad, (n, k, max_value_len), generator=gen)

    # pair spans (N, K, W): the key tokens, then the value tokens, then unused columns
    width = max_key_len + max_value_len
    col = torch.arange(width)
    in_value = col >= key_len.unsqueeze(2)                                                  # (N, K, W)
    from_key = key_tok.gather(2, col.clamp(max=max_key_len - 1).expand(n, k, width))
    from_value = value_tok.gather(2, (col - key_len.unsqueeze(2)).clamp(0, max_value_len - 1))
    span = torch.where(in_value, from_value, from_key)
    pair_len = key_len + value_len                                                          # (N, K)

    # slots: as many pairs as could fit (each has >= 2 tokens); keep those that end within length
    n_slots = length // 2
    slots = torch.randint(0, k, (n, n_slots), generator=gen)                                # (N, S)
    slot_len = pair_len.gather(1, slots)
    ends = slot_len.cumsum(dim=1)
    fits = ends <= length                                                                   # a prefix of each row
    starts = ends - slot_len
    slot_span = span.gather(1, slots.unsqueeze(2).expand(n, n_slots, width))                # (N, S, W)
    slot_key_len = key_len.gather(1, slots).unsqueeze(2)                                    # (N, S, 1)
    real = (col < slot_len.unsqueeze(2)) & fits.unsqueeze(2)                                # (N, S, W)
    where = starts.unsqueeze(2) + col                                                       # (N, S, W)
    rows = torch.arange(n).view(n, 1, 1).expand_as(where)

    tokens = torch.full((n, length), pad, dtype=torch.long)
    tokens[rows[real], where[real]] = slot_span[real]
    targets = torch.full_like(tokens, IGNORE_INDEX)
    scored = real & (col >= slot_key_len) & _seen_before(slots).unsqueeze(2)                 # value tokens to predict
    targets[rows[scored], where[scored] - 1] = slot_span[scored]
    return {"tokens": tokens, "targets": targets}


def selective_copying(n_sequences: int, *, n_content: int = 16, n_blanks: int = 96, vocab_size: int = 256,
                      seed: int = 0) -> dict[str, Tensor]:
    """Selective copying: content tokens scattered among blanks; output them in order on request.

    Two ids are special: ``blank = vocab_size - 2`` and ``copy = vocab_size - 1``; content tokens
    are uniform over ``[0, vocab_size - 2)`` (they may repeat). A sequence is a region of
    ``n_content + n_blanks`` tokens, the content tokens at random positions (every placement
    equally likely) and blanks everywhere else, followed by ``n_content`` copy tokens::

        tokens    _ c1 _ _ c2 _ c3 _ | C  C  C        (_ = blank, C = copy; T = 2 * n_content + n_blanks)
        targets   . .  . . .  . .  . | c1 c2 c3       (. = -100)

    The ``i``-th copy token's target is the ``i``-th content token: reading copy tokens, the
    model outputs the content in its order of occurrence, skipping the blanks. Only the copy
    positions are scored. The answers are not fed back (the copy tokens are all alike), so the
    model must keep its place in the content by counting copy tokens.

    Args:
        n_sequences: number of sequences N, >= 1.
        n_content: content tokens per sequence (and copy tokens), >= 1.
        n_blanks: blank tokens among the content, >= 1.
        vocab_size: token ids lie in [0, vocab_size); >= 3 (content, blank, copy).
        seed: seed of the private generator.

    Returns:
        dict with ``tokens`` and ``targets``, int64 of shape ``(N, 2 * n_content + n_blanks)``.

    >>> batch = selective_copying(1, n_content=3, n_blanks=4, vocab_size=8)
    >>> batch["tokens"][0, -3:].tolist(), int((batch["tokens"][0] == 6).sum())
    ([7, 7, 7], 4)
    """
    _check_sizes(seed, n_sequences=n_sequences, n_content=n_content, n_blanks=n_blanks, vocab_size=vocab_size)
    if vocab_size < 3:
        raise ValueError(f"vocab_size must be >= 3 (content ids plus the blank and copy ids), got {vocab_size}.")
    blank, copy = vocab_size - 2, vocab_size - 1
    region = n_content + n_blanks
    gen = _generator(seed)
    content = torch.randint(0, blank, (n_sequences, n_content), generator=gen)                # (N, C)
    places = _distinct(n_sequences, n_content, region, gen).sort(dim=1).values                # (N, C), increasing
    tokens = torch.full((n_sequences, region + n_content), blank, dtype=torch.long)
    tokens.scatter_(1, places, content)
    tokens[:, region:] = copy
    targets = torch.full_like(tokens, IGNORE_INDEX)
    targets[:, region:] = content
    return {"tokens": tokens, "targets": targets}


def compression(n_sequences: int, *, length: int = 64, vocab_size: int = 256, seed: int = 0) -> dict[str, Tensor]:
    """Compression: a random sequence, a marker, then the sequence again, token by token.

    The last id, ``marker = vocab_size - 1``, appears once, after ``length`` random tokens drawn
    uniformly from ``[0, vocab_size - 1)``. From the marker on, the model reproduces the sequence
    with teacher forcing: the marker predicts ``x1``, the reproduced ``x1`` predicts ``x2``, and
    so on; the last token ``x_L`` is a target only, never an input::

        tokens    x1 x2 ... xL  M  x1 x2 ... x(L-1)      (T = 2 * length)
        targets    .  . ...  . x1  x2 x3 ... xL           (. = -100)

    So ``targets[:, length:]`` is the sequence itself. Predicting ``x_{i+1}`` after the marker
    needs the token ``i`` places back in the first half: attention can look it up, while a model
    with a fixed-size state must have carried the whole random sequence through the marker (the
    bottleneck the task measures). MAD trains an encoder to squeeze the sequence into one token;
    this version keeps the library's single next-token setting.

    Args:
        n_sequences: number of sequences N, >= 1.
        length: random tokens to reproduce L, >= 1.
        vocab_size: token ids lie in [0, vocab_size); >= 2 (the marker plus one other id).
        seed: seed of the private generator.

    Returns:
        dict with ``tokens`` and ``targets``, int64 of shape ``(N, 2 * length)``.

    >>> batch = compression(1, length=3, vocab_size=4, seed=1)
    >>> batch["tokens"][0, 3].item(), torch.equal(batch["targets"][0, 3:], batch["tokens"][0, :3])
    (3, True)
    """
    _check_sizes(seed, n_sequences=n_sequences, length=length, vocab_size=vocab_size)
    if vocab_size < 2:
        raise ValueError(f"vocab_size must be >= 2 (one marker id plus at least one other), got {vocab_size}.")
    marker = vocab_size - 1
    sequence = torch.randint(0, marker, (n_sequences, length), generator=_generator(seed))   # (N, L)
    marks = torch.full((n_sequences, 1), marker, dtype=torch.long)
    tokens = torch.cat([sequence, marks, sequence[:, :-1]], dim=1)                          # (N, 2L)
    targets = torch.cat([torch.full_like(sequence, IGNORE_INDEX), sequence], dim=1)
    return {"tokens": tokens, "targets": targets}


def memorization(n_sequences: int, *, n_keys: int = 64, n_pairs: int = 64, map_seed: int = 0, vocab_size: int = 256,
                 seed: int = 0) -> dict[str, Tensor]:
    """Memorization: key-value pairs of one fixed map, the same in every sequence; recall the values.

    Keys come from ``[0, vocab_size // 2)``, values from ``[vocab_size // 2, vocab_size)``. The
    map, ``n_keys`` distinct keys each with a value (values may repeat), is drawn once from its
    own generator seeded with ``map_seed``: it depends on ``map_seed``, ``n_keys`` and
    ``vocab_size`` only, so training and test sets drawn with different ``seed`` share it. Each
    sequence is ``n_pairs`` pairs ``key value``, keys drawn uniformly (with replacement) from
    the map by the generator seeded with ``seed``::

        tokens    k7 v7 k2 v2 k7 v7 ...      (T = 2 * n_pairs)
        targets   v7  . v2  . v7  . ...      (. = -100)

    Every value is scored, its first occurrence in a sequence included: the context holds no
    clue to it, the answer is a fact the model has to store in its weights during training.

    Args:
        n_sequences: number of sequences N, >= 1.
        n_keys: facts in the map, in [1, vocab_size // 2].
        n_pairs: key-value pairs per sequence, >= 1.
        map_seed: seed of the map's generator (an int, like ``seed``).
        vocab_size: token ids lie in [0, vocab_size); >= 2.
        seed: seed of the sequences' generator.

    Returns:
        dict with ``tokens`` and ``targets``, int64 of shape ``(N, 2 * n_pairs)``, and ``map``,
        int64 ``(n_keys, 2)``: the rows ``(key, value)`` of the map.

    >>> a, b = memorization(1, n_keys=4, n_pairs=3, vocab_size=16, seed=0), memorization(1, n_keys=4, n_pairs=3,
    ...     vocab_size=16, seed=1)
    >>> torch.equal(a["map"], b["map"]), tuple(a["tokens"].shape)
    (True, (1, 6))
    """
    _check_sizes(seed, n_sequences=n_sequences, n_keys=n_keys, n_pairs=n_pairs, vocab_size=vocab_size)
    _check_seed_like("map_seed", map_seed)
    half = key_value_halves(vocab_size, n_keys, "n_keys")
    map_gen = _generator(map_seed)
    keys = _distinct(1, n_keys, half, map_gen)[0]                                           # (K,)
    values = torch.randint(half, vocab_size, (n_keys,), generator=map_gen)                  # (K,)
    slots = torch.randint(0, n_keys, (n_sequences, n_pairs), generator=_generator(seed))    # (N, P)
    tokens = torch.stack([keys[slots], values[slots]], dim=2).flatten(1)                    # (N, 2P)
    targets = torch.full_like(tokens, IGNORE_INDEX)
    targets[:, 0::2] = values[slots]
    return {"tokens": tokens, "targets": targets, "map": torch.stack([keys, values], dim=1)}


# ---------------------------------------------------------------------------------------------
# By name


_BY_NAME = {"in_context_recall": in_context_recall, "fuzzy_recall": fuzzy_recall, "noisy_recall": noisy_recall,
            "selective_copying": selective_copying, "compression": compression, "memorization": memorization}


def mad_task(name: str, n_sequences: int, **sizes: int) -> dict[str, Tensor]:
    """The MAD task ``name`` (one of :data:`MAD_TASKS`): ``mad_task("compression", 8, length=32)``.

    ``sizes`` are the keyword arguments of that task's generator (``vocab_size`` and ``seed``
    included); the defaults of the generator apply to the rest.

    Args:
        name: one of :data:`MAD_TASKS`.
        n_sequences: number of sequences N, >= 1.
        **sizes: keyword arguments of the task's generator.

    Returns:
        the generator's dict: ``tokens`` and ``targets`` (int64, ``(N, T)``), and for
        ``memorization`` also ``map``.

    >>> tuple(mad_task("selective_copying", 2, n_content=4, n_blanks=8)["targets"].shape)
    (2, 16)
    """
    checks.choice("name", name, MAD_TASKS)
    task = _BY_NAME[name]
    accepted = [p for p in inspect.signature(task).parameters if p != "n_sequences"]
    unknown = sorted(set(sizes) - set(accepted))
    if unknown:
        raise ValueError(f"{name} takes no argument {', '.join(map(repr, unknown))}; its arguments are "
                         f"{', '.join(accepted)}.")
    return task(n_sequences, **sizes)

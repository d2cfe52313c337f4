"""Synthetic tasks that test memory directly: recall, needle retrieval, class-incremental learning.

Language-model loss on real text mixes everything a model does; these tasks isolate one ability
each, so a number means one thing. They are toy-scale cousins of the paper's evaluations
(docs/paper.md §7.4-7.6): class-incremental learning (AX §9.1), needle-in-a-haystack (RULER NIAH,
AX §9.2) and in-context recall (AX §9.4-9.6):

- :func:`multi_query_recall` (MQAR): a list of key-value pairs, then several keys asked again;
  can the model recall each key's value? The standard probe of a sequence model's associative
  memory: attention solves it by looking back, a recurrent memory must have stored the pairs.
- :func:`needle_retrieval`: one (key, value) needle hidden at a chosen depth of random filler,
  asked at the end; accuracy versus ``length`` and ``depth`` is the needle-in-a-haystack grid.
- :func:`class_incremental_stream`: Gaussian classes that arrive a few at a time; training on
  task ``t`` and testing on every class seen so far measures forgetting, which the Continuum
  Memory System (notebook 06) is built to reduce.

Token tasks return ``tokens`` and ``targets`` of the same shape ``(N, T)``, aligned for a
next-token model: ``targets[:, t]`` is what the model should predict after reading
``tokens[:, :t + 1]``, and :data:`IGNORE_INDEX` (-100, the default ``ignore_index`` of
``F.cross_entropy``) marks the positions where nothing is asked. So ``F.cross_entropy(logits
.flatten(0, 1), targets.flatten())`` scores a model on the task's questions and nothing else.
The default ``vocab_size=256`` matches the byte tokenizer, so the same model can train on text
and be probed on these tasks.

Every generator draws from a private ``torch.Generator`` seeded with ``seed``: the same call
returns the same tensors, different seeds give different data, and the global RNG is untouched.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .. import checks

__all__ = ["IGNORE_INDEX", "multi_query_recall", "needle_retrieval", "class_incremental_stream"]

IGNORE_INDEX = -100
"""Target value for "no question here": the default ``ignore_index`` of ``F.cross_entropy``."""


def _check_sizes(seed: object, **sizes: object) -> None:
    """Every size a positive int and the seed an int (the shared checkers of ``hope_lite.checks``)."""
    for name, value in sizes.items():
        checks.positive_int(name, value)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an int, got {seed!r}.")


def _generator(seed: int) -> torch.Generator:
    """A private generator seeded with ``seed``, with the range torch accepts said in words."""
    if not -2**63 <= seed < 2**64:
        raise ValueError(f"seed must be an int in [-2**63, 2**64) (what torch.Generator.manual_seed takes), "
                         f"got {seed}.")
    return torch.Generator().manual_seed(seed)


def key_value_halves(vocab_size: int, distinct_keys: int, name: str) -> int:
    """Keys from ``[0, vocab_size // 2)``, values from the upper half: the half, once ``distinct_keys`` keys
    (the argument called ``name``) fit in it; otherwise a ValueError that says what to change."""
    if vocab_size < 2:
        raise ValueError(f"vocab_size must be >= 2 (keys and values use disjoint halves), got {vocab_size}.")
    half = vocab_size // 2
    if distinct_keys > half:
        raise ValueError(f"{name} must be <= vocab_size // 2 = {half} so that keys are distinct, "
                         f"got {name}={distinct_keys}; lower {name} or raise vocab_size.")
    return half


def multi_query_recall(n_sequences: int, n_pairs: int, n_queries: int, *, vocab_size: int = 256,
                       seed: int = 0) -> dict[str, Tensor]:
    """Multi-query associative recall (MQAR): list key-value pairs, then ask for some of them.

    Keys come from the lower half of the vocabulary, ``[0, vocab_size // 2)``, values from the
    upper half, ``[vocab_size // 2, vocab_size)``, so a token's role is never ambiguous. Keys are
    distinct within a sequence (a key has exactly one value); values may repeat. The queried
    keys are distinct listed keys in random order, and each is followed by its value, as a
    teacher-forced answer::

        tokens   k1 v1 k2 v2 k3 v3 | q1 a1 q2 a2        (n_pairs=3, n_queries=2, T = 2*3 + 2*2)
        targets   .  .  .  .  .  . | a1  . a2  .        (. = -100)

    With ``q1 = k3`` the answer is ``a1 = v3``. The target sits at each query key's position,
    so a next-token model is scored exactly on predicting each queried value from everything up
    to its key, and on nothing else (the listing itself is random, hence unpredictable).

    Args:
        n_sequences: number of sequences N, >= 1.
        n_pairs: key-value pairs listed per sequence, in [1, vocab_size // 2].
        n_queries: keys asked per sequence, in [1, n_pairs] (no key is asked twice).
        vocab_size: token ids lie in [0, vocab_size); >= 2.
        seed: seed of the private generator.

    Returns:
        dict with ``tokens`` and ``targets``, int64 of shape ``(N, 2 * n_pairs + 2 * n_queries)``.

    >>> batch = multi_query_recall(2, n_pairs=3, n_queries=2, vocab_size=16)
    >>> tuple(batch["tokens"].shape), int((batch["targets"] != -100).sum())
    ((2, 10), 4)
    """
    _check_sizes(seed, n_sequences=n_sequences, n_pairs=n_pairs, n_queries=n_queries, vocab_size=vocab_size)
    n_keys = key_value_halves(vocab_size, n_pairs, "n_pairs")
    if n_queries > n_pairs:
        raise ValueError(f"n_queries must be <= n_pairs = {n_pairs} (each listed key is asked at most "
                         f"once), got n_queries={n_queries}.")
    gen = _generator(seed)
    # n_pairs distinct keys per row: the first n_pairs of a random permutation of the key range
    keys = torch.rand(n_sequences, n_keys, generator=gen).argsort(dim=1)[:, :n_pairs]      # (N, P)
    values = torch.randint(n_keys, vocab_size, (n_sequences, n_pairs), generator=gen)      # (N, P)
    asked = torch.rand(n_sequences, n_pairs, generator=gen).argsort(dim=1)[:, :n_queries]  # (N, Q)
    queries, answers = keys.gather(1, asked), values.gather(1, asked)                      # (N, Q)

    listing = torch.stack([keys, values], dim=2).flatten(1)                                # (N, 2P)
    questions = torch.stack([queries, answers], dim=2).flatten(1)                          # (N, 2Q)
    tokens = torch.cat([listing, questions], dim=1)                                        # (N, T)
    targets = torch.full_like(tokens, IGNORE_INDEX)
    query_positions = 2 * n_pairs + 2 * torch.arange(n_queries)                            # (Q,)
    targets[:, query_positions] = answers
    return {"tokens": tokens, "targets": targets}


def needle_retrieval(n_sequences: int, length: int, *, depth: float = 0.5, vocab_size: int = 256,
                     seed: int = 0) -> dict[str, Tensor | int]:
    """Needle in a haystack: one (marker, key, value) needle in filler, asked back at the end.

    The last token id, ``vocab_size - 1``, is the *marker*; it appears nowhere else, so it
    announces the needle and the question (with bytes it is 0xFF, which valid UTF-8 text never
    contains, so a model trained on text has never seen it elsewhere either). Filler, key and value are uniform over the other
    ids. Layout of one sequence of ``length`` tokens, with ``p`` filler tokens before the needle::

        tokens   f ... f  M key value  f ... f  M key
        targets  . ... .  .  .    .    . ... .  .  value      (. = -100)

    ``p = round(depth * (length - 5))``: ``depth = 0`` puts the needle first, ``depth = 1``
    right before the question. Only the last position has a target: after reading the marker
    and the key again, predict the value seen once, far back.

    Args:
        n_sequences: number of sequences N, >= 1.
        length: tokens per sequence T, >= 5 (needle 3 + question 2; the rest is filler).
        depth: relative position of the needle in the filler, in [0, 1].
        vocab_size: token ids lie in [0, vocab_size); >= 2 (the marker plus one other id).
        seed: seed of the private generator.

    Returns:
        dict with ``tokens`` and ``targets`` (int64, ``(N, length)``) and ``needle_at`` (int: the
        index of the needle's marker, the same in every sequence).

    >>> batch = needle_retrieval(1, length=12, depth=0.0, vocab_size=16)
    >>> batch["needle_at"], batch["tokens"][0, 0].item(), batch["targets"][0, -1] == batch["tokens"][0, 2]
    (0, 15, tensor(True))
    """
    _check_sizes(seed, n_sequences=n_sequences, length=length, vocab_size=vocab_size)
    if length < 5:
        raise ValueError(f"length must be >= 5 (marker, key, value, then marker, key at the end), got {length}.")
    if isinstance(depth, bool) or not isinstance(depth, (int, float)) or not math.isfinite(depth) \
            or not 0.0 <= depth <= 1.0:
        raise ValueError(f"depth must be a number in [0, 1] (0: needle first, 1: needle last), got {depth!r}.")
    if vocab_size < 2:
        raise ValueError(f"vocab_size must be >= 2 (one marker id plus at least one other), got {vocab_size}.")
    marker = vocab_size - 1
    needle_at = round(depth * (length - 5))
    gen = _generator(seed)
    tokens = torch.randint(0, marker, (n_sequences, length), generator=gen)               # filler (N, T)
    key, value = torch.randint(0, marker, (2, n_sequences), generator=gen)                # (N,) each
    tokens[:, needle_at] = marker
    tokens[:, needle_at + 1] = key
    tokens[:, needle_at + 2] = value
    tokens[:, -2] = marker
    tokens[:, -1] = key
    targets = torch.full_like(tokens, IGNORE_INDEX)
    targets[:, -1] = value
    return {"tokens": tokens, "targets": targets, "needle_at": needle_at}


def class_incremental_stream(n_tasks: int, classes_per_task: int, samples_per_class: int, dim: int, *,
                             seed: int = 0, noise: float = 0.5,
                             test_samples_per_class: int | None = None) -> list[dict]:
    """A continual-learning stream: Gaussian classes that arrive ``classes_per_task`` at a time.

    Class ``k`` is a cloud ``x = mu_k + noise * eps`` around its own mean ``mu_k ~ N(0, I_dim)``
    (two means are about ``sqrt(2 dim)`` apart, so ``noise=0.5`` keeps classes separable from a
    few dimensions up; raise ``noise`` to make the task harder). Task ``t`` introduces classes
    ``t * c .. (t + 1) * c - 1`` (``c = classes_per_task``), with its training samples in shuffled
    order. A learner that trains on the tasks one after another and is tested after each one on
    *all classes seen so far* shows how much it forgets::

        stream = class_incremental_stream(3, 2, 50, 8)
        for t, task in enumerate(stream):
            train_on(task["x"], task["y"])
            x_test = torch.cat([s["x_test"] for s in stream[:t + 1]])
            y_test = torch.cat([s["y_test"] for s in stream[:t + 1]])

    Each task is drawn from its own generator (seeded by ``seed`` and ``t``), so a longer stream
    starts with exactly the tasks of a shorter one.

    Args:
        n_tasks: number of tasks, >= 1.
        classes_per_task: new classes per task, >= 1 (labels run over ``n_tasks * classes_per_task``).
        samples_per_class: training samples per class, >= 1.
        dim: input dimension, >= 1.
        seed: seed of the private generators.
        noise: standard deviation of each sample around its class mean, >= 0.
        test_samples_per_class: held-out samples per class (default: ``samples_per_class``).

    Returns:
        a list of ``n_tasks`` dicts with ``task`` (int), ``classes`` (tuple of the task's labels),
        ``x`` (n, dim) float32 and ``y`` (n,) int64 with ``n = classes_per_task *
        samples_per_class``, and the held-out ``x_test``, ``y_test`` of the same classes.
    """
    _check_sizes(seed, n_tasks=n_tasks, classes_per_task=classes_per_task, samples_per_class=samples_per_class, dim=dim)
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not math.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a number >= 0 (the std of samples around their class mean), got {noise!r}.")
    if test_samples_per_class is None:
        test_samples_per_class = samples_per_class
    checks.positive_int("test_samples_per_class", test_samples_per_class)

    stream = []
    for t in range(n_tasks):
        gen = torch.Generator().manual_seed((seed * 1_000_003 + t) % 2**63)
        classes = tuple(range(t * classes_per_task, (t + 1) * classes_per_task))
        means = torch.randn(classes_per_task, dim, generator=gen)                          # (c, dim)

        def sample(per_class: int) -> tuple[Tensor, Tensor]:
            labels = torch.arange(classes_per_task).repeat_interleave(per_class)             # (n,)
            x = means[labels] + noise * torch.randn(len(labels), dim, generator=gen)        # (n, dim)
            order = torch.randperm(len(labels), generator=gen)
            return x[order], (labels[order] + classes[0])

        x, y = sample(samples_per_class)
        x_test, y_test = sample(test_samples_per_class)
        stream.append({"task": t, "classes": classes, "x": x, "y": y, "x_test": x_test, "y_test": y_test})
    return stream

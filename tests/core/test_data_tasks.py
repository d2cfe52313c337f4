"""Tests of hope_lite.data.tasks: multi-query recall, needle retrieval, class-incremental streams."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from hope_lite.data import IGNORE_INDEX, class_incremental_stream, multi_query_recall, needle_retrieval

pytestmark = pytest.mark.usefixtures("one_thread")


# ---- multi-query associative recall ----

def test_recall_shapes_and_layout():
    n_pairs, n_queries, vocab = 6, 4, 32
    batch = multi_query_recall(5, n_pairs, n_queries, vocab_size=vocab, seed=1)
    tokens, targets = batch["tokens"], batch["targets"]
    length = 2 * n_pairs + 2 * n_queries
    assert tokens.shape == targets.shape == (5, length)
    assert tokens.dtype == targets.dtype == torch.int64
    assert tokens.min() >= 0 and tokens.max() < vocab
    keys, values = tokens[:, 0:2 * n_pairs:2], tokens[:, 1:2 * n_pairs:2]
    assert (keys < vocab // 2).all() and (values >= vocab // 2).all()         # disjoint ranges
    assert all(len(set(row.tolist())) == n_pairs for row in keys)             # distinct keys
    asked = targets != IGNORE_INDEX
    query_positions = [2 * n_pairs + 2 * j for j in range(n_queries)]
    assert asked.sum(dim=1).tolist() == [n_queries] * 5
    assert asked[:, query_positions].all()                                    # targets only at the queries


def test_recall_targets_are_the_values_paired_with_the_queried_keys():
    n_pairs, n_queries = 8, 8
    batch = multi_query_recall(20, n_pairs, n_queries, vocab_size=64, seed=3)
    for row_tokens, row_targets in zip(batch["tokens"].tolist(), batch["targets"].tolist()):
        pairs = dict(zip(row_tokens[0:2 * n_pairs:2], row_tokens[1:2 * n_pairs:2]))
        queries = []
        for position in range(2 * n_pairs, len(row_tokens), 2):
            key, answer = row_tokens[position], row_tokens[position + 1]
            assert row_targets[position] == pairs[key] == answer              # scored on the paired value
            queries.append(key)
        assert len(set(queries)) == n_queries                                 # no key asked twice


def test_recall_targets_work_with_cross_entropy():
    batch = multi_query_recall(3, 4, 2, seed=0)
    logits = torch.zeros(*batch["tokens"].shape, 256)
    logits.scatter_(2, batch["targets"].clamp(min=0).unsqueeze(-1), 50.0)     # a perfect "model"
    loss = F.cross_entropy(logits.flatten(0, 1), batch["targets"].flatten())
    assert loss.item() < 1e-6                                                 # -100 positions are ignored


def test_recall_is_seeded_and_leaves_the_global_rng_alone():
    state = torch.get_rng_state()
    a, b = multi_query_recall(4, 5, 3, seed=7), multi_query_recall(4, 5, 3, seed=7)
    c = multi_query_recall(4, 5, 3, seed=8)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(a["tokens"], b["tokens"]) and torch.equal(a["targets"], b["targets"])
    assert not torch.equal(a["tokens"], c["tokens"])


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_sequences=0), "n_sequences"),
    (dict(n_sequences=2.0), "n_sequences"),
    (dict(n_pairs=0), "n_pairs"),
    (dict(n_queries=0), "n_queries"),
    (dict(n_queries=True), "n_queries"),
    (dict(n_pairs=3, n_queries=4), "n_queries must be <= n_pairs"),
    (dict(vocab_size=1), "vocab_size must be >= 2"),
    (dict(vocab_size=0), "vocab_size"),
    (dict(n_pairs=9, n_queries=1, vocab_size=16), "n_pairs must be <= vocab_size // 2 = 8"),
    (dict(seed=1.5), "seed"),
    (dict(seed=2**64), r"seed must be an int in \[-2\*\*63, 2\*\*64\)"),      # not torch's "Overflow ..."
])
def test_recall_rejects_bad_arguments(kwargs, match):
    arguments = dict(n_sequences=2, n_pairs=3, n_queries=2, vocab_size=16, seed=0) | kwargs
    with pytest.raises(ValueError, match=match):
        multi_query_recall(arguments.pop("n_sequences"), arguments.pop("n_pairs"), arguments.pop("n_queries"),
                           **arguments)


def test_seeds_at_the_ends_of_torchs_range_work():
    for seed in (-2**63, -1, 2**64 - 1):
        assert multi_query_recall(1, 2, 1, seed=seed)["tokens"].shape == (1, 6)
        assert needle_retrieval(1, 8, seed=seed)["tokens"].shape == (1, 8)


def test_recall_edge_sizes():
    batch = multi_query_recall(1, 8, 8, vocab_size=16)                        # every key of the range used
    assert sorted(batch["tokens"][0, 0:16:2].tolist()) == list(range(8))
    assert multi_query_recall(1, 1, 1, vocab_size=2)["tokens"].tolist() == [[0, 1, 0, 1]]


# ---- needle in a haystack ----

@pytest.mark.parametrize("depth, expected", [(0.0, 0), (0.5, 10), (1.0, 20), (0.26, 5)])
def test_needle_is_placed_at_its_depth(depth, expected):
    length, vocab = 25, 16
    batch = needle_retrieval(4, length, depth=depth, vocab_size=vocab, seed=2)
    tokens, targets = batch["tokens"], batch["targets"]
    assert tokens.shape == targets.shape == (4, length) and tokens.dtype == torch.int64
    marker = vocab - 1
    assert batch["needle_at"] == expected
    assert (tokens == marker).sum(dim=1).tolist() == [2] * 4                  # needle and question only
    assert (tokens[:, expected] == marker).all() and (tokens[:, -2] == marker).all()
    assert torch.equal(tokens[:, expected + 1], tokens[:, -1])                # the key is asked again
    assert torch.equal(targets[:, -1], tokens[:, expected + 2])               # the target is its value
    assert (targets[:, :-1] == IGNORE_INDEX).all()                            # and nothing else is asked
    assert tokens.min() >= 0 and tokens.max() < vocab


def test_needle_lengths_and_seeds():
    assert needle_retrieval(2, 5)["tokens"].shape == (2, 5)                   # no filler at all
    assert needle_retrieval(2, 1000, depth=0.9)["tokens"].shape == (2, 1000)
    state = torch.get_rng_state()
    a, b = needle_retrieval(3, 40, seed=5), needle_retrieval(3, 40, seed=5)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(a["tokens"], b["tokens"]) and torch.equal(a["targets"], b["targets"])
    assert not torch.equal(a["tokens"], needle_retrieval(3, 40, seed=6)["tokens"])


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_sequences=0), "n_sequences"),
    (dict(length=4), "length must be >= 5"),
    (dict(length=0), "length"),
    (dict(length=10.0), "length"),
    (dict(depth=-0.1), "depth"),
    (dict(depth=1.5), "depth"),
    (dict(depth=float("nan")), "depth"),
    (dict(depth=True), "depth"),
    (dict(vocab_size=1), "vocab_size must be >= 2"),
    (dict(seed="0"), "seed"),
    (dict(seed=-2**63 - 1), r"seed must be an int in \[-2\*\*63, 2\*\*64\)"),
])
def test_needle_rejects_bad_arguments(kwargs, match):
    arguments = dict(n_sequences=2, length=10) | kwargs
    with pytest.raises(ValueError, match=match):
        needle_retrieval(arguments.pop("n_sequences"), arguments.pop("length"), **arguments)


# ---- class-incremental stream ----

def test_class_incremental_tasks_introduce_their_classes():
    n_tasks, per_task, per_class, dim = 4, 3, 5, 6
    stream = class_incremental_stream(n_tasks, per_task, per_class, dim, seed=0, test_samples_per_class=2)
    assert len(stream) == n_tasks
    for t, task in enumerate(stream):
        assert task["task"] == t
        assert task["classes"] == tuple(range(t * per_task, (t + 1) * per_task))
        assert task["x"].shape == (per_task * per_class, dim) and task["x"].dtype == torch.float32
        assert task["y"].shape == (per_task * per_class,) and task["y"].dtype == torch.int64
        assert task["x_test"].shape == (per_task * 2, dim) and task["y_test"].shape == (per_task * 2,)
        for labels, count in ((task["y"], per_class), (task["y_test"], 2)):
            assert torch.bincount(labels - t * per_task).tolist() == [count] * per_task
    first = stream[0]["y"].tolist()
    assert first != sorted(first)                                             # shuffled inside the task


def test_class_incremental_classes_are_separable_and_seeded():
    stream = class_incremental_stream(2, 2, 40, 8, seed=1, noise=0.3)
    x = torch.cat([task["x"] for task in stream])
    y = torch.cat([task["y"] for task in stream])
    means = torch.stack([x[y == k].mean(dim=0) for k in range(4)])
    x_test = torch.cat([task["x_test"] for task in stream])
    y_test = torch.cat([task["y_test"] for task in stream])
    nearest = torch.cdist(x_test, means).argmin(dim=1)
    assert (nearest == y_test).float().mean() > 0.95                          # a real classification task
    state = torch.get_rng_state()
    again = class_incremental_stream(2, 2, 40, 8, seed=1, noise=0.3)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(a["x"], b["x"]) and torch.equal(a["y"], b["y"]) for a, b in zip(stream, again))
    other = class_incremental_stream(2, 2, 40, 8, seed=2, noise=0.3)
    assert not torch.equal(stream[0]["x"], other[0]["x"])
    longer = class_incremental_stream(3, 2, 40, 8, seed=1, noise=0.3)
    assert torch.equal(longer[1]["x_test"], stream[1]["x_test"])              # a longer stream extends
    exact = class_incremental_stream(1, 2, 3, 4, noise=0)[0]["x"]
    assert exact.unique(dim=0).shape == (2, 4)                                # noise=0: the class means themselves


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_tasks=0), "n_tasks"),
    (dict(classes_per_task=0), "classes_per_task"),
    (dict(samples_per_class=-1), "samples_per_class"),
    (dict(dim=0), "dim"),
    (dict(dim=2.5), "dim"),
    (dict(noise=-0.1), "noise"),
    (dict(noise=float("inf")), "noise"),
    (dict(test_samples_per_class=0), "test_samples_per_class"),
    (dict(seed=None), "seed"),
])
def test_class_incremental_rejects_bad_arguments(kwargs, match):
    arguments = dict(n_tasks=2, classes_per_task=2, samples_per_class=3, dim=4) | kwargs
    with pytest.raises(ValueError, match=match):
        class_incremental_stream(arguments.pop("n_tasks"), arguments.pop("classes_per_task"),
                                 arguments.pop("samples_per_class"), arguments.pop("dim"), **arguments)

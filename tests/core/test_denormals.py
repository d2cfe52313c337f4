"""hope_lite.denormals: the memory models make denormal floats; with the flag set first, no operation writes one.

Each case runs in a fresh process with two torch threads, because the flag is per thread and torch's worker
threads take it from the main thread when they start (at the first parallel operation).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import torch

from hope_lite.denormals import count_denormals, denormal_count, flushing

TINY32 = torch.finfo(torch.float32).tiny


def _run(code: str, timeout: int = 300) -> dict:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def ieee():
    """IEEE denormals on this thread for the test (another test module may have imported hope_lite.lessons,
    which flushes them), the thread's flag restored afterwards."""
    before = flushing()
    if not torch.set_flush_denormal(False):
        pytest.skip("this CPU cannot flush denormals: nothing to switch")
    yield
    torch.set_flush_denormal(before)


def test_denormal_count_and_the_counting_mode(ieee):
    t = torch.tensor([0.0, TINY32, TINY32 / 4, -TINY32 / 1e3, 1.0])
    assert denormal_count(t) == 2
    assert denormal_count(t.double()) == 0                  # float64's denormals start far lower
    assert denormal_count(torch.tensor([1, 0])) == 0        # not a float
    # an operation that writes denormals is counted by its name
    assert count_denormals(lambda: torch.full((3,), 1e-30) * torch.full((3,), 1e-10)) == {"mul": 3}
    assert count_denormals(lambda: torch.full((3,), 1e-30) * 2) == {}


SELF_MODIFYING_STEP = """
    import json, torch
    {flush}
    torch.set_num_threads(2)
    from hope_lite import SelfModifyingTitans
    from hope_lite.denormals import count_denormals
    torch.manual_seed(0)
    layer = SelfModifyingTitans(128, 2, 32, 32)
    x = torch.randn(2, 512, 128, requires_grad=True)
    print(json.dumps(count_denormals(lambda: layer(x)[0].square().mean().backward())))
"""


@pytest.mark.skipif(not torch.set_flush_denormal(False), reason="this CPU cannot flush denormals")
def test_the_self_modifying_layer_makes_denormals_unless_they_are_flushed_first():
    kept = _run(SELF_MODIFYING_STEP.format(flush=""))
    assert sum(kept.values()) > 1000, kept                   # the backward pass makes them (bmm, mul, add, ...)
    flushed = _run(SELF_MODIFYING_STEP.format(flush="import hope_lite; hope_lite.flush_denormals()"))
    assert flushed == {}, flushed


@pytest.mark.skipif(not torch.set_flush_denormal(False), reason="this CPU cannot flush denormals")
def test_no_operation_writes_a_denormal_in_a_training_step_of_every_small_model():
    counts = _run("""
        import json, torch
        import hope_lite
        hope_lite.flush_denormals()                 # first, as build_model's documentation says
        torch.set_num_threads(2)
        from hope_lite import build_model
        from hope_lite.denormals import count_denormals
        from hope_lite.models import MODELS
        found = {}
        for kind in MODELS:
            torch.manual_seed(0)
            model = build_model(kind, "small")
            x = torch.randint(0, 256, (2, 257))
            def step():
                logits = model(x[:, :-1])[0]
                torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1)).backward()
            found[kind] = count_denormals(step)
        print(json.dumps(found))
    """)
    assert counts and all(c == {} for c in counts.values()), counts


def test_the_entry_points_set_the_flag():
    """The trainer's command line and the benchmark flush before their first operation; --keep-denormals does not."""
    probe = "print(json.dumps({'product': (torch.tensor([1e-30]) * torch.tensor([1e-10])).item()}))"
    trainer = _run(f"""
        import json, torch
        from hope_lite import train
        try:
            train.main(["--help"])
        except SystemExit:
            pass
        {probe}
    """)
    bench = _run(f"""
        import contextlib, io, json, torch
        from hope_lite import bench
        with contextlib.redirect_stdout(io.StringIO()):
            bench.main(["--one-case", "sdpa", "--tokens", "8", "--batch", "1", "--min-time", "0"])
        {probe}
    """)
    kept = _run(f"""
        import contextlib, io, json, torch
        from hope_lite import bench
        with contextlib.redirect_stdout(io.StringIO()):
            bench.main(["--one-case", "sdpa", "--tokens", "8", "--batch", "1", "--min-time", "0", "--keep-denormals"])
        {probe}
    """)
    if torch.set_flush_denormal(False):
        assert trainer["product"] == 0.0 and bench["product"] == 0.0
        assert 0.0 < kept["product"] < TINY32

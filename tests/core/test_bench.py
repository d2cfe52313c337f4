"""The benchmark command runs, prints what it promises and refuses bad arguments."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hope_lite.bench import main
from hope_lite.layers import MemoryBlock

ROOT = Path(__file__).resolve().parents[2]


def test_bench_json_prints_one_row_per_case_with_ratios():
    out = subprocess.run(
        [sys.executable, "-m", "hope_lite.bench", "--json", "--tokens", "16", "--width", "16", "--heads", "2",
         "--chunk-size", "4", "--min-time", "0", "--cases", "delta/chunked,delta/reference"],
        capture_output=True, text=True, check=True, timeout=300)
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["case"] for r in rows] == ["sdpa", "delta/chunked", "delta/reference"]
    for r in rows:
        assert r["tokens_per_s"] > 0 and r["peak_mem_mb"] >= 0 and r["tokens"] == 16
    assert rows[0]["ratio_to_sdpa"] == 1.0
    assert rows[1]["speedup_over_reference"] > 0


def test_bench_times_both_titans_layers_and_their_references():
    out = subprocess.run(
        [sys.executable, "-m", "hope_lite.bench", "--json", "--tokens", "8", "--width", "16", "--heads", "2",
         "--chunk-size", "4", "--projection-chunk-size", "2", "--min-time", "0",
         "--cases", "titans-layer/chunked,titans-layer/reference,self-mod/chunked,self-mod/reference"],
        capture_output=True, text=True, check=True, timeout=300)
    rows = {r["case"]: r for r in map(json.loads, out.stdout.splitlines())}
    assert rows["self-mod/chunked"]["projection_chunk_size"] == 2
    assert rows["self-mod/chunked"]["speedup_over_reference"] > 0
    assert rows["titans-layer/chunked"]["speedup_over_reference"] > 0


def test_stability_report_stays_finite(capsys):
    from hope_lite.bench_equivalence import stability_report
    stability_report(tokens=512, width=32, heads=2)
    lines = [line for line in capsys.readouterr().out.splitlines() if "finite=" in line]
    assert len(lines) == 2 and all("finite=True" in line for line in lines)


@pytest.mark.parametrize("argv", [["--cases", "nope"], ["--tokens", "0"], ["--width", "10", "--heads", "4"],
                                  ["--projection-chunk-size", "0"]])
def test_bench_rejects_bad_arguments(argv):
    with pytest.raises(SystemExit):
        main(argv)


@pytest.mark.parametrize("rule", ["hebbian", "delta", "titans"])
def test_memory_block_paths_agree(rule):
    torch.manual_seed(0)
    block = MemoryBlock(rule, 16, 2, chunk_size=1).double()
    x = torch.randn(2, 9, 16, dtype=torch.float64)
    y_chunked = block(x)
    assert (block(x, path="reference") - y_chunked).abs().max().item() < 1e-10


def test_equivalence_report_prints_small_differences(capsys):
    assert main(["--equivalence"]) == 0
    out = capsys.readouterr().out
    diffs = [float(line.rsplit("=", 1)[1]) for line in out.splitlines() if "max |" in line]
    assert len(diffs) == 20
    # streaming in float32: outputs reach |y| ~ 11, so 2e-6 is float32 rounding (relative ~1e-7)
    assert max(diffs[:5]) <= 1e-10 and max(diffs[5:8]) <= 2e-6 and max(diffs[8:11]) == 0.0
    assert max(diffs[11:14]) <= 1e-10 and max(diffs[14:17]) <= 1e-10 and max(diffs[17:]) == 0.0


def test_optimizer_report_lists_every_optimizer_next_to_adamw(capsys):
    assert main(["--optimizers", "--quick"]) == 0
    out = capsys.readouterr().out
    for name in ("AdamW (torch)", "MomentumSGD", "DeepMomentum", "Muon", "M3", "Newton-Schulz orthogonality",
                 "arithmetic floor", "train ms"):
        assert name in out
    adamw_row = [line for line in out.splitlines() if line.startswith("AdamW (torch)")][0]
    assert adamw_row.split()[-1] == "1.00"


def test_newton_schulz_flop_count_matches_the_matrix_products():
    from hope_lite.bench import newton_schulz_flops
    # (2, 3): short side 2, long side 3 -> per step X X^T 2*2*2*3, A@A 2*2^3, B@X 2*2*2*3 = 64
    assert newton_schulz_flops((2, 3), steps=1) == 64
    assert newton_schulz_flops((3, 2), steps=5) == 5 * 64


def test_model_report_times_every_model_with_its_parameter_count(tmp_path):
    saved, figure = tmp_path / "scaling.json", tmp_path / "scaling.png"
    out = subprocess.run(
        [sys.executable, "-m", "hope_lite.bench", "--models", "--preset", "tiny", "--model-tokens", "16",
         "--min-time", "0", "--repeats", "1", "--recompute", "on", "--json", "--save", str(saved),
         "--figure", str(figure)],
        capture_output=True, text=True, check=True, timeout=300)
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["model"] for r in rows] == ["hope", "hope-attention", "transformer", "titans"]
    counts = [r["parameters"] for r in rows]
    assert max(counts) / min(counts) < 1.05 and all(r["tokens_per_s"] > 0 for r in rows)
    # one thread by default; the recompute setting reached the case; memory from the separate pass
    assert all(r["threads"] == 1 and r["recompute"] == "on" and r["repeats"] == 1 for r in rows)
    assert all(r["peak_mem_mb"] >= 0 and r["peak_rss_mb"] >= 0 for r in rows)
    record = json.loads(saved.read_text())
    assert record["rows"] == rows and "recompute=on" in record["header"]
    assert record["command"].startswith("python -m hope_lite.bench --models --preset tiny")
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_render_scaling_draws_a_line_per_model_on_both_panels():
    from hope_lite.bench_models import render_scaling
    rows = [{"model": m, "tokens": T, "tokens_per_s": 1000.0 / i, "peak_mem_mb": 10.0 * T}
            for i, m in enumerate(("hope", "transformer"), 1) for T in (512, 1024, 2048)]
    fig = render_scaling(rows, "title")
    speed, memory = fig.axes
    assert [line.get_label() for line in speed.lines] == ["hope", "transformer"]
    assert list(memory.lines[0].get_xdata()) == [512, 1024, 2048]
    assert speed.get_xscale() == "log" and memory.get_yscale() == "log"


@pytest.mark.parametrize("argv", [["--models", "--preset", "huge"], ["--models", "--model-tokens", "0"],
                                  ["--models", "--repeats", "0"], ["--models", "--recompute", "maybe"]])
def test_model_report_rejects_bad_arguments(argv):
    with pytest.raises(SystemExit):
        main(argv)


def test_compile_report_times_each_model_eager_and_compiled():
    out = subprocess.run(
        [sys.executable, "-m", "hope_lite.bench", "--compile", "--compile-models", "transformer", "--preset", "tiny",
         "--model-tokens", "16", "--model-batch", "2", "--min-time", "0", "--threads", "1", "--json"],
        capture_output=True, text=True, check=True, timeout=600)
    eager, compiled = (json.loads(line) for line in out.stdout.splitlines())
    assert not eager["compiled"] and compiled["compiled"] and compiled["compile_s"] > 0
    assert eager["threads"] == compiled["threads"] == 1
    assert eager["tokens_per_s"] > 0 and compiled["tokens_per_s"] > 0


@pytest.mark.parametrize("argv", [["--compile", "--compile-models", "gpt"], ["--compile", "--threads", "0"]])
def test_compile_report_rejects_bad_arguments(argv):
    with pytest.raises(SystemExit):
        main(argv)


def test_profile_report_counts_operations_per_chunk_and_lists_the_top_ones(capsys):
    assert main(["--profile", "--profile-target", "titans-layer", "hope", "--preset", "tiny", "--tokens", "32",
                 "--width", "16", "--heads", "2", "--profile-top", "3"]) == 0
    out = capsys.readouterr().out
    assert out.count("profile of one forward+backward") == 2
    counts = re.findall(r"([\d,]+) operations \((\d+) per layer per chunk\)", out)
    assert len(counts) == 2 and all(int(total.replace(",", "")) >= int(per) > 0 for total, per in counts)
    assert int(counts[1][0].replace(",", "")) > int(counts[1][1])          # hope: 2 layers x 4 chunks
    assert len([line for line in out.splitlines() if line.strip().startswith("aten::")]) == 6


def test_flops_count_attention_on_the_cpu_as_half_its_products_when_causal():
    """The sdpa block's arithmetic = its four width x width projections + causal attention's T x T products / 2."""
    import argparse

    from hope_lite.bench_profile import _step_of, count_flops
    from torch.utils.flop_counter import sdpa_backward_flop_count, sdpa_flop_count
    B, T, width, heads = 2, 64, 16, 2
    args = argparse.Namespace(batch=B, tokens=T, width=width, heads=heads, chunk_size=16, projection_chunk_size=16,
                              preset="tiny", recompute="off")
    step, _, _ = _step_of("sdpa", args)
    projections = 4 * 2 * B * T * width * width * 3                      # forward, and twice that backward
    shape = (B, heads, T, width // heads)
    attention = (sdpa_flop_count(shape, shape, shape) + sdpa_backward_flop_count(shape, shape, shape, shape)) // 2
    assert count_flops(step) == projections + attention


def test_flops_report_prints_arithmetic_time_and_ratios(capsys):
    assert main(["--flops", "--profile-target", "sdpa", "self-mod", "hope", "--preset", "tiny", "--tokens", "32",
                 "--width", "16", "--heads", "2", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: [float(x) for x in line.split()[1:]] for line in out.splitlines()
            if line.split() and line.split()[0] in ("sdpa", "self-mod", "hope")}
    assert set(rows) == {"sdpa", "self-mod", "hope"}
    assert rows["sdpa"][3:] == [1.0, 1.0]                                 # the first target is the reference
    assert all(r[0] > 0 and r[1] > 0 for r in rows.values())
    assert rows["self-mod"][3] > 1                                        # more arithmetic than attention here


def test_profile_rejects_an_unknown_target():
    with pytest.raises(SystemExit):
        main(["--profile", "--profile-target", "gpt"])


def test_the_readme_quotes_the_committed_scaling_run():
    record = json.loads((ROOT / "results" / "bench-scaling.json").read_text())
    readme = _readme()
    assert record["command"] in readme and (ROOT / "figures" / "bench-scaling.png").is_file()
    row = {(r["model"], r["tokens"]): r for r in record["rows"]}
    assert sorted({T for _, T in row}) == [512, 1024, 2048, 4096, 8192, 16384]
    speed = lambda m, T: row[(m, T)]["tokens_per_s"]                              # noqa: E731
    from_1024 = (1024, 2048, 4096, 8192, 16384)
    quoted = [f"from {speed('transformer', 512):,.0f} at T = 512 to {speed('transformer', 16384):,.0f} at 16,384",
              f"between {min(speed('hope', T) for T in from_1024):,.0f} and "
              f"{max(speed('hope', T) for T in from_1024):,.0f}",
              f"Titans' between {min(speed('titans', T) for T in from_1024):,.0f} and "
              f"{max(speed('titans', T) for T in from_1024):,.0f}",
              f"Titans runs at {speed('titans', 16384) / speed('transformer', 16384):.2f}× Transformer++ and HOPE at "
              f"{speed('hope', 16384) / speed('transformer', 16384):.2f}×"]
    # the crossing point: Transformer++'s seconds per token continued in a straight line through 8k and 16k
    per_token = lambda m, T: 1 / speed(m, T)                                      # noqa: E731
    slope = (per_token("transformer", 16384) - per_token("transformer", 8192)) / 8192
    hope_crossing = 16384 + (per_token("hope", 16384) - per_token("transformer", 16384)) / slope
    # at 16k Titans has drawn level (the sentence says so), HOPE has not: its crossing is extrapolated
    assert speed("titans", 16384) >= speed("transformer", 16384) > speed("hope", 16384)
    quoted.append("Titans draws level with attention there")
    quoted.append(f"HOPE would cross it near {round(hope_crossing, -3):,.0f} tokens")
    memory = [row[("hope", T)]["peak_mem_mb"] / row[("transformer", T)]["peak_mem_mb"] for T in from_1024]
    quoted.append(f"HOPE keeps {min(memory):.1f}–{max(memory):.1f}× Transformer++'s")
    for text in quoted:
        assert text in " ".join(readme.split()), text


def test_the_readme_states_the_benchmarks_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "(default 1:" in help_text and "keep each case's best (default 3)" in help_text
    readme = " ".join(_readme().split())
    assert "Every process runs one torch thread unless `--threads` says otherwise" in readme
    assert "the whole sweep three times (`--repeats`)" in readme


# --- the README's CPU tables and the sentences about them, against the committed output (results/bench-cpu.txt) ---

def _bench_sections() -> dict[str, str]:
    """results/bench-cpu.txt: each '$ python -m hope_lite.bench ...' line, then that command's output."""
    text = (ROOT / "results" / "bench-cpu.txt").read_text()
    sections, command = {}, None
    for line in text.splitlines():
        if line.startswith("#"):                                                   # comments: date, times
            continue
        if line.startswith("$ python -m hope_lite.bench"):
            command = line[2:].strip()
            sections[command] = ""
        elif command is not None:
            sections[command] += line + "\n"
    return sections


def _model_rows(output: str) -> dict[tuple[str, int], dict[str, float]]:
    """The --models table: (model, T) -> tokens/s, peak MB, ratio to Transformer++."""
    rows = {}
    for line in output.splitlines():
        cells = line.split()
        if len(cells) == 8 and cells[2].isdigit():
            rows[(cells[0], int(cells[2]))] = {"tokens_per_s": float(cells[3]), "peak_mb": float(cells[5]),
                                               "x_transformer": float(cells[6])}
    return rows


def _layer_speeds(output: str) -> dict[str, list[float]]:
    """The block table: case -> [tokens/s, peak MB]."""
    rows = {}
    for line in output.splitlines():
        cells = line.split()
        if len(cells) >= 5 and ("/" in cells[0] or cells[0] == "sdpa"):
            rows[cells[0]] = [float(cells[1]), float(cells[3])]
    return rows


def _readme() -> str:
    return (ROOT / "README.md").read_text()


def test_the_readme_pastes_the_committed_cpu_tables():
    sections = _bench_sections()
    readme = _readme()
    for command in ("python -m hope_lite.bench", "python -m hope_lite.bench --models",
                    "python -m hope_lite.bench --compile --model-tokens 1024"):
        assert sections[command].strip() in readme, command
    assert len(_model_rows(sections["python -m hope_lite.bench --models"])) == 12


def test_the_readme_states_how_long_the_models_table_took():
    # the comment line before a command in results/bench-cpu.txt gives its start and end (UTC)
    text = (ROOT / "results" / "bench-cpu.txt").read_text()
    start, end = re.search(r"^# (\d\d:\d\d:\d\d)-(\d\d:\d\d:\d\d)\n\$ python -m hope_lite.bench --models\n",
                           text, flags=re.M).groups()
    seconds = lambda hms: sum(int(x) * f for x, f in zip(hms.split(":"), (3600, 60, 1)))  # noqa: E731
    minutes = round((seconds(end) - seconds(start)) / 60)
    assert f"each case's best kept (2026-12-03, nothing else running, {minutes} minutes)" in " ".join(_readme().split())


def test_the_readme_sentences_on_models_and_memory_follow_the_committed_output():
    sections = _bench_sections()
    auto = _model_rows(sections["python -m hope_lite.bench --models"])
    kept = _model_rows(sections["python -m hope_lite.bench --models --recompute off --model-tokens 1024 4096 --repeats 2"])
    short = _model_rows(sections["python -m hope_lite.bench --models --recompute on --model-tokens 256 --repeats 3"])
    readme = " ".join(_readme().split())
    assert (f"HOPE runs at {auto[('hope', 1024)]['x_transformer']:.2f}× Transformer++'s tokens/s at T = 1024 and "
            f"{auto[('hope', 4096)]['x_transformer']:.2f}× at T = 4096") in readme
    rounds = [_model_rows(block)[("transformer", 1024)]["tokens_per_s"] for _, block in _ab_rounds("bench-gates-ab.txt")]
    assert len(rounds) == 6 and (
        f"ran at {min(rounds):,.0f}–{max(rounds):,.0f} tokens/s at T = 1024 in the six before/after rounds of "
        f"14:03–14:15 the same day (`results/bench-gates-ab.txt`) and at {auto[('transformer', 1024)]['tokens_per_s']:,.0f} "
        "here") in readme
    for model in ("hope", "titans", "hope-attention"):
        for T in (1024, 4096):
            row = (f"| {model} | {T} | {kept[(model, T)]['peak_mb']:,.0f} | {auto[(model, T)]['peak_mb']:,.0f} | "
                   f"{kept[(model, T)]['tokens_per_s']:,.0f} | {auto[(model, T)]['tokens_per_s']:,.0f} |")
            assert row in readme, row
    spread = max(abs(kept[("transformer", T)]["tokens_per_s"] / auto[("transformer", T)]["tokens_per_s"] - 1)
                 for T in (1024, 4096))
    assert f"(Transformer++ within {100 * spread:.0f} % of its speed there)" in readme
    hope_4096 = auto[("hope", 4096)]
    assert f"HOPE's peak is {hope_4096['peak_mb'] / auto[('transformer', 4096)]['peak_mb']:.2f}× Transformer++'s" in readme
    assert f"for {100 * (1 - hope_4096['tokens_per_s'] / kept[('hope', 4096)]['tokens_per_s']):.0f} % of its speed" in readme
    assert f"take {kept[('hope', 4096)]['peak_mb'] / kept[('transformer', 4096)]['peak_mb']:.1f}× Transformer++'s" in readme
    a, b = auto[("hope", 256)], short[("hope", 256)]
    assert (f"cut HOPE's peak from {a['peak_mb']:,.0f} MB to {b['peak_mb']:,.0f} MB but cost "
            f"{100 * (1 - b['tokens_per_s'] / a['tokens_per_s']):.0f} % of its speed "
            f"({b['tokens_per_s']:,.0f} against {a['tokens_per_s']:,.0f} tokens/s)") in readme


def _flops_rows(output: str) -> dict[str, dict[str, float]]:
    rows = {}
    for line in output.splitlines():
        cells = line.split()
        if len(cells) == 6 and cells[0] != "target":
            rows[cells[0]] = dict(zip(("gflop", "ms", "rate", "x_gflop", "x_time"), map(float, cells[1:])))
    return rows


def test_the_readme_sentences_on_arithmetic_and_layers_follow_the_committed_output():
    sections = _bench_sections()
    readme = " ".join(_readme().split())
    for command in [c for c in sections if "--flops" in c or "--profile" in c]:
        assert command.removeprefix("python -m hope_lite.bench ") in readme, command
        assert " ".join(sections[command].split()) in readme, command
    layers = _flops_rows(sections["python -m hope_lite.bench --flops --profile-target sdpa self-mod titans-layer"])
    short, long = (_flops_rows(sections[f"python -m hope_lite.bench --flops --profile-target transformer hope titans "
                                        f"hope-attention --batch 8 --tokens {T}"]) for T in (1024, 4096))
    assert (f"At T = 1024 HOPE's step is {short['hope']['x_gflop']:.2f}× Transformer++'s arithmetic and at T = 4096 "
            f"{long['hope']['x_gflop']:.2f}×") in readme
    assert (f"HOPE would run at {1 / short['hope']['x_gflop']:.2f}× its speed at T = 1024 and "
            f"{1 / long['hope']['x_gflop']:.2f}× at 4096, above both of issue 17's targets") in readme
    assert 1 / short["hope"]["x_gflop"] >= 0.6 and 1 / long["hope"]["x_gflop"] >= 1.0
    assert (f"It computes at {short['hope']['rate']} GFLOP/s against Transformer++'s {short['transformer']['rate']} "
            f"instead ({long['hope']['rate']} against {long['transformer']['rate']} at T = 4096)") in readme
    x = layers["self-mod"]["x_gflop"]
    assert (f"layer does {x:.2f}× the SDPA block's arithmetic, so 0.4× the block's speed would need "
            f"{100 * 0.4 * x:.0f} % of its rate; it reaches {layers['self-mod']['rate']} GFLOP/s against "
            f"{layers['sdpa']['rate']}") in readme
    share = 100 * layers["self-mod"]["rate"] / layers["sdpa"]["rate"]
    assert f"It does {x:.2f}× the block's arithmetic at {share:.0f} % of its rate" in readme
    speed = {case: row[0] for case, row in _layer_speeds(sections["python -m hope_lite.bench"]).items()}
    assert (f"The self-modifying layer runs at {speed['self-mod/chunked'] / speed['sdpa']:.2f}× the SDPA block here"
            in readme)


def _ab_rounds(name: str) -> list[tuple[str, str]]:
    """A before/after file of results/ as (version, output) per round: blocks '=== HH:MM:SS before|after round'."""
    text = (ROOT / "results" / name).read_text()
    return [(block.split()[2], block) for block in re.split(r"^(?==== )", text, flags=re.M)[1:]]


def test_the_readme_sentence_on_the_decay_backward_follows_its_before_after_run():
    runs: dict[tuple[str, str], list[list[float]]] = {}
    for version, block in _ab_rounds("bench-decay-ab.txt"):
        hope = _model_rows(block)[("hope", 1024)]
        runs.setdefault(("hope", version), []).append([hope["tokens_per_s"], hope["peak_mb"]])
        runs.setdefault(("self-mod", version), []).append(_layer_speeds(block)["self-mod/chunked"])
    assert all(len(r) == 3 for r in runs.values()) and len(runs) == 4
    speed = {k: [r[0] for r in v] for k, v in runs.items()}
    assert min(speed[("hope", "after")]) > max(speed[("hope", "before")])
    assert max(speed[("self-mod", "after")]) < min(speed[("self-mod", "before")])
    peak = {v: runs[("self-mod", v)][0][1] for v in ("before", "after")}
    readme = " ".join(_readme().split())
    assert (f"rose from {max(speed[('hope', 'before')]):,.0f} to {max(speed[('hope', 'after')]):,.0f} tokens/s "
            "(every run after above every run before)") in readme
    assert (f"fell from {max(speed[('self-mod', 'before')]):,.0f} to {max(speed[('self-mod', 'after')]):,.0f} tokens/s "
            f"(every run after below every run before) with a peak {100 * (1 - peak['after'] / peak['before']):.0f} % "
            f"lower ({peak['before']:.0f} against {peak['after']:.0f} MB)") in readme


def _ab_sentence(name: str) -> str:
    """What the README says of a before/after file of results/: each target's best before and after, and how the
    runs lie."""
    runs: dict[tuple[str, str], list[float]] = {}
    for version, block in _ab_rounds(name):
        models, layers = _model_rows(block), _layer_speeds(block)
        for target, speed in (("the HOPE LM", models[("hope", 1024)]["tokens_per_s"]),
                              ("the Titans LM", models[("titans", 1024)]["tokens_per_s"]),
                              ("the self-modifying layer", layers["self-mod/chunked"][0]),
                              ("the Titans layer", layers["titans-layer/chunked"][0])):
            runs.setdefault((target, version), []).append(speed)
    assert all(len(r) == 3 for r in runs.values()) and len(runs) == 8

    def relation(before: list[float], after: list[float]) -> str:
        if min(after) > max(before):
            return "every run after above every run before"
        if max(after) < min(before):
            return "every run after below every run before"
        return "the runs overlap"
    parts = [f"{target} {max(runs[(target, 'before')]):,.0f} → {max(runs[(target, 'after')]):,.0f} tokens/s "
             f"({relation(runs[(target, 'before')], runs[(target, 'after')])})"
             for target in dict.fromkeys(t for t, _ in runs)]
    return "; ".join(parts)


@pytest.mark.parametrize("name", ["bench-conv-ab.txt", "bench-gates-ab.txt"])
def test_the_readme_sentence_on_a_before_after_run_follows_its_file(name):
    assert _ab_sentence(name) in " ".join(_readme().split())


def _profiles(text: str) -> dict[str, tuple[str, str, str]]:
    """The profile blocks of ``text``, the first of each target: target -> (operations, per chunk, mul's share)."""
    found: dict[str, tuple[str, str, str]] = {}
    for block in re.split(r"^(?=profile of one forward\+backward: )", text, flags=re.M)[1:]:
        target = re.match(r"profile of one forward\+backward: ([\w-]+),", block).group(1)
        total, per = re.search(r"([\d,]+) operations \((\d+) per layer per chunk\)", block).groups()
        mul = re.search(r"^\s+aten::mul\s+\d+\s+[\d.]+\s+([\d.]+)%", block, flags=re.M).group(1)
        found.setdefault(target, (total, per, mul))
    return found


def test_the_readme_sentence_on_the_profile_before_and_after_follows_both_profiles():
    readme = _readme()
    before, after = _profiles((ROOT / "results" / "bench-profile-before.txt").read_text()), _profiles(readme)
    (sb, pb, mb), (sa, pa, ma) = before["self-mod"], after["self-mod"]
    (hb, hpb, _), (ha, hpa, _) = before["hope"], after["hope"]
    count = lambda text: int(text.replace(",", ""))                                   # noqa: E731  "9,071" -> 9071
    assert count(sa) < count(sb) and count(ha) < count(hb)
    assert (f"the self-modifying layer {sb} → {sa} operations ({pb} → {pa} per layer per chunk), the HOPE LM "
            f"{hb} → {ha} ({hpb} → {hpa}); `aten::mul`'s share of the layer's operation time {mb} % → {ma} %"
            ) in " ".join(readme.split())

"""hope_lite.pretrained: the shipped trained model loads, checks its file, and export writes what load reads."""

from __future__ import annotations

import json

import pytest
import torch

from hope_lite import pretrained
from hope_lite.data import BYTES
from hope_lite.models import MODELS
from hope_lite.train import TrainConfig, train


@pytest.mark.parametrize("name", MODELS)
def test_every_small_model_ships_and_loads(name):
    assert f"{name}-small" in pretrained.available()
    model, card = pretrained.load_pretrained(name, "small")
    assert not model.training and card["model"] == name and card["preset"] == "small"
    assert sum(p.numel() for p in model.parameters()) == card["parameters"]
    # the card's sample is what this model generates (same prompt, temperature and seed): to the byte with the
    # torch that wrote it; another torch may round a logit otherwise and sample another byte somewhere
    if torch.__version__ != card["torch"]:
        pytest.skip(f"the card's sample was drawn with torch {card['torch']}, this is {torch.__version__}")
    prompt = BYTES.encode(card["sample"]["prompt"])[None]
    with torch.no_grad():
        out = model.generate(prompt, len(BYTES.encode(card["sample"]["text"])), temperature=card["sample"]["temperature"],
                             generator=torch.Generator().manual_seed(card["sample"]["seed"]))
    assert BYTES.decode(out[0, prompt.shape[1]:]) == card["sample"]["text"]


def test_unknown_model_and_damaged_file_are_refused(tmp_path):
    with pytest.raises(ValueError, match="no shipped model 'transformer-1.3B'"):
        pretrained.load_pretrained("transformer", "1.3B")
    for name in ("hope-small.pt", "hope-small.json"):
        (tmp_path / name).write_bytes((pretrained.FOLDER / name).read_bytes())
    damaged = bytearray((tmp_path / "hope-small.pt").read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF                   # one byte of the weights flipped
    (tmp_path / "hope-small.pt").write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match="does not match the SHA-256"):
        pretrained.load_pretrained("hope", "small", folder=tmp_path)


def test_export_writes_what_load_reads(tmp_path):
    run, folder = tmp_path / "run", tmp_path / "shipped"
    config = TrainConfig(model="hope", preset="tiny", steps=3, batch=2, context=32, eval_every=3, eval_bytes=256)
    train(config, run, progress=False, log=lambda *_: None)
    card = pretrained.export(run, folder, log=lambda *_: None)
    assert pretrained.available(folder) == ["hope-tiny"]
    model, loaded = pretrained.load_pretrained("hope", "tiny", folder=folder)
    assert loaded == json.loads((folder / "hope-tiny.json").read_text()) == card
    assert card["steps"] == 3 and card["tokens"] == 3 * 2 * 32 and card["validation_bytes"] > 0
    assert card["command"].startswith("python -m hope_lite.train --model hope --preset tiny")
    assert card["command"].endswith(f"--device cpu --out {run}") and card["device"] == "cpu"
    # the command is the trainer's: its parser reads back the same config (train() stopped before it starts)
    import shlex

    from hope_lite import train as trainer

    class Parsed(Exception):
        pass

    def capture(config, out, **options):
        raise Parsed(config, out, options)

    real_train, trainer.train = trainer.train, capture
    try:
        with pytest.raises(Parsed) as parsed:
            trainer.main(shlex.split(card["command"])[3:])
    finally:
        trainer.train = real_train
    parsed_config, out, options = parsed.value.args
    assert parsed_config == config and out == str(run) and options["device"] == "cpu"
    from hope_lite.train import load_trained
    reference = load_trained(run)[0].eval()
    ids = torch.arange(40)[None] % 256
    with torch.no_grad():
        assert torch.equal(model(ids)[0], reference(ids)[0])


def test_export_refuses_an_unfinished_run(tmp_path):
    config = TrainConfig(model="hope", preset="tiny", steps=4, batch=2, context=32, eval_every=4, eval_bytes=256)
    train(config, tmp_path / "run", stop_at=2, progress=False, log=lambda *_: None)
    with pytest.raises(ValueError, match="has not finished: its last step is 2 of 4"):
        pretrained.export(tmp_path / "run", tmp_path / "out", log=lambda *_: None)


def test_the_readme_quotes_the_card():
    """Every number the README gives of the shipped model is the card's (or the committed comparison's)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text()
    card = json.loads((pretrained.FOLDER / "hope-small.json").read_text())
    compare = json.loads((root / "results" / "07-compare.json").read_text())
    section = readme[readme.index("### A trained model to load"):]
    section = section[:section.index("\n## ") if "\n## " in section else None]
    section = section[:section.index("The chapter-07 comparison")]
    for quoted in (f"{card['parameters']:,} parameters", f"{card['weights_bytes'] / 1e6:.1f} MB", card["command"],
                   f"{card['steps']:,} steps, {card['tokens']:,} bytes", f"{card['train_seconds'] / 60:.0f} minutes",
                   f"**{card['val_bpb']:.3f} bits per byte**", f"({card['validation_bytes']:,} bytes)",
                   f"temperature {card['sample']['temperature']}, seed {card['sample']['seed']}",
                   f"({compare['settings']['steps']} steps,\n{compare['settings']['tokens_per_run']:,} bytes each) score "
                   f"{compare['summary']['hope']['val_bpb_mean']:.2f}",
                   (card["sample"]["prompt"] + card["sample"]["text"]).rstrip()):
        assert quoted in section, f"README's shipped-model section should quote {quoted!r}"
    from hope_lite.data import corpus_bytes

    passes = card["tokens"] / corpus_bytes("pydoc", "train").numel()
    assert f"about {round(passes)} passes" in section


def test_the_readme_table_of_shipped_models_quotes_every_card():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("### A trained model to load"):readme.index("The chapter-07 comparison trains")]
    rows = {line.split("|")[1].strip(): line for line in section.splitlines()
            if line.startswith("| ") and line.split("|")[1].strip() in MODELS}
    assert sorted(rows) == sorted(MODELS)
    total = 0
    hope_command = json.loads((pretrained.FOLDER / "hope-small.json").read_text())["command"]
    for name in MODELS:
        card = json.loads((pretrained.FOLDER / f"{name}-small.json").read_text())
        cells = [c.strip() for c in rows[name].split("|")[1:-1]]
        first_line = card["sample"]["text"].strip().splitlines()[0]
        assert cells[1:5] == [f"{card['parameters']:,}", f"{card['weights_bytes'] / 1e6:.1f} MB",
                              f"{card['train_seconds'] / 60:.0f} min", f"{card['val_bpb']:.3f}"]
        quoted = cells[5]                                        # the sample's beginning, within its first line
        assert quoted[0] == quoted[-1] == '"' and len(quoted) > 10 and first_line.startswith(quoted[1:-1])
        # the README's claim: HOPE's command with only the model and the run directory changed
        assert card["command"] == hope_command.replace("--model hope ", f"--model {name} ").replace(
            "runs/pretrained-hope-small", f"runs/pretrained-{name}-small")
        total += card["weights_bytes"]
    assert f"The four add {total / 1e6:.1f} MB to the package" in readme

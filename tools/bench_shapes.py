#!/usr/bin/env python3
"""The Shapes world's measurements of the embedded model, recorded in BENCHMARKS.md ("## Shapes world").

    python3 tools/bench_shapes.py ATELIER_BINARY [--subject NAME] [--quick] [--no-write]   (`make bench-shapes`)

1. `atelier demo base --json`: held-out captions (attribute combinations never seen in training), the share
   where the oracle reads back the prompted shape and colour (target ≥ 90%), next to `atelier demo vae`
   (the same scenes through the VAE alone: the ceiling any sampler has).
2. `atelier demo personalize --subject split-square`: the issue's budget (≤ 10 minutes for one subject).
3. `atelier demo personalize --ablation --json`: DreamBooth on the Shapes subjects with and without prior
   preservation, text encoder frozen and trained, after the untrained base model; subject fidelity, prompt
   fidelity, PRES, class accuracy, DIV. The grids
   are copied to docs/shapes/ and linked from the section.
No peer runs here: the figures are the paper's ablation reproduced, not a speed comparison."""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmarks_md import update_section  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Shapes world"


def run(cmd):
    print("bench-shapes: " + " ".join(cmd), file=sys.stderr, flush=True)
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"bench-shapes: `{' '.join(cmd)}` failed: {p.stderr.strip()[-800:]}")
    return json.loads(p.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--subject")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    base = run([args.binary, "demo", "base", "--json", "--samples", "96"])
    vae = run([args.binary, "demo", "vae", "--json", "--samples", "96"])
    with tempfile.TemporaryDirectory() as tmp:
        budget = run([args.binary, "demo", "personalize", "--subject", args.subject or "split-square", "--json", "--out", tmp])
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [args.binary, "demo", "personalize", "--ablation", "--json", "--out", tmp] + (["--subject", args.subject] if args.subject else []) + (["--quick"] if args.quick else [])
        report = run(cmd)
        (ROOT / "docs/shapes").mkdir(parents=True, exist_ok=True)
        grids = sorted(Path(tmp).glob("grid-*.png"))
        for g in grids:
            shutil.copy(g, ROOT / "docs/shapes" / g.name)
        table = (Path(tmp) / "personalize.md").read_text()
    lines = [SECTION, "",
             f"The embedded Shapes model (`models/shapes`), measured by the oracle (`make bench-shapes`, tools/bench_shapes.py). "
             "How it was trained, run by run, is in [models/shapes/README.md](models/shapes/README.md).", "",
             f"Base model, {base['samples']} held-out captions ({base['steps']} {base['scheduler']} steps, guidance {base['guidance']}): "
             f"prompted shape and colour recovered in **{base['shape_and_color_accuracy'] * 100:.1f}%** (target ≥ 90%); shape {base['shape_accuracy'] * 100:.1f}%, "
             f"colour {base['color_accuracy'] * 100:.1f}%, size {base['size_accuracy'] * 100:.1f}%, position {base['position_accuracy'] * 100:.1f}%, "
             f"background {base['background_accuracy'] * 100:.1f}%; {base['seconds']:.0f} s. "
             f"The VAE alone (`atelier demo vae`, the same scenes encoded and decoded): {vae['shape_and_color_accuracy'] * 100:.1f}%, "
             "the most any sampler can reach with it.", "",
             f"Budget: `atelier demo personalize --subject {budget['rows'][0]['subject']}` (class images, training with and without prior "
             f"preservation, sampling, evaluation) took {budget['seconds'] / 60:.1f} minutes on this machine (target ≤ 10).", "",
             f"DreamBooth ablation (`atelier demo personalize --ablation`{' --quick' if args.quick else ''}): {report['steps']} steps per setting, "
             f"{report['class_images']} class images, identifier `zwx`; {report['seconds']:.0f} s in all. Subject fidelity and PRES use a fixed "
             "appearance descriptor (the object's box as an 8×8 colour grid), prompt fidelity the oracle; PRES, as in the paper, is the mean "
             "similarity of class-prompt samples to the subject's photos; class accuracy counts "
             "class-prompt samples in which the oracle reads the class and colour asked for (language drift lowers it). The `base` row "
             "is the untrained model, measured the same way.", "",
             table.strip(), ""]
    lines += [f"Grid ({g.stem[5:]}): [docs/shapes/{g.name}](docs/shapes/{g.name}) — rows: prompts with the identifier, then the same prompts with the class "
              "noun only; columns: the base model, then the settings in the table's order." for g in grids]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        update_section(ROOT / "BENCHMARKS.md", SECTION, text)


if __name__ == "__main__":
    main()

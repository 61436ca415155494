#!/usr/bin/env python3
"""Reads a run's TensorBoard event files with the PyPI `tensorboard` package (the reader users have)
and prints what it found as JSON: every scalar tag with its steps and values, and every image tag with
its sizes. The DreamBooth tests use it to check that Atelier's event files are readable."""
import json, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0, "images": 0})
acc.Reload()
tags = acc.Tags()
out = {
    "scalars": {t: [[e.step, e.value] for e in acc.Scalars(t)] for t in tags.get("scalars", [])},
    "images": {t: [[e.step, e.width, e.height, len(e.encoded_image_string)] for e in acc.Images(t)] for t in tags.get("images", [])},
}
print(json.dumps(out, sort_keys=True))

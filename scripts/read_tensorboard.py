"""Reads a run folder's TensorBoard event files with TensorBoard's own reader
(EventAccumulator) and prints, as JSON, every scalar tag's (step, value) pairs and every text
tag's (step, text) pairs. Used by tests/tensorboard.rs.

Usage: .venv/bin/python scripts/read_tensorboard.py RUN_DIR
"""

import json
import sys


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: read_tensorboard.py RUN_DIR", file=sys.stderr)
        return 2
    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError as e:
        print(f"error: tensorboard is not installed in this Python ({e}): run `make venv`", file=sys.stderr)
        return 1
    acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    tags = acc.Tags()
    out = {
        "scalars": {t: [[e.step, e.value] for e in acc.Scalars(t)] for t in tags["scalars"]},
        "text": {
            t: [[e.step, e.tensor_proto.string_val[0].decode()] for e in acc.Tensors(t)]
            for t in tags["tensors"]
        },
    }
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())

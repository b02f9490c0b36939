#!/usr/bin/env python3
"""Writes the small test fixtures in tests/fixtures/ (a few KB, committed).

Run with the project venv: .venv/bin/python scripts/make_fixtures.py
The pickles come from real numpy (2.x here); numpy 1.x files are made by renaming the module
the way numpy 1.x writes it (`numpy.core...`), which numpy 2 still loads. Every "ok" pickle is
loaded back with pickle.load as a check, and its expected content is written beside it as JSON.
"""
import gzip
import json
import os
import pickle
import pickletools
import struct
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
OUT.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(7)


def np1_names(data: bytes, protocol: int) -> bytes:
    """Rewrites numpy 2 module names to numpy 1.x ones, re-framing protocol 4+ pickles."""
    if protocol <= 3:
        return data.replace(b"numpy._core.", b"numpy.core.")
    for new, old in ((b"numpy.core.multiarray", b"numpy._core.multiarray"),
                     (b"numpy.core.numeric", b"numpy._core.numeric")):
        data = data.replace(b"\x8c" + bytes([len(old)]) + old, b"\x8c" + bytes([len(new)]) + new)
    # FRAME sizes no longer match: drop the frames and let pickletools re-frame.
    return pickletools.optimize(fix_frames(data))


def fix_frames(data: bytes) -> bytes:
    """Removes FRAME opcodes by walking opcodes (safe for any payload)."""
    out = bytearray()
    ops = list(pickletools.genops(data))
    for k, (op, arg, pos) in enumerate(ops):
        end = ops[k + 1][2] if k + 1 < len(ops) else len(data)
        if op.name == "FRAME":
            continue
        out += data[pos:end]
    return bytes(out)


def write_ok(name, obj, protocol, np1=False, expect=None):
    data = pickle.dumps(obj, protocol=protocol)
    if np1:
        data = np1_names(data, protocol)
    back = pickle.loads(data)
    assert len(back) == 2
    (OUT / name).write_bytes(data)
    (OUT / (name + ".json")).write_text(json.dumps(expect) + "\n")


def images(n, side):
    return (rng.random((n, side * side)) < 0.3).astype(np.uint8)


# --- valid pickles -------------------------------------------------------------------------
X = images(6, 4)
y = np.array([0, 1, 2, 35, 1, 0])
exp = {"n": 6, "side": 4, "labels": y.tolist(), "pixels": X.reshape(-1).tolist()}
write_ok("ok_p2_np1_list_fortran.pkl", [np.asfortranarray(X), y.astype(np.int32)], 2, np1=True, expect=exp)
write_ok("ok_p3_bigendian_y.pkl", (X, y.astype(">i8").reshape(-1, 1)), 3, expect=exp)
write_ok("ok_p4_np2_bool_3d.pkl", (X.astype(bool).reshape(6, 4, 4), y.reshape(-1, 1)), 4, expect=exp)
write_ok("ok_p4_np1.pkl", (X, y.reshape(-1, 1)), 4, np1=True, expect=exp)
write_ok("ok_p5_np1_uint8_y.pkl", (X, y.astype(np.uint8)), 5, np1=True, expect=exp)
write_ok("ok_p5_np2_fortran.pkl", (np.asfortranarray(X), y.astype(np.int16)), 5, expect=exp)

# --- invalid pickles -----------------------------------------------------------------------
def bad(name, data):
    (OUT / name).write_bytes(data)

good = pickle.dumps((X, y.reshape(-1, 1)), protocol=4)
bad("bad_empty.pkl", b"")
bad("bad_truncated.pkl", good[: len(good) // 2])
bad("bad_garbage.pkl", bytes(rng.integers(0, 256, 300, dtype=np.uint8)))
bad("bad_text.pkl", b"this is not a pickle\n")
bad("bad_wrong_shape.pkl", pickle.dumps((images(5, 4)[:, :15], y[:5]), protocol=4))
bad("bad_row_mismatch.pkl", pickle.dumps((X, y[:5]), protocol=4))
bad("bad_negative_label.pkl", pickle.dumps((X, np.array([0, 1, -3, 2, 1, 0])), protocol=4))
bad("bad_label_out_of_range.pkl", pickle.dumps((X, np.array([0, 1, 36, 2, 1, 0])), protocol=4))
bad("bad_nan_labels.pkl", pickle.dumps((X, np.array([0, 1, np.nan, 2, 1, 0])), protocol=4))
bad("bad_float_images.pkl", pickle.dumps((np.where(X == 1, np.nan, 0.0), y), protocol=4))
bad("bad_grey_images.pkl", pickle.dumps((X * 255, y), protocol=4))
bad("bad_object_array.pkl", pickle.dumps((X.astype(object), y), protocol=4))
bad("bad_dict.pkl", pickle.dumps({"X": X, "y": y}, protocol=4))
bad("bad_single_array.pkl", pickle.dumps(X, protocol=4))
bad("bad_three_items.pkl", pickle.dumps((X, y, y), protocol=4))
bad("bad_y_2d.pkl", pickle.dumps((X, np.stack([y, y], 1)), protocol=4))
# A global that would run a shell command if a real unpickler loaded it (never load this in Python).
bad("bad_evil_global.pkl", b"\x80\x02cos\nsystem\nX\x0b\x00\x00\x00echo pwned\x85R.")
# A bytes object claiming 2^60 bytes: must fail without allocating.
bad("bad_huge_claim.pkl", b"\x80\x04\x8e" + struct.pack("<Q", 1 << 60) + b"\x00" * 16)
bad("bad_protocol_0.pkl", pickle.dumps((1, 2), protocol=0))
bad("bad_out_of_band.pkl", pickle.dumps((pickle.PickleBuffer(X), y), protocol=5, buffer_callback=lambda b: False))

# --- EMNIST-style IDX folders --------------------------------------------------------------
# Stored as images.gz / labels.gz / mapping.txt (no file in the repository carries EMNIST's
# official names); tests/common.rs lays them out under the official names in a temp folder.
def idx3(imgs):
    n, r, c = imgs.shape
    return struct.pack(">IIII", 0x803, n, r, c) + imgs.astype(np.uint8).tobytes()


def idx1(labels):
    return struct.pack(">II", 0x801, len(labels)) + np.asarray(labels, np.uint8).tobytes()


def emnist_folder(name, imgs, labels, mapping=True, magic_images=None, count=None):
    d = OUT / name
    d.mkdir(exist_ok=True)
    raw = idx3(imgs)
    if magic_images is not None:
        raw = struct.pack(">I", magic_images) + raw[4:]
    lab = idx1(labels)
    if count is not None:
        lab = struct.pack(">II", 0x801, count) + lab[8:]
    (d / "images.gz").write_bytes(gzip.compress(raw, mtime=0))
    (d / "labels.gz").write_bytes(gzip.compress(lab, mtime=0))
    if mapping:
        lines = [f"{i} {ord(c)}" for i, c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")]
        (d / "mapping.txt").write_text("\n".join(lines) + "\n")


# Upright 28x28 glyphs: an 'L' shape (label 21 = 'L'), a bar (label 1 = '1'), an 'x' (label 59),
# an 'e' (label 40, merges into class E). Stored transposed, as NIST ships them.
up = np.zeros((4, 28, 28), np.uint8)
up[0, 4:24, 6:9] = 255
up[0, 21:24, 6:20] = 255
up[1, 3:25, 13:15] = 200
for k in range(20):
    up[2, 4 + k, 4 + k] = 255
    up[2, 4 + k, 23 - k] = 255
up[3, 10:20, 8:20] = 180
labels = [21, 1, 59, 40]
emnist_folder("emnist_ok", up.transpose(0, 2, 1), labels)
(OUT / "emnist_ok" / "expected.json").write_text(json.dumps({
    "labels": labels, "upright_first": up[0].reshape(-1).tolist()}) + "\n")
emnist_folder("emnist_bad_magic", up.transpose(0, 2, 1), labels, magic_images=0x801)
emnist_folder("emnist_bad_count", up.transpose(0, 2, 1), labels, count=5)
emnist_folder("emnist_no_mapping", up.transpose(0, 2, 1), labels, mapping=False)
d = OUT / "emnist_truncated"
d.mkdir(exist_ok=True)
(d / "images.gz").write_bytes(gzip.compress(idx3(up)[:500], mtime=0))
(d / "labels.gz").write_bytes(gzip.compress(idx1(labels), mtime=0))
(d / "mapping.txt").write_text("0 48\n")
print("fixtures written to", OUT, sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file()), "bytes")

# --- scikit-learn reference metrics --------------------------------------------------------
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

mrng = np.random.default_rng(11)
n_classes = 36
weights = np.array([163, 301, 2016, 1428, 736, 190, 2527, 125, 1176, 324, 343, 140, 549, 2158, 3291,
                    179, 664, 840, 423, 152, 331, 393, 2334, 102, 117, 1443, 1237, 167, 286, 702, 1,
                    156, 1073, 561, 1581, 1925], float)
truth = mrng.choice(n_classes, size=600, p=weights / weights.sum())
pred = truth.copy()
flip = mrng.random(600) < 0.3
pred[flip] = mrng.integers(0, n_classes, flip.sum())
pred[pred == 7] = 8          # class 7 is never predicted
truth[truth == 30] = 31      # class 30 only ever appears as a prediction
pred[:3] = 30
labels = np.arange(n_classes)
p, r, f, s = precision_recall_fscore_support(truth, pred, labels=labels, zero_division=0)
(OUT / "sklearn_metrics.json").write_text(json.dumps({
    "sklearn": __import__("sklearn").__version__,
    "truth": truth.tolist(), "pred": pred.tolist(),
    "accuracy": accuracy_score(truth, pred),
    "macro_f1": f1_score(truth, pred, average="macro", zero_division=0),
    "precision": p.tolist(), "recall": r.tolist(), "f1": f.tolist(), "support": s.tolist(),
    "confusion": confusion_matrix(truth, pred, labels=labels).tolist(),
}) + "\n")

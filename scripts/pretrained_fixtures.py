"""Writes EfficientNet-b0 weight files as torchvision and timm save them, with random weights
(nothing is downloaded), for charlab's test of `--init` (tests/pretrained.rs).

For each library: `<lib>-efficientnet_b0.safetensors` (its state dict, 3-channel stem, a
36-class classifier), and `<lib>-efficientnet_b0-check.safetensors` holding a batch of
one-channel 56x56 inputs `x` and the network's eval-mode logits `logits` on `x` repeated over
the three input channels (what charlab's one-channel network must give after loading).

Usage: python scripts/pretrained_fixtures.py OUT_DIR
"""
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    import timm
    import torchvision

    torch.manual_seed(0)
    nets = {
        "torchvision": torchvision.models.efficientnet_b0(num_classes=36),
        "timm": timm.create_model("efficientnet_b0", pretrained=False, num_classes=36),
    }
    x = (torch.rand(4, 1, 56, 56) > 0.7).float() * 2.0 - 0.5
    for lib, net in nets.items():
        net.eval()
        # Random batch-norm statistics, so that they matter in the check.
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
        with torch.no_grad():
            logits = net(x.repeat(1, 3, 1, 1))
        state = {k: v.contiguous() for k, v in net.state_dict().items()}
        save_file(state, str(out / f"{lib}-efficientnet_b0.safetensors"))
        save_file({"x": x, "logits": logits}, str(out / f"{lib}-efficientnet_b0-check.safetensors"))
        print(f"wrote {lib}: {len(state)} tensors")


if __name__ == "__main__":
    main()

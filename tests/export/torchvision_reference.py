#!/usr/bin/env python3
"""A torchvision model's state_dict and eval-mode logits, for the ONNX export tests.

    torchvision_reference.py MODEL OUTDIR

Builds torchvision's MODEL (resnet18, mobilenet_v2) with He-uniform weights, biases in
+-0.1, BatchNorm gammas in [0.5, 1.5], betas and running means in +-0.1 and running
variances in [0.5, 1.5] (seeded), and writes to OUTDIR:
  weights.params  the state_dict in Archetype's parameter file format
                  (tools/convert_state_dict.py, torchvision's names);
  input.bin       2 x 3 x 224 x 224 float32 inputs, uniform in [-1, 1];
  torch.bin       the eval-mode logits, 2 x 1000 float32.
Run with Debian's python (/usr/bin/python3, package python3-torch). Exit code 3 when torch
or torchvision cannot be imported (the test then skips).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))

try:
    import torch
    import torchvision
except ImportError as e:
    print(f"cannot import torch/torchvision: {e}")
    sys.exit(3)

import convert_state_dict


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    name, out = sys.argv[1], sys.argv[2]
    torch.manual_seed(27)
    model = getattr(torchvision.models, name)(weights=None)
    for m in model.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            torch.nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                torch.nn.init.uniform_(m.bias, -0.1, 0.1)
        elif isinstance(m, torch.nn.BatchNorm2d):
            torch.nn.init.uniform_(m.weight, 0.5, 1.5)
            torch.nn.init.uniform_(m.bias, -0.1, 0.1)
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    model.eval()
    convert_state_dict.write_params(model.state_dict(), os.path.join(out, "weights.params"))
    x = torch.rand(2, 3, 224, 224) * 2 - 1
    x.numpy().astype("<f4").tofile(os.path.join(out, "input.bin"))
    with torch.no_grad():
        y = model(x)
    y.numpy().astype("<f4").tofile(os.path.join(out, "torch.bin"))
    print(f"{name}: logits {tuple(y.shape)}, max |logit| {y.abs().max().item():.4g}")


if __name__ == "__main__":
    main()

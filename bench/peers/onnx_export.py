#!/usr/bin/python3
"""The ONNX Runtime peer's models: the PyTorch peer's definitions (pytorch_cpu.py's MODELS,
torchvision's for the ImageNet nets) exported with torch.onnx.export, opset 13, in inference
mode (BatchNorm with running statistics), the batch dimension dynamic.

Usage: /usr/bin/python3 onnx_export.py --models resnet20,resnet50 --out DIR
Writes DIR/MODEL.onnx (input `input`, NCHW float; output `logits`) and prints one JSON line
per model: {"model", "path", "params", "input"}. A file already there is kept (delete it
to export again).
"""
import argparse, json, os, sys
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_cpu import MODELS  # noqa: E402


def export(name, out_dir):
    ctor, shape = MODELS[name]
    path = os.path.join(out_dir, f"{name}.onnx")
    torch.manual_seed(0)
    model = ctor().eval()
    params = sum(p.numel() for p in model.parameters())
    if not os.path.exists(path):
        tmp = path + ".tmp"
        with torch.no_grad():
            torch.onnx.export(model, torch.randn(1, *shape), tmp, opset_version=13,
                              input_names=["input"], output_names=["logits"],
                              dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
        os.replace(tmp, path)
    return {"model": name, "path": path, "params": params, "input": list(shape)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for name in a.models.split(","):
        if name not in MODELS:
            sys.exit(f"onnx_export.py: unknown model {name!r}; known: {', '.join(MODELS)}")
        print(json.dumps(export(name, a.out)), flush=True)


if __name__ == "__main__":
    main()

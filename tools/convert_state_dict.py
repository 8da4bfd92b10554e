#!/usr/bin/env python3
"""Converts a PyTorch state_dict to Archetype's parameter file and back.

    convert_state_dict.py to-archetype MODEL.pt OUT.params
    convert_state_dict.py to-pytorch IN.params OUT.pt

The parameter file (runtime/include/archetype/runtime/parameters_file.hpp) holds the
tensors in state_dict order: "ARCHPARM", u32 version 1, u32 count, then per tensor
u16 name length, name, u8 ndim, i64 dims, f32 values (little-endian). PyTorch's
`num_batches_tracked` counters are dropped (and restored as 0 on the way back).
Run with Debian's python (/usr/bin/python3, package python3-torch).
"""
import struct
import sys

MAGIC = b"ARCHPARM"
VERSION = 1


def write_params(state_dict, path):
    items = [(k, v) for k, v in state_dict.items() if not k.endswith("num_batches_tracked")]
    with open(path + ".tmp", "wb") as f:
        f.write(MAGIC)
        f.write(struct.pack("<II", VERSION, len(items)))
        for name, tensor in items:
            t = tensor.detach().to("cpu").float().contiguous()
            encoded = name.encode("utf-8")
            f.write(struct.pack("<H", len(encoded)))
            f.write(encoded)
            f.write(struct.pack("<B", t.dim()))
            f.write(struct.pack("<%dq" % t.dim(), *t.shape))
            f.write(t.numpy().astype("<f4").tobytes())
    import os
    os.replace(path + ".tmp", path)


def read_params(path):
    import numpy as np
    import torch
    data = open(path, "rb").read()
    if data[:8] != MAGIC:
        raise SystemExit(f"{path}: not an Archetype parameter file (bad magic)")
    version, count = struct.unpack_from("<II", data, 8)
    if version != VERSION:
        raise SystemExit(f"{path}: version {version}, this script reads version {VERSION}")
    at, out = 16, {}
    for _ in range(count):
        (length,) = struct.unpack_from("<H", data, at)
        at += 2
        name = data[at:at + length].decode("utf-8")
        at += length
        (ndim,) = struct.unpack_from("<B", data, at)
        at += 1
        dims = struct.unpack_from("<%dq" % ndim, data, at)
        at += 8 * ndim
        n = 1
        for d in dims:
            n *= d
        values = np.frombuffer(data, dtype="<f4", count=n, offset=at).copy()
        at += 4 * n
        out[name] = torch.from_numpy(values).reshape(dims)
        if name.endswith("running_var"):
            out[name[: -len("running_var")] + "num_batches_tracked"] = torch.tensor(0)
    if at != len(data):
        raise SystemExit(f"{path}: {len(data) - at} unexpected bytes after the last tensor")
    return out


def main(argv):
    if len(argv) != 4 or argv[1] not in ("to-archetype", "to-pytorch"):
        print(__doc__, file=sys.stderr)
        return 2
    import torch
    if argv[1] == "to-archetype":
        state = torch.load(argv[2], map_location="cpu")
        if hasattr(state, "state_dict"):
            state = state.state_dict()
        write_params(state, argv[3])
    else:
        torch.save(read_params(argv[2]), argv[3])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

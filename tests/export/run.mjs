// Runs an ONNX model exported by `archetype export` with ONNX Runtime (CPU) and writes its
// `logits`: the reference side of the export tests (tests/onnx/onnx_export_test.cpp).
//
// Usage: node run.mjs MODEL.onnx INPUT.bin N C H W OUTPUT.bin
//   INPUT.bin: N x C x H x W float32 (little-endian), fed as the graph input `input`;
//   OUTPUT.bin: the graph output `logits` as float32. Prints the session's input and output
//   names and the logits' dims, one line each, for the test to check.
import { readFileSync, writeFileSync } from "node:fs";
import * as ort from "onnxruntime-node";

const [model, inputPath, n, c, h, w, outputPath] = process.argv.slice(2);
if (!outputPath) {
  console.error("usage: node run.mjs MODEL.onnx INPUT.bin N C H W OUTPUT.bin");
  process.exit(2);
}
const dims = [n, c, h, w].map(Number);
const bytes = readFileSync(inputPath);
const expected = dims.reduce((a, b) => a * b, 1) * 4;
if (bytes.length !== expected) {
  console.error(`${inputPath}: ${bytes.length} bytes, expected ${expected} for ${dims.join("x")} float32`);
  process.exit(1);
}
const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
// One thread and no graph rewrites: the reference computes the graph as written.
const session = await ort.InferenceSession.create(model, {
  executionProviders: ["cpu"],
  graphOptimizationLevel: "disabled",
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
});
console.log(`inputs: ${session.inputNames.join(" ")}`);
console.log(`outputs: ${session.outputNames.join(" ")}`);
const results = await session.run({ input: new ort.Tensor("float32", data, dims) });
const logits = results.logits;
console.log(`logits: ${logits.dims.join("x")}`);
writeFileSync(outputPath, Buffer.from(logits.data.buffer, logits.data.byteOffset, logits.data.byteLength));

// The ONNX Runtime peer: inference throughput and latency of an ONNX file on the CPU, as a
// deployment would run it (npm onnxruntime-node, the CPU execution provider, graph
// optimisation "all", N intra-op threads, one inter-op thread, sequential execution).
//
// Usage: node onnxruntime_peer.mjs --onnx FILE --model NAME --input C,H,W --batch B
//            [--threads N] [--steps S] [--min-time SECONDS] [--warmup W]
// Prints one JSON line: {"peer": "onnxruntime", "version", "model", "batch", "threads",
// "infer_img_s", "p50_ms", "p99_ms", "runs", "peak_rss_mb"}: img/s over the timed runs (at
// least S and at least SECONDS), p50/p99 of the per-run latencies. onnxruntime-node is
// found in tests/export/node_modules (scripts/setup.sh installs it there) or NODE_PATH.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "../../tests/export/package.json"));
const ort = require("onnxruntime-node");

function args(argv) {
  const a = { threads: 2, steps: 10, minTime: 2, warmup: 2 };
  for (let i = 2; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === "--onnx") a.onnx = value;
    else if (flag === "--model") a.model = value;
    else if (flag === "--input") a.input = value.split(",").map(Number);
    else if (flag === "--batch") a.batch = Number(value);
    else if (flag === "--threads") a.threads = Number(value);
    else if (flag === "--steps") a.steps = Number(value);
    else if (flag === "--min-time") a.minTime = Number(value);
    else if (flag === "--warmup") a.warmup = Number(value);
    else throw new Error(`unknown flag ${flag}`);
  }
  if (!a.onnx || !a.model || !a.input || a.input.length !== 3 || !(a.batch >= 1))
    throw new Error("needs --onnx FILE --model NAME --input C,H,W --batch B");
  return a;
}

function percentile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function main() {
  const a = args(process.argv);
  const session = await ort.InferenceSession.create(a.onnx, {
    executionProviders: ["cpu"],
    graphOptimizationLevel: "all",
    intraOpNumThreads: a.threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
  });
  const [c, h, w] = a.input;
  const data = new Float32Array(a.batch * c * h * w);
  let seed = 1;  // a fixed pseudo-random input (the values do not change the work)
  for (let i = 0; i < data.length; ++i) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    data[i] = seed / 2147483648 - 0.5;
  }
  const feeds = { [session.inputNames[0]]: new ort.Tensor("float32", data, [a.batch, c, h, w]) };
  for (let i = 0; i < a.warmup; ++i) await session.run(feeds);
  const times = [];
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (times.length < a.steps || elapsed < a.minTime) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    const t1 = process.hrtime.bigint();
    times.push(Number(t1 - t0) / 1e6);
    elapsed = Number(t1 - start) / 1e9;
  }
  const sorted = [...times].sort((x, y) => x - y);
  const total = times.reduce((s, t) => s + t, 0) / 1e3;
  console.log(JSON.stringify({
    peer: "onnxruntime",
    version: require("onnxruntime-node/package.json").version,
    model: a.model,
    batch: a.batch,
    threads: a.threads,
    infer_img_s: (a.batch * times.length) / total,
    p50_ms: percentile(sorted, 0.5),
    p99_ms: percentile(sorted, 0.99),
    runs: times.length,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  }));
}

main().catch((e) => {
  console.error(`onnxruntime_peer: ${e.message}`);
  process.exit(1);
});

#!/usr/bin/python3
"""bench/compare.py's parsing and report, on made-up rows (no process is run, nothing timed):
the batch plan, bench_<model>'s Google Benchmark JSON with the latency counters, the summary
over rounds, the issue-31 targets, and that the report renders every table.

Usage: python3 compare_test.py [path/to/bench/compare.py]   (default: ../../bench/compare.py)
"""
import argparse
import importlib.util
import json
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPT = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent.parent / "bench" / "compare.py"
spec = importlib.util.spec_from_file_location("compare", SCRIPT)
compare = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compare)


def gb_json(model, batch, train, infer_ms=2.0, train_ms=10.0):
    """What bench_<model> --benchmark_format=json prints for one batch."""
    def bench(kind, ms, rss):
        return {"name": f"{model}/{kind}/batch:{batch}/process_time/real_time", "run_type": "iteration",
                "iterations": 50, "real_time": ms, "time_unit": "ms", "img/s": batch * 1000 / ms,
                "GFLOP/s": 1.0, "%peak": 2.0, "p50_ms": ms * 0.9, "p99_ms": ms * 1.5,
                "peak_rss_MB": rss, "setup_s": 0.01}
    benchmarks = [bench("inference", infer_ms, 40.0)] + ([bench("train_step", train_ms, 90.0)] if train else [])
    return json.dumps({"context": {"threads": "2", "conv_algorithm": "direct", "precision": "f32",
                                   "forward_flops_per_image": "1000000"}, "benchmarks": benchmarks})


def usage(user, sys_s, faults=1000):
    return {"user_s": user, "sys_s": sys_s, "minor_faults": faults}


class Plan(unittest.TestCase):
    def args(self, **kw):
        a = argparse.Namespace(batch=None, batches=None, train_batch=128)
        vars(a).update(kw)
        return a

    def test_parse_batches(self):
        self.assertEqual(compare.parse_batches("1,128", "--batches"), (1, 128))
        for bad in ("", "1,x", "0", "1,1", "-2"):
            with self.assertRaises(ValueError, msg=bad):
                compare.parse_batches(bad, "--batches")

    def test_default_table_and_train_batch(self):
        plan = compare.batch_plan(self.args(), ["resnet20", "resnet50"])
        self.assertEqual(plan["resnet20"], [(1, False), (128, True)])
        self.assertEqual(plan["resnet50"], [(1, False), (32, False)])

    def test_batches_for_every_model(self):
        plan = compare.batch_plan(self.args(batches=(1, 8), train_batch=8), ["lenet5", "mobilenet_v2"])
        self.assertEqual(plan["mobilenet_v2"], [(1, False), (8, True)])
        plan = compare.batch_plan(self.args(batches=(1, 8), train_batch=0), ["lenet5"])
        self.assertEqual(plan["lenet5"], [(1, False), (8, False)])

    def test_single_batch_trains(self):
        self.assertEqual(compare.batch_plan(self.args(batch=64), ["resnet50"])["resnet50"], [(64, True)])


class Benchmark(unittest.TestCase):
    def test_inference_only(self):
        row, err = compare.row_from_benchmark(gb_json("resnet20", 1, False, infer_ms=4.0), "resnet20", 1, False)
        self.assertEqual(err, "")
        self.assertAlmostEqual(row["infer_img_s"], 250.0)
        self.assertAlmostEqual(row["infer_p50_ms"], 3.6)
        self.assertAlmostEqual(row["infer_p99_ms"], 6.0)
        self.assertIsNone(row["train_img_s"])
        self.assertEqual(row["peak_rss_mb"], 40.0)
        self.assertEqual(row["forward_flops_per_image"], 1000000)

    def test_training_and_inference(self):
        row, err = compare.row_from_benchmark(gb_json("resnet20", 128, True), "resnet20", 128, True)
        self.assertEqual(err, "")
        self.assertAlmostEqual(row["train_img_s"], 12800.0)
        self.assertEqual(row["infer_rss_mb"], 40.0)  # inference runs first
        self.assertEqual(row["peak_rss_mb"], 90.0)
        self.assertAlmostEqual(row["train_seconds"], 0.5)

    def test_missing_training_is_an_error(self):
        row, err = compare.row_from_benchmark(gb_json("resnet20", 128, False), "resnet20", 128, True)
        self.assertIn("resnet20/train_step/batch:128: no result", err)
        self.assertIsNotNone(row)  # the inference figure stays
        row, err = compare.row_from_benchmark("not json", "resnet20", 1, False)
        self.assertIsNone(row)
        self.assertIn("not Google Benchmark JSON", err)

    def test_commands_of_one_batch(self):
        a = argparse.Namespace(threads=2, steps=3, min_time=0.5, peak_gflops=100.0, python="py",
                               peer=Path("peer.py"), archetype=Path("archetype"), dlib_iters=0)
        driver = {"driver": "bench", "exe": Path("bench_resnet20")}
        cmd, _ = compare.command_for(a, "archetype-fastest", "resnet20", 1, False, driver, {})
        self.assertIn("--benchmark_filter=^resnet20/inference/batch:1/", cmd)
        cmd, _ = compare.command_for(a, "archetype-direct", "resnet20", 128, True, driver, {})
        self.assertIn("--benchmark_filter=^resnet20/(inference|train_step)/batch:128/", cmd)
        cmd, _ = compare.command_for(a, "pytorch-cl", "resnet20", 1, False, driver, {})
        self.assertEqual(cmd[cmd.index("--mode") + 1], "inference")
        self.assertIn("--channels-last", cmd)
        cmd, _ = compare.command_for(a, "archetype-bf16", "resnet20", 8, True,
                                     {"driver": "archetype", "exe": Path("archetype")}, {})
        self.assertNotIn("--mode", cmd)
        self.assertEqual(cmd[cmd.index("--precision") + 1], "bf16")


def rows_at(batch, train):
    """Two rounds of every configuration with known figures: ours direct 600/300 img/s,
    fastest 500/330, PyTorch NCHW 200/100 (10% of its CPU in the kernel), channels-last
    250/150 (30%), ONNX Runtime 400."""
    def r(infer, train_img, rss, p50, proc, infer_rss=None):
        return {"infer_img_s": infer, "train_img_s": train_img if train else None, "peak_rss_mb": rss,
                "infer_rss_mb": infer_rss, "infer_p50_ms": p50, "infer_p99_ms": 2 * p50, "process": proc}
    return {
        "archetype-direct": [r(600, 300, 80, 1.0, usage(9, 1), 30), r(550, 290, 82, 0.9, usage(9, 1), 31)],
        "archetype-fastest": [r(500, 330, 90, 1.2, usage(9, 1), 35), r(510, 320, 90, 1.1, usage(9, 1), 35)],
        "archetype-bf16": [r(900, 400, 60, 0.5, usage(9, 1)), None],
        "pytorch-nchw": [r(200, 100, 250, 3.0, usage(9, 1)), r(190, 90, 260, 3.1, usage(9, 1))],
        "pytorch-cl": [r(250, 150, 240, 2.5, usage(7, 3, 5000)), r(240, 140, 245, 2.6, usage(9, 1))],
        compare.ORT_KEY: [r(400, None, 100, 1.5, usage(9, 1)), r(380, None, 100, 1.6, usage(9, 1))],
    }


class Targets(unittest.TestCase):
    def test_summary_keeps_best_rounds(self):
        s = compare.summarize({"resnet20": {128: rows_at(128, True)}}, {"resnet20": 1000000})["resnet20"][128]
        self.assertEqual(s["archetype-direct"]["infer_img_s"], 600)
        self.assertEqual(s["archetype-direct"]["infer_p50_ms"], 0.9)  # the round of the lowest median
        self.assertEqual(s["archetype-direct"]["infer_p99_ms"], 1.8)
        self.assertEqual(s["archetype-direct"]["peak_rss_mb"], 82)
        self.assertEqual(s["archetype-direct"]["infer_rss_mb"], 31)
        self.assertAlmostEqual(s["pytorch-cl"]["train_sys_pct"], 30.0)  # of the best training round
        self.assertEqual(s["pytorch-cl"]["train_minor_faults"], 5000)
        self.assertEqual(s["archetype-bf16"]["rounds"], 1)

    def test_targets_at_the_training_batch(self):
        s = compare.summarize({"resnet20": {128: rows_at(128, True)}}, {})["resnet20"][128]
        t = compare.targets("resnet20", 128, s)
        self.assertEqual(t["ours_infer_key"], "archetype-direct")  # bf16 is not in the fp32 targets
        self.assertAlmostEqual(t["vs_ort"], 1.5)
        self.assertTrue(t["ort_met"])
        self.assertAlmostEqual(t["vs_pytorch_infer"], 2.4)
        self.assertEqual(t["ours_train_key"], "archetype-fastest")
        self.assertAlmostEqual(t["vs_pytorch_train"], 2.2)
        self.assertTrue(t["train_met"])
        self.assertAlmostEqual(t["pytorch_train_sys_pct"], 30.0)
        # ours' training process (fastest, 90) against PyTorch's (channels-last, 245); ours after
        # inference (direct, 31) against ONNX Runtime (100)
        self.assertEqual((t["rss_ours"], t["rss_pytorch"], t["rss_ours_infer"], t["rss_ort"]), (90, 245, 31, 100))
        self.assertTrue(t["rss_met"])

    def test_targets_missed_and_not_applicable(self):
        rows = rows_at(1, False)
        rows[compare.ORT_KEY][0]["infer_img_s"] = 700  # ours 600: 0.86x
        s = compare.summarize({"resnet20": {1: rows}}, {})["resnet20"][1]
        t = compare.targets("resnet20", 1, s)
        self.assertFalse(t["ort_met"])
        self.assertIsNone(t["train_met"])  # no training at batch 1
        self.assertIsNone(compare.targets("lenet5", 1, s)["ort_target"])  # no target for lenet5
        self.assertIsNone(compare.targets("resnet20", 8, s)["ort_met"])  # nor at batch 8
        for r in rows["pytorch-cl"]:
            r["peak_rss_mb"] = 70  # below ours (82)
        t = compare.targets("resnet20", 1, compare.summarize({"resnet20": {1: rows}}, {})["resnet20"][1])
        self.assertFalse(t["rss_met"])


class Report(unittest.TestCase):
    def test_renders_every_table(self):
        plan = {"resnet20": [(1, False), (128, True)]}
        results = {"resnet20": {1: rows_at(1, False), 128: rows_at(128, True)}}
        dlib = {"installed": False, "note": "dlib column: skipped (--no-dlib)"}
        machine = {"cpu": "test CPU", "cores": 2, "cpus": "2", "threads_per_core": "1", "nproc": "2",
                   "gxx": "g++", "onednn": "x", "google_benchmark": "x", "loadavg": "0", "bf16": False}
        driver = {"driver": "bench", "exe": compare.ROOT / "build" / "bench_resnet20", "reason": ""}
        meta = {"date": "today", "command": "compare.py", "machine": machine, "loadavg_start": "0",
                "loadavg_end": "0", "torch": "1.13", "dlib": dlib, "flops": {"resnet20": 1000000},
                "drivers": {"resnet20": {1: driver, 128: driver}}, "compile": None, "peak_measured": None}
        a = argparse.Namespace(peak_gflops=100.0, threads=2, rounds=2, steps=10, min_time=2.0, dlib_iters=0,
                               bench_dir=compare.ROOT / "build", archetype=compare.ROOT / "archetype")
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "performance.md"
            compare.write_report(a, out, meta, compare.summarize(results, meta["flops"]), {}, results, plan)
            text = out.read_text()
        self.assertIn("## Targets (issue 31)", text)
        self.assertIn("| resnet20 | 1 | 600.0 (direct) | 1.50x | **yes** | 2.40x | not measured at this batch |", text)
        self.assertIn("| 330.0 (fastest) | 2.20x | 30%, 5,000 | **yes** | 90 / 245 / 100 (ours after inference: 31) "
                      "| **yes** |", text)
        self.assertIn("## bf16: ours in bf16 against ONNX Runtime in fp32", text)
        self.assertIn("| resnet20 | 1 | 900.0 | 0.50 / 1.00 | 400.0 | 1.50 / 3.00 | 2.25x | 1.50x |", text)
        self.assertIn("#### resnet20, batch 1: inference", text)
        self.assertIn("#### resnet20, batch 128: training and inference", text)
        self.assertIn("| Archetype, direct conv | 600.0 | 2.40x | 1.50x | 0.6 | 0.6 | 0.90 / 1.80 |", text)
        self.assertNotIn("Inference ran the batch as passes", text)  # no counter: one pass

    def test_names_the_passes_of_inference(self):
        plan = {"resnet20": [(128, True)]}
        rows = rows_at(128, True)
        for r in rows["archetype-fastest"]:
            r["infer_images_per_pass"] = 64  # bench_<model>'s counter images_per_pass
        for r in rows["archetype-direct"]:
            r["infer_images_per_pass"] = 128  # one pass: not named
        results = {"resnet20": {128: rows}}
        machine = {"cpu": "test CPU", "cores": 2, "cpus": "2", "threads_per_core": "1",
                   "nproc": "2", "gxx": "g++", "onednn": "x", "google_benchmark": "x",
                   "loadavg": "0", "bf16": False}
        driver = {"driver": "bench", "exe": compare.ROOT / "build" / "bench_resnet20", "reason": ""}
        meta = {"date": "today", "command": "compare.py", "machine": machine, "loadavg_start": "0",
                "loadavg_end": "0", "torch": "1.13",
                "dlib": {"installed": False, "note": "dlib column: skipped (--no-dlib)"},
                "flops": {"resnet20": 1000000}, "drivers": {"resnet20": {128: driver}},
                "compile": None, "peak_measured": None}
        a = argparse.Namespace(peak_gflops=100.0, threads=2, rounds=2, steps=10, min_time=2.0,
                               dlib_iters=0, bench_dir=compare.ROOT / "build",
                               archetype=compare.ROOT / "archetype")
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "performance.md"
            summary = compare.summarize(results, meta["flops"])
            compare.write_report(a, out, meta, summary, {}, results, plan)
            text = out.read_text()
        self.assertIn("Inference ran the batch as passes of (images): fastest 64 (", text)
        self.assertNotIn("direct 128", text)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]])

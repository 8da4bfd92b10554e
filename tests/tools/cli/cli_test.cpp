// Runs the built `archetype` binary (ARCHETYPE_CLI_PATH) and checks its output and exit
// codes.
#include "../../runtime/data/image_files.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <unistd.h>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace {

struct Result {
  int rc = -1;
  std::string out;
  std::string err;
};

/// Runs `archetype ARGS` (with the environment assignments ENV before it, e.g. "A=1 B=2"),
/// capturing stdout (pipe) and stderr (a temporary file).
Result run(const std::string& args, const std::string& env = "") {
  static std::atomic<int> counter{0};
  const auto err_path =
      std::filesystem::temp_directory_path() / ("archetype_cli_test_" + std::to_string(::getpid()) +
                                                "_" + std::to_string(counter++) + ".err");
  const std::string command =
      env + " '" + ARCHETYPE_CLI_PATH + "' " + args + " 2>'" + err_path.string() + "'";
  Result r;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return r;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) r.out.append(buffer, n);
  const int status = ::pclose(pipe);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream err(err_path);
  std::stringstream ss;
  ss << err.rdbuf();
  r.err = ss.str();
  std::filesystem::remove(err_path);
  return r;
}

nlohmann::json run_json(const std::string& args) {
  const Result r = run(args);
  EXPECT_EQ(r.rc, 0) << r.err;
  return nlohmann::json::parse(r.out);
}

const std::vector<std::string> expected_names = {"lenet5",
                                                 "alexnet",
                                                 "vgg11",
                                                 "vgg13",
                                                 "vgg16",
                                                 "vgg19",
                                                 "vgg11_bn",
                                                 "vgg13_bn",
                                                 "vgg16_bn",
                                                 "vgg19_bn",
                                                 "vgg16_cifar",
                                                 "resnet18",
                                                 "resnet34",
                                                 "resnet50",
                                                 "resnet101",
                                                 "resnet152",
                                                 "resnet18_cifar",
                                                 "resnet34_cifar",
                                                 "resnet50_cifar",
                                                 "plainnet18_cifar",
                                                 "resnet20",
                                                 "resnet32",
                                                 "resnet44",
                                                 "resnet56",
                                                 "resnet110",
                                                 "plain20",
                                                 "plain32",
                                                 "plain44",
                                                 "plain56",
                                                 "plain110",
                                                 "googlenet",
                                                 "inception_v3",
                                                 "xception",
                                                 "preact_resnet18_cifar",
                                                 "preact_resnet164",
                                                 "preact_resnet1001",
                                                 "se_resnet50",
                                                 "resnext50_32x4d",
                                                 "resnext101_32x8d",
                                                 "wide_resnet50_2",
                                                 "mobilenet_v2",
                                                 "efficientnet_b0",
                                                 "efficientnet_b1",
                                                 "efficientnet_b2",
                                                 "efficientnet_b3",
                                                 "efficientnet_b4",
                                                 "efficientnet_b5",
                                                 "efficientnet_b6",
                                                 "efficientnet_b7"};

// archetype bench divides by a peak it was given or measured, and says which: never a
// figure assumed for the machine.
TEST(Cli, BenchPercentOfPeakIsOfAGivenOrMeasuredPeak) {
  const std::string args =
      "bench lenet5 --mode inference --batch 2 --steps 1 --min-time 0 --threads 1 --json";
  const Result given = run(args, "ARCHETYPE_PEAK_GFLOPS=123.5");
  ASSERT_EQ(given.rc, 0) << given.err;
  const auto g = nlohmann::json::parse(given.out);
  EXPECT_EQ(g.at("peak_gflops").get<double>(), 123.5);
  EXPECT_EQ(g.at("peak_source").get<std::string>(), "ARCHETYPE_PEAK_GFLOPS");
  EXPECT_NEAR(g.at("infer_pct_peak").get<double>(),
              100.0 * g.at("infer_gflops").get<double>() / 123.5, 1e-6);
  const Result flag = run(args + " --peak-gflops 50", "ARCHETYPE_PEAK_GFLOPS=123.5");
  ASSERT_EQ(flag.rc, 0) << flag.err;
  EXPECT_EQ(nlohmann::json::parse(flag.out).at("peak_gflops").get<double>(), 50.0);
  const Result measured = run(args, "env -u ARCHETYPE_PEAK_GFLOPS");
  ASSERT_EQ(measured.rc, 0) << measured.err;
  const auto m = nlohmann::json::parse(measured.out);
  const std::string source = m.at("peak_source").get<std::string>();
  if (source.starts_with("none")) GTEST_SKIP() << "this CPU has no FMA loop to measure: " << source;
  EXPECT_TRUE(source.starts_with("measured at start")) << source;
  EXPECT_GT(m.at("peak_gflops").get<double>(), 1.0);
}

TEST(Cli, ListShowsEveryModel) {
  const Result r = run("list");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("MMACs/img"), std::string::npos);
  for (const std::string& name : expected_names) {
    EXPECT_NE(r.out.find("\n" + name + " "), std::string::npos) << name;
  }
}

TEST(Cli, ListJsonHasEveryModelInOrder) {
  const nlohmann::json list = run_json("list --json");
  ASSERT_TRUE(list.is_array());
  std::vector<std::string> names;
  for (const auto& m : list) names.push_back(m.at("name").get<std::string>());
  EXPECT_EQ(names, expected_names);
  for (const auto& m : list) {
    EXPECT_GT(m.at("params").get<std::int64_t>(), 0) << m.at("name");
    EXPECT_EQ(m.at("flops").get<std::int64_t>(), 2 * m.at("macs").get<std::int64_t>());
  }
}

TEST(Cli, EveryModelDescribesConsistently) {
  for (const std::string& name : expected_names) {
    for (const char* variant : {"", " --fashion-mnist"}) {
      const nlohmann::json d = run_json("describe " + name + " --json" + variant);
      std::int64_t params = 0, macs = 0;
      for (const auto& row : d.at("layers")) {
        params += row.at("params").get<std::int64_t>();
        macs += row.at("macs").get<std::int64_t>();
      }
      EXPECT_EQ(params, d.at("params").get<std::int64_t>()) << name << variant;
      EXPECT_EQ(macs, d.at("macs").get<std::int64_t>()) << name << variant;
      EXPECT_EQ(d.at("layers").back().at("out"), d.at("output")) << name << variant;
      if (*variant != '\0') {
        EXPECT_EQ(d.at("input"), nlohmann::json::array({1, 28, 28})) << name;
      }
    }
  }
}

TEST(Cli, DescribeResNet50Json) {
  const nlohmann::json d = run_json("describe resnet50 --json");
  EXPECT_EQ(d.at("name"), "resnet50");
  EXPECT_EQ(d.at("input"), nlohmann::json::array({3, 224, 224}));
  EXPECT_EQ(d.at("output"), nlohmann::json::array({1000, 1, 1}));
  EXPECT_EQ(d.at("params").get<std::int64_t>(), 25'557'032);
  const auto macs = d.at("macs").get<std::int64_t>();
  EXPECT_NEAR(double(macs), 4.09e9, 0.01 * 4.09e9);
  EXPECT_EQ(d.at("flops").get<std::int64_t>(), 2 * macs);
  EXPECT_EQ(d.at("receptive_field").at("h").get<std::int64_t>(), 427);
  const auto& layers = d.at("layers");
  ASSERT_TRUE(layers.is_array());
  EXPECT_GE(layers.size(), 165u);
  EXPECT_LE(layers.size(), 185u);
  EXPECT_EQ(layers.at(0).at("path"), "conv1");
  EXPECT_EQ(layers.at(0).at("in"), nlohmann::json::array({3, 224, 224}));
  std::int64_t params = 0, layer_macs = 0;
  for (const auto& row : layers) {
    params += row.at("params").get<std::int64_t>();
    layer_macs += row.at("macs").get<std::int64_t>();
    for (const char* key : {"path", "kind", "attributes", "in", "out", "params", "macs"}) {
      EXPECT_TRUE(row.contains(key)) << key;
    }
  }
  EXPECT_EQ(params, 25'557'032);
  EXPECT_EQ(layer_macs, macs);
}

TEST(Cli, DescribeTextNamesConventions) {
  const Result r = run("describe resnet50");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("25,557,032"), std::string::npos);
  EXPECT_NE(r.out.find("FLOPs = 2 × MACs"), std::string::npos);
  EXPECT_NE(r.out.find("3x224x224"), std::string::npos);
  EXPECT_NE(r.out.find("layer4.2.conv3"), std::string::npos);
}

TEST(Cli, DescribeKeepsConcatBranchesReadable) {
  const Result r = run("describe googlenet");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("6,624,904"), std::string::npos);
  // a branch's layers sit under its number, as torchvision's state_dict names them
  EXPECT_NE(r.out.find("inception3a.branch2.1.conv"), std::string::npos);
  EXPECT_NE(r.out.find("inception3a.branch4.0 "), std::string::npos);
  EXPECT_NE(r.out.find("inception3a.concat"), std::string::npos);
  const Result v3 = run("describe inception_v3");
  ASSERT_EQ(v3.rc, 0) << v3.err;
  EXPECT_NE(v3.out.find("Mixed_7b.branch3.branch3x3dbl_3.branch3x3dbl_3a.conv"), std::string::npos);
}

TEST(Cli, DescribeFashionMnistLeNet) {
  const nlohmann::json d = run_json("describe lenet5 --json --fashion-mnist");
  EXPECT_EQ(d.at("input"), nlohmann::json::array({1, 28, 28}));
  EXPECT_EQ(d.at("output"), nlohmann::json::array({10, 1, 1}));
  EXPECT_EQ(d.at("params").get<std::int64_t>(), 61'706);
  EXPECT_EQ(d.at("layers").at(0).at("kind"), "PadTo");
  EXPECT_EQ(d.at("layers").at(0).at("out"), nlohmann::json::array({1, 32, 32}));
}

TEST(Cli, UnknownModelSuggestsCloseNames) {
  const Result r = run("describe resnet5");
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(r.err.find("unknown model 'resnet5'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("resnet50"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("archetype list"), std::string::npos) << r.err;
}

TEST(Cli, BadOptionsExitWithUsageError) {
  EXPECT_EQ(run("describe lenet5 --batch 0").rc, 2);
  EXPECT_EQ(run("describe lenet5 --batch abc").rc, 2);
  EXPECT_EQ(run("describe lenet5 --batch -3").rc, 2);
  EXPECT_EQ(run("describe lenet5 --no-such-option").rc, 2);
  EXPECT_EQ(run("describe").rc, 2);
  EXPECT_EQ(run("frobnicate").rc, 2);
  const Result none = run("");
  EXPECT_EQ(none.rc, 2);
  EXPECT_NE(none.err.find("describe"), std::string::npos) << none.err;
  const Result conv = run("train lenet5 --data synthetic --conv-algorithm gemm");
  EXPECT_EQ(conv.rc, 2);
  EXPECT_NE(conv.err.find("--conv-algorithm"), std::string::npos) << conv.err;
  const Result precision = run("train lenet5 --data synthetic --precision fp16");
  EXPECT_EQ(precision.rc, 2);
  EXPECT_NE(precision.err.find("--precision"), std::string::npos) << precision.err;
  const Result bench_precision = run("bench lenet5 --precision f64");
  EXPECT_EQ(bench_precision.rc, 2);
  EXPECT_NE(bench_precision.err.find("--precision"), std::string::npos) << bench_precision.err;
  const Result bench_peak = run("bench lenet5 --mode inference --batch 2 --steps 1 --min-time 0",
                                "ARCHETYPE_PEAK_GFLOPS=fast");
  EXPECT_EQ(bench_peak.rc, 2);
  EXPECT_NE(bench_peak.err.find("ARCHETYPE_PEAK_GFLOPS"), std::string::npos) << bench_peak.err;
  const Result batch0 = run("describe lenet5 --batch 0");
  EXPECT_NE(batch0.err.find("--batch"), std::string::npos) << batch0.err;
}

// Every bad value of `archetype train` is a usage error (exit 2) naming the option and the
// value, found while parsing: before any data is loaded or any step runs. (Negative numbers
// used to wrap around into unsigned options: --max-steps -3 trained without a limit.)
TEST(Cli, TrainRejectsBadValuesBeforeLoadingAnything) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--lr -1", "--lr: must be a positive number, not '-1'"},
      {"--lr nan", "--lr: must be a positive number, not 'nan'"},
      {"--lr inf", "--lr: must be a positive number, not 'inf'"},
      {"--lr 0.1x", "--lr: must be a positive number, not '0.1x'"},
      {"--seed -5", "--seed: must be a whole number of at least 0, not '-5'"},
      {"--limit-train -1", "--limit-train: must be a whole number of at least 0, not '-1'"},
      {"--limit-test 1.5", "--limit-test: must be a whole number of at least 0, not '1.5'"},
      {"--max-steps -3", "--max-steps: must be a whole number of at least 0, not '-3'"},
      {"--schedule bogus", "--schedule: unknown schedule 'bogus'"},
      {"--schedule step:5,x", "--schedule:"},
      {"--data bogus", "--data: unknown data set 'bogus'"},
      {"--data mnist", "--data: mnist needs a directory: --data mnist:DIR"},
      {"--data cifar10:", "--data: the directory after ':' is empty"},
      {"--augment sideways", "--augment: sideways not in"},
      {"--augment resized-crop", "--augment resized-crop: resized-crop is for --data folder:DIR"},
      {"--data folder", "--data: folder needs a directory: --data folder:DIR"},
      {"--normalize 0.5/x", "--normalize: 'x' is not a number"},
      {"--normalize 0.5,0.5/1,1", "--normalize: give 1 or 3 means and as many deviations"},
      {"--normalize 0.5/0", "--normalize: a deviation must be positive"},
      {"--resume", "--resume requires --checkpoint"},
      {"--epochs 0", "--epochs"},
      {"--freeze-until conv9", "--freeze-until conv9: no layer has this path (closest: conv1"},
      {"--freeze layer", "--freeze layer: no layer has this path"},
      {"--freeze conv1 --freeze conv2 --freeze fc1 --freeze fc2 --freeze fc3",
       "--freeze/--freeze-until: every parameter would be frozen"},
      {"--unfreeze-at 0:conv1", "--unfreeze-at: expected EPOCH:PREFIX (EPOCH >= 1), not '0:conv1'"},
      {"--unfreeze-at 3:conv1", "--unfreeze-at 3:conv1: the epoch must be in [1, 1]"},
      {"--lr-group conv1=-2", "--lr-group: expected PREFIX=LR with LR > 0, not 'conv1=-2'"},
      {"--lr-group convX=0.1", "--lr-group convX: no layer has this path"},
      {"--no-such-flag", "The following argument was not expected: --no-such-flag"}};
  for (const auto& [args, message] : cases) {
    // synthetic data: were a value accepted by mistake, the run would be short.
    const Result r = run("train lenet5 --max-steps 1 --epochs 1 --data synthetic " + args);
    EXPECT_EQ(r.rc, 2) << args << "\n" << r.err;
    EXPECT_NE(r.err.find("archetype train: " + message), std::string::npos) << args << "\n"
                                                                            << r.err;
    EXPECT_EQ(r.err.find("epoch 1/"), std::string::npos) << args << ": it trained\n" << r.err;
  }
}

// --new-head and export --classes: a zoo model's classifier for the data's classes, trained
// and exported with the same head.
TEST(Cli, ANewHeadTrainsSavesAndExportsWithTheDatasClasses) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("archetype_cli_new_head_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const Result t = run("train lenet5 --data synthetic --new-head --epochs 1 --max-steps 3 --save " +
                       (dir / "l5.params").string());
  EXPECT_EQ(t.rc, 0) << t.err;
  EXPECT_NE(t.out.find("new head: fc3 now has 10 outputs"), std::string::npos) << t.out;
  // A second stage from the first's file loads its new head too: nothing newly initialised.
  const Result again =
      run("train lenet5 --data synthetic --new-head --epochs 1 --max-steps 1 --init " +
          (dir / "l5.params").string());
  EXPECT_EQ(again.rc, 0) << again.err;
  EXPECT_NE(again.err.find("loaded 10 tensors"), std::string::npos) << again.err;
  EXPECT_EQ(again.err.find("newly initialised"), std::string::npos) << again.err;
  const Result e = run("export lenet5 --weights " + (dir / "l5.params").string() +
                       " --classes 10 --onnx " + (dir / "l5.onnx").string());
  EXPECT_EQ(e.rc, 0) << e.err;
  const Result five =
      run("export lenet5 --init-seed 1 --classes 5 --onnx " + (dir / "l5x5.onnx").string());
  EXPECT_EQ(five.rc, 0) << five.err;
  EXPECT_NE(five.out.find("output 'logits' float batchx5"), std::string::npos) << five.out;
  // Weights of a 10-class head do not fit a 5-class one: the error names the layer.
  const Result mismatch = run("export lenet5 --weights " + (dir / "l5.params").string() +
                              " --classes 5 --onnx " + (dir / "bad.onnx").string());
  EXPECT_EQ(mismatch.rc, 1);
  EXPECT_NE(mismatch.err.find("fc3.weight"), std::string::npos) << mismatch.err;
  std::filesystem::remove_all(dir);
}

TEST(Cli, TrainsOnAnImageFolder) {
  namespace fs = std::filesystem;
  using namespace archetype::test;
  const fs::path root =
      fs::temp_directory_path() / ("archetype_cli_folder_" + std::to_string(::getpid()));
  fs::remove_all(root);
  // Two classes of JPEG and PNG files of varied sizes; one truncated JPEG.
  for (const auto& [name, level] : {std::pair{"bee", 40}, std::pair{"ant", 200}}) {
    for (int i = 0; i < 6; ++i) {
      const int w = 20 + 3 * i, h = 16 + i;
      Bytes p;
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
          for (int c = 0; c < 3; ++c)
            p.push_back(static_cast<unsigned char>(c == 0 ? level : (x + y) * 4));
      const fs::path dir = root / (i < 4 ? "train" : "val") / name;
      if (i % 2 == 0) {
        write_file(dir / (std::to_string(i) + ".jpg"), jpeg_bytes(w, h, 3, p));
      } else {
        write_file(dir / (std::to_string(i) + ".png"), png_bytes(w, h, PNG_COLOR_TYPE_RGB, 8, p));
      }
    }
  }
  const Bytes whole = jpeg_bytes(32, 32, 3, solid(32, 32, {9, 9, 9}));
  write_file(root / "train" / "ant" / "broken.jpg", Bytes(whole.begin(), whole.begin() + 300));
  const std::string common = "train lenet5 --data folder:" + root.string() +
                             " --epochs 1 --batch 2 --max-steps 3 --threads 1 --decode-threads 2";

  const Result r = run(common + " --save " + (root / "out.params").string());
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("classes (label order, from " + (root / "train").string() + "): ant, bee"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("augment resized-crop+flip"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("images decoded to 1x32x32"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("skipped " + (root / "train" / "ant" / "broken.jpg").string() +
                       ": not a readable JPEG"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.out.find("unreadable image files skipped: 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("training steps waited "), std::string::npos) << r.out;
  std::ifstream classes(root / "out.params.classes.txt");
  std::stringstream text;
  text << classes.rdbuf();
  EXPECT_EQ(text.str(), "ant\nbee\n");

  const Result strict = run(common + " --strict");
  EXPECT_EQ(strict.rc, 1);
  EXPECT_NE(
      strict.err.find((root / "train" / "ant" / "broken.jpg").string() + ": not a readable JPEG"),
      std::string::npos)
      << strict.err;
  EXPECT_EQ(strict.out.find("final test accuracy"), std::string::npos) << strict.out;

  // archetype bench measures the decoding rate of the same training batches.
  const Result bench =
      run("bench lenet5 --mode train --steps 1 --min-time 0 --batch 2 --threads 1 --json "
          "--decode-threads 2 --decode " +
          root.string());
  ASSERT_EQ(bench.rc, 0) << bench.err;
  const auto row = nlohmann::json::parse(bench.out);
  EXPECT_EQ(row["decode_threads"], 2);
  EXPECT_GT(row["decode_img_s"].get<double>(), 0.0);
  fs::remove_all(root);
}

TEST(Cli, TrainRefusesAnUnwritableCheckpointDirectoryFirst) {
  const Result r = run("train lenet5 --data synthetic --checkpoint /proc/archetype-no-such-dir");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("--checkpoint: cannot create the directory /proc/archetype-no-such-dir"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("epoch 1/"), std::string::npos) << "it trained first:\n" << r.err;
}

TEST(Cli, UnknownModelSuggestsCloseNamesForEveryCommand) {
  for (const std::string command : {"describe", "train", "bench"}) {
    const Result r = run(command + " mobilenetv2");
    EXPECT_EQ(r.rc, 2) << command;
    EXPECT_NE(r.err.find("unknown model 'mobilenetv2'. Did you mean: mobilenet_v2?"),
              std::string::npos)
        << command << "\n"
        << r.err;
  }
  const Result far = run("describe xyz");
  EXPECT_EQ(far.rc, 2);
  EXPECT_EQ(far.err.find("Did you mean"), std::string::npos) << "nothing is close to xyz:\n"
                                                             << far.err;
}

// --device: cpu or cuda; cuda trains where the CUDA backend is built and a GPU is there, and
// otherwise stops before loading anything, saying why. TF32 is a GPU option; bf16 is both's.
TEST(Cli, TrainDeviceCudaTrainsOrSaysWhyNot) {
  const Result bad = run("train lenet5 --data synthetic --device gpu");
  EXPECT_EQ(bad.rc, 2);
  EXPECT_NE(bad.err.find("--device"), std::string::npos) << bad.err;
  const Result tf32 = run("train lenet5 --data synthetic --tf32 --max-steps 1");
  EXPECT_EQ(tf32.rc, 2);
  EXPECT_NE(tf32.err.find("--tf32 is for --device cuda"), std::string::npos) << tf32.err;
  const Result bf16 =
      run("train lenet5 --data synthetic --device cuda --precision bf16 --epochs 1 --max-steps 3");
  if (bf16.rc == 0) {
    EXPECT_NE(bf16.out.find("cuDNN on the GPU, bf16"), std::string::npos) << bf16.out;
  } else {
    EXPECT_EQ(bf16.rc, 1) << bf16.err;
    EXPECT_NE(bf16.err.find("archetype train: --device cuda: "), std::string::npos) << bf16.err;
  }
  const Result cuda = run("train lenet5 --data synthetic --device cuda --epochs 1 --max-steps 3");
  if (cuda.rc == 0) {
    EXPECT_NE(cuda.out.find("cuDNN on the GPU"), std::string::npos) << cuda.out;
    EXPECT_NE(cuda.out.find("final test accuracy"), std::string::npos) << cuda.out;
  } else {
    EXPECT_EQ(cuda.rc, 1) << cuda.err;
    EXPECT_NE(cuda.err.find("archetype train: --device cuda: "), std::string::npos) << cuda.err;
    EXPECT_EQ(cuda.out.find("training on"), std::string::npos)
        << "stopped before loading the data: " << cuda.out;
  }
  // Studies: the training ones may run on a GPU; the cost and lineage ones measure oneDNN.
  const Result lineage =
      run("experiment lineage --quick --device cuda --out /tmp/archetype-cli-lineage-cuda");
  EXPECT_NE(lineage.rc, 0);
  EXPECT_NE(lineage.err.find("only the training studies run on a GPU"), std::string::npos)
      << lineage.err;
}

// The cuDNN backend is a plug-in opened only for --device cuda (backends/cudnn/src/plugin.hpp):
// a CPU run loads no CUDA library (the dynamic loader's own log says what it loads), and a
// missing plug-in is named, with where it was looked for.
TEST(Cli, CpuRunsLoadNoCudaLibrary) {
  const Result cpu =
      run("train lenet5 --data synthetic --epochs 1 --max-steps 2", "LD_DEBUG=files");
  ASSERT_EQ(cpu.rc, 0) << cpu.err;
  EXPECT_NE(cpu.err.find("libdnnl"), std::string::npos)
      << "LD_DEBUG shows the libraries loaded: " << cpu.err;
  for (const char* lib : {"libcudart", "libcublas", "libcudnn", "libarchetype_cudnn_plugin"}) {
    EXPECT_EQ(cpu.err.find(lib), std::string::npos) << lib << " was loaded by a CPU run";
  }
  const Result missing = run("train lenet5 --data synthetic --device cuda --epochs 1 --max-steps 1",
                             "ARCHETYPE_CUDNN_PLUGIN=/nonexistent/libarchetype_cudnn_plugin.so");
  EXPECT_EQ(missing.rc, 1) << missing.err;
#if ARCHETYPE_HAVE_CUDA
  EXPECT_NE(missing.err.find("plug-in libarchetype_cudnn_plugin.so was not found; looked for:\n"
                             "  /nonexistent/libarchetype_cudnn_plugin.so"),
            std::string::npos)
      << missing.err;
#else
  EXPECT_NE(missing.err.find("this build has no CUDA backend"), std::string::npos) << missing.err;
#endif
}

TEST(Cli, HelpWorksForEachSubcommand) {
  for (const char* args : {"--help", "list --help", "describe --help"}) {
    const Result r = run(args);
    EXPECT_EQ(r.rc, 0) << args;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << args << r.out;
  }
  EXPECT_NE(run("describe --help").out.find("--batch"), std::string::npos);
}

TEST(Cli, ActivationBytesScaleWithBatch) {
  const nlohmann::json one = run_json("describe resnet20 --json");
  const nlohmann::json many = run_json("describe resnet20 --json --batch 32");
  const auto& a1 = one.at("activation_bytes");
  const auto& a32 = many.at("activation_bytes");
  EXPECT_EQ(a1.at("batch"), 1);
  EXPECT_EQ(a32.at("batch"), 32);
  EXPECT_GT(a1.at("inference_peak").get<std::int64_t>(), 0);
  EXPECT_GT(a1.at("training_saved").get<std::int64_t>(),
            a1.at("inference_peak").get<std::int64_t>());
  EXPECT_EQ(a32.at("inference_peak").get<std::int64_t>(),
            32 * a1.at("inference_peak").get<std::int64_t>());
  EXPECT_EQ(a32.at("training_saved").get<std::int64_t>(),
            32 * a1.at("training_saved").get<std::int64_t>());
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Cli, DocsWritesPagesAndDiagrams) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("archetype_cli_docs_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const Result r = run("docs --out '" + dir.string() + "' lenet5 resnet50");
  ASSERT_EQ(r.rc, 0) << r.err;
  const std::string lenet = read_text(dir / "arch_lenet5.md");
  EXPECT_NE(lenet.find("# LeNet-5 {#arch_lenet5}"), std::string::npos) << lenet;
  EXPECT_NE(lenet.find("| parameters (trainable) | 61,706 | 61,706 ("), std::string::npos);
  EXPECT_NE(lenet.find("lecun-01a.pdf"), std::string::npos);
  EXPECT_NE(lenet.find("\\image html lenet5.svg"), std::string::npos);
  const std::string dot = read_text(dir / "lenet5.dot");
  EXPECT_EQ(dot.rfind("digraph \"lenet5\"", 0), 0u) << dot;
  EXPECT_NE(dot.find("conv1\\nConv 5x5 s1 p0 +bias"), std::string::npos) << dot;
  EXPECT_NE(dot.find("[label=\" 16x5x5\"]"), std::string::npos) << dot;  // shape on an edge
  // ResNet-50 (174 ops): a compact diagram, one node per block, clusters per stage.
  const std::string blocks = read_text(dir / "resnet50_blocks.dot");
  EXPECT_NE(blocks.find("label=\"layer3\""), std::string::npos) << blocks;
  EXPECT_NE(blocks.find("layer3.5\\n"), std::string::npos) << blocks;
  EXPECT_TRUE(std::filesystem::exists(dir / "resnet50.dot"));
  const std::string index = read_text(dir / "architectures.md");
  EXPECT_NE(index.find("href=\"arch_resnet50.html\""), std::string::npos) << index;
  EXPECT_NE(index.find("\\subpage arch_lenet5"), std::string::npos) << index;
  std::filesystem::remove_all(dir);

  EXPECT_EQ(run("docs --out '" + dir.string() + "' resnet5").rc, 2);
  EXPECT_EQ(run("docs").rc, 2);  // --out is required
}

}  // namespace

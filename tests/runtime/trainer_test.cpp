// The trainer on the oneDNN backend: a resumed run continues exactly as an uninterrupted
// one, and LeNet-5 learns Fashion-MNIST.
#include <archetype/architectures/lenet.hpp>
#include <archetype/codegen/new_head.hpp>
#include <archetype/codegen/program.hpp>
#include <archetype/runtime/idx.hpp>
#include <archetype/runtime/parameters_file.hpp>
#include <archetype/runtime/synthetic.hpp>
#include <archetype/runtime/trainer.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace archetype::runtime {
namespace {

namespace fs = std::filesystem;
using LeNet28 = Adapted<architectures::LeNet5, Shape{1, 28, 28}>;

fs::path temp_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("archetype_trainer_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  return dir;
}

TrainOptions small_run(int epochs) {
  TrainOptions o;
  o.epochs = epochs;
  o.batch = 64;
  o.eval_batch = 128;
  o.lr = 0.05;
  o.schedule = "cosine";
  o.seed = 3;
  o.threads = 2;
  return o;
}

// Transfer learning's knobs through train(): frozen layers end where they started, a layer
// unfrozen at epoch 2 moves from then on, and the frozen run says what trains.
TEST(Trainer, FrozenLayersStayAndUnfrozenOnesLearn) {
  const Dataset train_data = make_synthetic({640, {1, 28, 28}, 10, 1, 0.3f});
  const Dataset test_data = make_synthetic({128, {1, 28, 28}, 10, 1, 0.3f});
  const auto program = codegen::program_v<LeNet28>.view();
  std::FILE* sink = std::tmpfile();
  Progress log(sink, false);
  TrainOptions o = small_run(2);
  o.freezing.freeze = {"conv1", "conv2"};
  o.unfreeze_at = {{2, "conv2"}};
  o.lr_groups = {{"fc3", 0.01}};
  const TrainResult frozen = train(program, "lenet5", train_data, test_data, o, log);
  TrainOptions none = small_run(1);
  none.max_steps = 0;
  none.epochs = 1;
  none.lr = 1e-9;  // the initial parameters, as good as untouched: the same seed
  const TrainResult start = train(program, "lenet5", train_data, test_data, none, log);
  const codegen::Op* conv1 = nullptr;
  const codegen::Op* conv2 = nullptr;
  for (const codegen::Op& op : program.ops) {
    if (op.layer.path.view() == "conv1") conv1 = &op;
    if (op.layer.path.view() == "conv2") conv2 = &op;
  }
  ASSERT_TRUE(conv1 != nullptr && conv2 != nullptr);
  const auto block = [](const TrainResult& r, const codegen::Op& op) {
    return std::vector<float>(r.parameters.begin() + op.param_offset,
                              r.parameters.begin() + op.param_offset + op.layer.params);
  };
  // conv1 was frozen throughout: bit for bit its initial values (the lr-1e-9 run moved them
  // by less than a rounding step at most, so compare with a tolerance of one).
  const auto c1 = block(frozen, *conv1);
  const auto c1_start = block(start, *conv1);
  for (std::size_t i = 0; i < c1.size(); ++i) ASSERT_NEAR(c1[i], c1_start[i], 1e-6f) << i;
  double moved = 0;
  const auto c2 = block(frozen, *conv2);
  const auto c2_start = block(start, *conv2);
  for (std::size_t i = 0; i < c2.size(); ++i) moved += std::abs(c2[i] - c2_start[i]);
  EXPECT_GT(moved, 1e-3) << "conv2 trains from epoch 2";
  std::rewind(sink);
  std::string text(4096, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), sink));
  EXPECT_NE(text.find("transfer: 3 of 5 layers train"), std::string::npos) << text;
  EXPECT_NE(text.find("transfer: from epoch 2, 4 of 5 layers train"), std::string::npos) << text;
}

// The cuDNN backend trains every parameter at one rate: each transfer option asks for the CPU
// backend by name, before any data is read (and whether or not a GPU is here).
TEST(Trainer, TheGpuBackendRefusesFreezingWithAReason) {
  const auto program = codegen::program_v<LeNet28>.view();
  const auto refused = [&](TrainOptions o) {
    o.device = Device::cuda;
    try {
      check_transfer(program, o);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what()).find("run on the CPU backend (--device cpu) only") !=
             std::string::npos;
    }
    return false;
  };
  TrainOptions freeze = small_run(2), until = freeze, unfreeze = freeze, rates = freeze,
               statistics = freeze;
  statistics.batch_norm_inference = true;
  freeze.freezing.freeze = {"conv1"};
  until.freezing.freeze_until = "fc3";
  unfreeze.freezing.freeze = {"conv1"};
  unfreeze.unfreeze_at = {{2, "conv1"}};
  rates.lr_groups = {{"fc3", 0.01}};
  EXPECT_TRUE(refused(freeze));
  EXPECT_TRUE(refused(until));
  EXPECT_TRUE(refused(unfreeze));
  EXPECT_TRUE(refused(rates));
  EXPECT_TRUE(refused(statistics));
  TrainOptions plain = small_run(2);
  plain.device = Device::cuda;
  EXPECT_NO_THROW(check_transfer(program, plain));  // nothing to refuse
}

// --new-head through the library: LeNet-5 trained on 10 classes, then fine-tuned on 5 with
// its fc3 resized; --init loads everything but fc3, and the run learns.
TEST(Trainer, ANewHeadLearnsFromTheOldBodysWeights) {
  const auto program = codegen::program_v<LeNet28>.view();
  std::FILE* sink = std::tmpfile();
  Progress log(sink, false);
  const TrainResult ten = train(program, "lenet5", make_synthetic({640, {1, 28, 28}, 10, 1, 0.3f}),
                                make_synthetic({128, {1, 28, 28}, 10, 1, 0.3f}), small_run(4), log);
  const fs::path dir = temp_dir("new_head");
  save_parameters(dir / "ten.params", program, ten.parameters, ten.buffers);

  const codegen::OwnedProgram five = codegen::with_classes(program, 5);
  TrainOptions o = small_run(3);
  o.init_parameters = dir / "ten.params";
  o.init_resized = {five.head};     // the ten-class head does not fit: newly initialised
  o.freezing.freeze_until = "fc3";  // feature extraction: only the new head trains
  const Dataset train5 = make_synthetic({640, {1, 28, 28}, 5, 1, 0.3f});
  const Dataset test5 = make_synthetic({128, {1, 28, 28}, 5, 1, 0.3f});
  const TrainResult r = train(five.view(), "lenet5", train5, test5, o, log);
  ASSERT_EQ(r.parameters.size(), std::size_t(five.view().params));
  // The body is the ten-class run's, untouched (frozen); the head learnt the five classes.
  const codegen::Op& fc3 = five.ops.back();
  EXPECT_TRUE(std::equal(r.parameters.begin(), r.parameters.begin() + fc3.param_offset,
                         ten.parameters.begin()));
  // Chance is 20%; the head alone reaches ~73% in 30 steps on these features.
  EXPECT_GT(r.epochs.back().test_accuracy, 0.5);
  fs::remove_all(dir);
}

TEST(Trainer, ResumedRunContinuesWithTheSameLosses) {
  const Dataset train_data = make_synthetic({640, {1, 28, 28}, 10, 1, 0.3f});
  const Dataset test_data = make_synthetic({128, {1, 28, 28}, 10, 2, 0.3f});
  const auto program = codegen::program_v<LeNet28>.view();
  std::FILE* sink = std::tmpfile();
  Progress quiet(sink, false);

  const TrainResult whole = train(program, "lenet5", train_data, test_data, small_run(3), quiet);
  ASSERT_EQ(whole.epochs.size(), 3u);

  const fs::path dir = temp_dir("resume");
  TrainOptions first = small_run(3);
  first.checkpoint_dir = dir;
  first.metrics = dir / "metrics.csv";
  first.max_steps = 10;  // stops during epoch 2: the checkpoint holds epoch 1
  const TrainResult interrupted = train(program, "lenet5", train_data, test_data, first, quiet);
  ASSERT_TRUE(fs::exists(dir / "checkpoint.bin"));
  ASSERT_TRUE(fs::exists(dir / "metrics.json"));
  const std::vector<EpochMetrics> written = read_metrics(dir / "metrics.csv");
  ASSERT_FALSE(written.empty());
  for (const EpochMetrics& m : written) EXPECT_EQ(m.precision, "f32");  // recorded: a study tells fp32 from bf16 runs
  EXPECT_EQ(interrupted.epochs.front().train_loss, whole.epochs.front().train_loss);

  TrainOptions again = small_run(3);
  again.checkpoint_dir = dir;
  again.metrics = dir / "metrics.csv";
  again.resume = true;
  const TrainResult resumed = train(program, "lenet5", train_data, test_data, again, quiet);
  ASSERT_EQ(resumed.epochs.size(), 3u);  // epoch 1 from the metrics file, 2 and 3 run again
  for (std::size_t e = 0; e < 3; ++e) {
    EXPECT_EQ(resumed.epochs[e].train_loss, whole.epochs[e].train_loss) << "epoch " << e + 1;
    EXPECT_EQ(resumed.epochs[e].test_loss, whole.epochs[e].test_loss) << "epoch " << e + 1;
  }
  EXPECT_EQ(resumed.parameters, whole.parameters);
  EXPECT_EQ(resumed.steps, whole.steps);
  fs::remove_all(dir);
  std::fclose(sink);
}

// The epoch line's images/s counts the training steps only, as the metrics do, not the
// evaluation after them: a 20 ms "step" and a 500 ms "evaluation" give a rate well above
// images / (the whole epoch's wall time).
TEST(Progress, EpochRateLeavesOutTheEvaluation) {
  std::FILE* sink = std::tmpfile();
  ASSERT_NE(sink, nullptr);
  Progress progress(sink, false);
  const auto start = std::chrono::steady_clock::now();
  progress.begin_epoch(1, 1, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  progress.step(1, 1.0, 0.5, 1000);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  progress.end_epoch(1.0, 0.5, 1.0, 0.5, 0.1);
  const double whole = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::rewind(sink);
  char line[512] = {};
  ASSERT_NE(std::fgets(line, sizeof line, sink), nullptr);
  std::fclose(sink);
  const std::string text = line;
  const auto at = text.find(" img/s");
  ASSERT_NE(at, std::string::npos) << text;
  const double rate = std::stod(text.substr(text.rfind(' ', at - 1) + 1));
  EXPECT_GT(rate, 2.0 * 1000 / whole) << text;  // the whole epoch's rate would be about 1000 / 0.52
}

// Written to a log (not a terminal), a long epoch says where it is: one plain line per
// `log_every` within the epoch, none for its last step (the summary line follows), and
// none at all when the epoch is shorter than `log_every`.
TEST(Progress, LogsProgressLinesWithinALongEpochWhenNotATerminal) {
  const auto lines_of = [](std::FILE* sink) {
    std::rewind(sink);
    std::vector<std::string> lines;
    char line[512];
    while (std::fgets(line, sizeof line, sink) != nullptr) lines.emplace_back(line);
    std::fclose(sink);
    return lines;
  };
  std::FILE* sink = std::tmpfile();
  ASSERT_NE(sink, nullptr);
  {
    Progress progress(sink, false, std::chrono::milliseconds(0));
    progress.begin_epoch(2, 5, 4);
    for (long long done = 1; done <= 4; ++done) progress.step(done, 0.5, 0.25, 128 * done);
  }
  const auto lines = lines_of(sink);
  ASSERT_EQ(lines.size(), 3u);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string want = "epoch 2/5  step " + std::to_string(i + 1) + "/4 (" + std::to_string(25 * (i + 1)) + "%)";
    EXPECT_EQ(lines[i].rfind(want, 0), 0u) << lines[i];
    EXPECT_NE(lines[i].find("loss 0.5000  acc 25.00%"), std::string::npos) << lines[i];
    EXPECT_EQ(lines[i].find_first_of("\r\033"), std::string::npos) << lines[i];
  }
  std::FILE* quiet_sink = std::tmpfile();
  ASSERT_NE(quiet_sink, nullptr);
  {
    Progress progress(quiet_sink, false);  // a minute between lines: none in a short epoch
    progress.begin_epoch(1, 1, 4);
    for (long long done = 1; done <= 4; ++done) progress.step(done, 0.5, 0.25, 128 * done);
  }
  EXPECT_TRUE(lines_of(quiet_sink).empty());
}

// TrainOptions::on_gradients sees the gradient block of the first batch (epoch 0) and of
// the last batch of each epoch, and reading it changes nothing in the run.
TEST(Trainer, GradientHookSeesInitialisationAndEachEpochWithoutChangingTheRun) {
  const Dataset train_data = make_synthetic({640, {1, 28, 28}, 10, 1, 0.3f});
  const Dataset test_data = make_synthetic({128, {1, 28, 28}, 10, 2, 0.3f});
  const auto program = codegen::program_v<LeNet28>.view();
  std::FILE* sink = std::tmpfile();
  Progress quiet(sink, false);

  const TrainResult plain = train(program, "lenet5", train_data, test_data, small_run(2), quiet);
  std::vector<int> epochs;
  std::vector<std::vector<float>> samples;
  TrainOptions o = small_run(2);
  o.on_gradients = [&](int epoch, std::span<const float> g) {
    epochs.push_back(epoch);
    samples.emplace_back(g.begin(), g.end());
  };
  const TrainResult hooked = train(program, "lenet5", train_data, test_data, o, quiet);
  EXPECT_EQ(epochs, (std::vector<int>{0, 1, 2}));
  for (const auto& g : samples) {
    ASSERT_EQ(g.size(), std::size_t(program.params));
    double norm = 0;
    for (float x : g) norm += double(x) * double(x);
    EXPECT_TRUE(std::isfinite(norm));
    EXPECT_GT(norm, 0.0);
  }
  EXPECT_NE(samples.front(), samples.back());  // the gradient at init is not the last one
  ASSERT_EQ(hooked.epochs.size(), plain.epochs.size());
  for (std::size_t e = 0; e < plain.epochs.size(); ++e) {
    EXPECT_EQ(hooked.epochs[e].train_loss, plain.epochs[e].train_loss) << "epoch " << e + 1;
  }
  EXPECT_EQ(hooked.parameters, plain.parameters);
  std::fclose(sink);
}

TEST(Trainer, RejectsDataOfTheWrongShape) {
  const Dataset rgb = make_synthetic({64, {3, 32, 32}, 10, 1, 0.3f});
  std::FILE* sink = std::tmpfile();
  Progress quiet(sink, false);
  try {
    (void)train(codegen::program_v<LeNet28>.view(), "lenet5", rgb, rgb, small_run(1), quiet);
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("3x32x32"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("1x28x28"), std::string::npos) << e.what();
  }
  std::fclose(sink);
}

// LeNet-5 on a 10,000-image Fashion-MNIST subset reaches >= 80% test accuracy.
TEST(Trainer, LeNet5LearnsFashionMnist) {
  if (!find_fashion_mnist_dir()) GTEST_SKIP() << "Fashion-MNIST not installed (dataset-fashion-mnist)";
  Dataset train_data = load_fashion_mnist(Split::train).subset(10000);
  Dataset test_data = load_fashion_mnist(Split::test);
  const auto stats = train_data.channel_stats();
  train_data.normalize(stats.mean, stats.stddev);
  test_data.normalize(stats.mean, stats.stddev);
  TrainOptions o;
  o.epochs = 3;
  o.batch = 64;
  o.lr = 0.05;
  o.schedule = "cosine";
  o.seed = 1;
  o.threads = 2;
  Progress progress(stderr, false);
  const TrainResult r = train(codegen::program_v<LeNet28>.view(), "lenet5", train_data, test_data, o, progress);
  ASSERT_EQ(r.epochs.size(), 3u);
  EXPECT_GE(r.epochs.back().test_accuracy, 0.80);
  EXPECT_LT(r.epochs.back().train_loss, r.epochs.front().train_loss);
}

}  // namespace
}  // namespace archetype::runtime

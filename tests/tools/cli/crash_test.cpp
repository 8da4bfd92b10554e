// Crash safety of `archetype train`: the process is killed with SIGKILL at every file event
// of a run (each write, fsync and rename of its checkpoint, parameter and metrics files,
// through kill_shim.so) and at moments in the middle of training steps; after each kill no
// file of the run is half-written, and `--resume` ends with exactly the parameters,
// statistics, optimizer state and per-epoch losses of an uninterrupted run (fixed seed, one
// thread). A file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored) that stops a checkpoint write is
// a clear error, and the previous checkpoint stays as it was.
#include <archetype/architectures/registry.hpp>
#include <archetype/runtime/checkpoint.hpp>
#include <archetype/runtime/metrics.hpp>
#include <archetype/runtime/parameters_file.hpp>

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

namespace archetype {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<char>;

constexpr int kEpochs = 3;

struct Outcome {
  int status = 0;  // as waitpid returns it
  std::string err;
};

struct Launch {
  std::string kill_at;  // ARCHETYPE_KILL_AT for the shim ("" : no shim)
  fs::path kill_count;  // ARCHETYPE_KILL_COUNT
  rlim_t file_size = RLIM_INFINITY;
  int kill_after_ms = -1;  // SIGKILL from outside after this long (-1: never)
};

Launch kill_at_event(long k, const fs::path& count = {}) {
  Launch l;
  l.kill_at = std::to_string(k);
  l.kill_count = count;
  return l;
}

Bytes read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/// `archetype train lenet5` on 256 synthetic images, 3 epochs of 4 steps, checkpoints and
/// metrics in `dir`, one thread.
Outcome train(const fs::path& dir, bool resume, const Launch& launch = {}) {
  const fs::path err = dir.string() + ".stderr";
  std::vector<std::string> args = {ARCHETYPE_CLI_PATH,
                                   "train",
                                   "lenet5",
                                   "--data",
                                   "synthetic",
                                   "--limit-train",
                                   "256",
                                   "--limit-test",
                                   "64",
                                   "--batch",
                                   "64",
                                   "--epochs",
                                   std::to_string(kEpochs),
                                   "--threads",
                                   "1",
                                   "--seed",
                                   "5",
                                   "--checkpoint",
                                   dir.string(),
                                   "--metrics",
                                   (dir / "metrics.csv").string()};
  if (resume) args.push_back("--resume");
  std::fflush(nullptr);  // or the child's freopen would write this process's buffered output
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setenv("OMP_NUM_THREADS", "1", 1);
    if (!launch.kill_at.empty()) {
      ::setenv("LD_PRELOAD", ARCHETYPE_KILL_SHIM, 1);
      ::setenv("ARCHETYPE_KILL_DIR", dir.c_str(), 1);
      ::setenv("ARCHETYPE_KILL_AT", launch.kill_at.c_str(), 1);
      if (!launch.kill_count.empty())
        ::setenv("ARCHETYPE_KILL_COUNT", launch.kill_count.c_str(), 1);
    }
    if (launch.file_size != RLIM_INFINITY) {
      ::signal(SIGXFSZ, SIG_IGN);  // write() then fails with EFBIG instead of killing
      const rlimit limit{launch.file_size, launch.file_size};
      ::setrlimit(RLIMIT_FSIZE, &limit);
    }
    if (!std::freopen("/dev/null", "w", stdout) || !std::freopen(err.c_str(), "w", stderr))
      ::_exit(120);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  Outcome r;
  if (launch.kill_after_ms >= 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(launch.kill_after_ms));
    ::kill(pid, SIGKILL);
  }
  ::waitpid(pid, &r.status, 0);
  const Bytes e = read_bytes(err);
  r.err.assign(e.begin(), e.end());
  fs::remove(err);
  return r;
}

fs::path fresh_dir(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("archetype_crash_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  return dir;
}

const codegen::ProgramView& lenet28() { return find_model("lenet5")->fashion_mnist.program; }

/// Every file of the run that exists is whole: each reader accepts it. (A leftover .tmp is
/// allowed: it is the unfinished copy, never read.)
void expect_whole_files(const fs::path& dir, const std::string& when) {
  if (fs::exists(dir / "checkpoint.bin")) {
    EXPECT_NO_THROW((void)runtime::load_checkpoint(dir / "checkpoint.bin")) << when;
  }
  if (fs::exists(dir / "model.params")) {
    std::vector<float> p(std::size_t(lenet28().params)), b(std::size_t(lenet28().buffers));
    EXPECT_NO_THROW((void)runtime::load_parameters(dir / "model.params", lenet28(), p, b)) << when;
  }
  if (fs::exists(dir / "metrics.json")) {
    EXPECT_NO_THROW((void)runtime::read_metrics(dir / "metrics.csv")) << when;
  }
  if (fs::exists(dir / "metrics.csv")) {
    const Bytes csv = read_bytes(dir / "metrics.csv");
    ASSERT_FALSE(csv.empty()) << when;
    EXPECT_EQ(csv.back(), '\n') << when;
    EXPECT_GE(std::count(csv.begin(), csv.end(), '\n'), 2) << when << ": a header and an epoch";
  }
}

/// The end of an uninterrupted run, for comparison.
struct Final {
  runtime::Checkpoint checkpoint;
  Bytes params;
  std::vector<runtime::EpochMetrics> metrics;
};

Final final_of(const fs::path& dir) {
  return {runtime::load_checkpoint(dir / "checkpoint.bin"), read_bytes(dir / "model.params"),
          runtime::read_metrics(dir / "metrics.csv")};
}

const Final& reference() {
  static const Final f = [] {
    const fs::path dir = fresh_dir("reference");
    const Outcome r = train(dir, false);
    EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) << r.err;
    Final out = final_of(dir);
    fs::remove_all(dir);
    return out;
  }();
  return f;
}

/// Resumes the run in `dir` to its end and compares it with the uninterrupted one.
void expect_resumes_exactly(const fs::path& dir, const std::string& when) {
  const Outcome r = train(dir, true);
  ASSERT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) << when << "\n" << r.err;
  const Final got = final_of(dir);
  const Final& want = reference();
  EXPECT_EQ(got.checkpoint.epochs_done, kEpochs) << when;
  EXPECT_EQ(got.checkpoint.steps_done, want.checkpoint.steps_done) << when;
  EXPECT_EQ(got.checkpoint.params, want.checkpoint.params) << when;
  EXPECT_EQ(got.checkpoint.buffers, want.checkpoint.buffers) << when;
  EXPECT_EQ(got.checkpoint.optimizer_state, want.checkpoint.optimizer_state) << when;
  EXPECT_EQ(got.params, want.params) << when << ": model.params differs";
  ASSERT_EQ(got.metrics.size(), want.metrics.size()) << when;
  for (std::size_t i = 0; i < want.metrics.size(); ++i) {
    EXPECT_EQ(got.metrics[i].epoch, want.metrics[i].epoch) << when;
    EXPECT_EQ(got.metrics[i].train_loss, want.metrics[i].train_loss) << when << ", epoch " << i + 1;
    EXPECT_EQ(got.metrics[i].test_loss, want.metrics[i].test_loss) << when << ", epoch " << i + 1;
  }
}

/// How many file events a whole run has (the shim counts them).
long file_events() {
  static const long events = [] {
    const fs::path dir = fresh_dir("count");
    const fs::path count_file = dir.string() + ".count";
    const Outcome all = train(dir, false, kill_at_event(0, count_file));
    EXPECT_TRUE(WIFEXITED(all.status) && WEXITSTATUS(all.status) == 0) << all.err;
    long n = 0;
    std::ifstream(count_file) >> n;
    fs::remove(count_file);
    fs::remove_all(dir);
    return n;
  }();
  return events;
}

TEST(CrashSafety, KilledAtEveryFileEventResumesExactly) {
  ASSERT_EQ(reference().checkpoint.epochs_done, kEpochs);
  // Per epoch: metrics.csv, metrics.json, model.params, checkpoint.bin, each written,
  // flushed and renamed.
  const long events = file_events();
  ASSERT_GE(events, 12 * kEpochs);
  std::printf("a run of %d epochs has %ld file events: each is a kill point\n", kEpochs, events);
  for (long k = 1; k <= events; ++k) {
    const std::string when =
        "killed at file event " + std::to_string(k) + " of " + std::to_string(events);
    const fs::path dir = fresh_dir("event" + std::to_string(k));
    const Outcome killed = train(dir, false, kill_at_event(k));
    ASSERT_TRUE(WIFSIGNALED(killed.status) && WTERMSIG(killed.status) == SIGKILL) << when << "\n"
                                                                                  << killed.err;
    expect_whole_files(dir, when);
    expect_resumes_exactly(dir, when);
    fs::remove_all(dir);
  }
}

TEST(CrashSafety, KilledDuringTrainingStepsResumesExactly) {
  // SIGKILL from outside at moments spread over the run (most land in steps or evaluation).
  const auto started = std::chrono::steady_clock::now();
  const fs::path probe = fresh_dir("probe");
  ASSERT_TRUE(WIFEXITED(train(probe, false).status));
  const auto whole_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - started)
                            .count();
  fs::remove_all(probe);
  for (int i = 1; i <= 8; ++i) {
    const int after = int(whole_ms * i / 9);
    const std::string when =
        "killed after " + std::to_string(after) + " ms of " + std::to_string(whole_ms);
    const fs::path dir = fresh_dir("time" + std::to_string(i));
    // Repeatedly: a resumed run can be killed too.
    for (int again = 0; again < 2; ++again) {
      Launch l;
      l.kill_after_ms = after;
      (void)train(dir, again > 0, l);
      expect_whole_files(dir, when);
    }
    expect_resumes_exactly(dir, when);
    fs::remove_all(dir);
  }
}

TEST(CrashSafety, FullDiskKeepsThePreviousCheckpoint) {
  const fs::path dir = fresh_dir("full");
  // Epoch 1, by a kill at the first file event of epoch 2; then epoch 2 under a file-size
  // limit between model.params (247,120 bytes) and checkpoint.bin (493,716 bytes), so that
  // the checkpoint's write fails.
  const Outcome first = train(dir, false, kill_at_event(file_events() / kEpochs + 1));
  ASSERT_TRUE(WIFSIGNALED(first.status)) << first.err;
  ASSERT_EQ(runtime::load_checkpoint(dir / "checkpoint.bin").epochs_done, 1);
  const Bytes before = read_bytes(dir / "checkpoint.bin");

  Launch limited;
  limited.file_size = 300'000;
  const Outcome full = train(dir, true, limited);
  ASSERT_TRUE(WIFEXITED(full.status)) << full.err;
  EXPECT_EQ(WEXITSTATUS(full.status), 1) << full.err;
  for (const char* part : {"cannot write the checkpoint", "checkpoint.bin.tmp: write failed after",
                           "File too large", "checkpoint.bin is left as it was"}) {
    EXPECT_NE(full.err.find(part), std::string::npos) << "stderr lacks '" << part << "':\n"
                                                      << full.err;
  }
  EXPECT_EQ(read_bytes(dir / "checkpoint.bin"), before) << "the previous checkpoint changed";
  EXPECT_FALSE(fs::exists(dir / "checkpoint.bin.tmp"));
  expect_whole_files(dir, "after the full disk");
  expect_resumes_exactly(dir, "resumed after the full disk");
  fs::remove_all(dir);
}

TEST(CrashSafety, UnreadableMetricsAreKeptAside) {
  const fs::path dir = fresh_dir("metrics");
  const Outcome first = train(dir, false, kill_at_event(file_events() / kEpochs + 1));
  ASSERT_TRUE(WIFSIGNALED(first.status)) << first.err;
  std::ofstream(dir / "metrics.json", std::ios::trunc) << "{\"epochs\": [{\"epoch\": 1e300}]}";
  const Outcome resumed = train(dir, true);
  ASSERT_TRUE(WIFEXITED(resumed.status) && WEXITSTATUS(resumed.status) == 0) << resumed.err;
  for (const std::string& part :
       {"warning: " + (dir / "metrics.json").string() + ": not a metrics file",
        std::string("epochs[0].epoch: expected an integer"),
        "kept as " + (dir / "metrics.json.unreadable").string()}) {
    EXPECT_NE(resumed.err.find(part), std::string::npos) << "stderr lacks '" << part << "':\n"
                                                         << resumed.err;
  }
  const Bytes kept = read_bytes(dir / "metrics.json.unreadable");
  EXPECT_EQ(std::string(kept.begin(), kept.end()), "{\"epochs\": [{\"epoch\": 1e300}]}");
  const auto metrics = runtime::read_metrics(dir / "metrics.csv");
  ASSERT_EQ(metrics.size(), std::size_t(kEpochs - 1)) << "the epochs after the checkpoint";
  EXPECT_EQ(metrics.front().epoch, 2);
  EXPECT_EQ(runtime::load_checkpoint(dir / "checkpoint.bin").params, reference().checkpoint.params);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace archetype

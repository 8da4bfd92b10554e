#pragma once
/// \file
/// \brief Progress of a training run: a live bar on a terminal (loss, accuracy, images/s,
/// ETA); otherwise (logs, CI) a plain progress line at most once a minute within an epoch,
/// and one summary line per epoch.

#include <chrono>
#include <cstdio>
#include <string>

namespace archetype::runtime {

class Progress {
 public:
  /// `interactive`: redraw a bar in place (default: whether `out` is a terminal). Otherwise
  /// a step prints one plain line (no carriage return, no escape codes) when `log_every` has
  /// passed since the epoch began or since the last such line, so that a long epoch written
  /// to a log file shows where it is; the epoch's last step prints none (its summary follows).
  explicit Progress(std::FILE* out = stderr);
  Progress(std::FILE* out, bool interactive,
           std::chrono::milliseconds log_every = std::chrono::seconds(60));

  void begin_epoch(int epoch, int epochs, long long steps);
  /// After each step: running mean loss and accuracy of the epoch so far.
  void step(long long done, double loss, double accuracy, long long images);
  /// Prints the epoch's summary line (the bar's final state on a terminal): images/s of the
  /// training steps alone (as the metrics count them: from begin_epoch to the last step),
  /// and the epoch's wall time with its evaluation.
  void end_epoch(double train_loss, double train_accuracy, double test_loss, double test_accuracy,
                 double lr);
  /// A line of its own between steps (the bar, if any, is redrawn at the next step).
  void note(const std::string& line);
  [[nodiscard]] bool interactive() const { return interactive_; }

 private:
  std::FILE* out_;
  bool interactive_;
  std::chrono::milliseconds log_every_;
  int epoch_ = 0, epochs_ = 0;
  long long steps_ = 0, images_ = 0;
  std::chrono::steady_clock::time_point start_{}, last_draw_{}, last_step_{};
};

/// `1:02:03` / `2:03` for a duration in seconds.
std::string format_duration(double seconds);

}  // namespace archetype::runtime

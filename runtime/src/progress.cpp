#include <archetype/runtime/progress.hpp>

#include <unistd.h>

#include <algorithm>

namespace archetype::runtime {

std::string format_duration(double seconds) {
  auto s = static_cast<long long>(seconds + 0.5);
  char text[32];
  if (s >= 3600) {
    std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  } else {
    std::snprintf(text, sizeof text, "%lld:%02lld", s / 60, s % 60);
  }
  return text;
}

Progress::Progress(std::FILE* out) : Progress(out, ::isatty(::fileno(out)) != 0) {}
Progress::Progress(std::FILE* out, bool interactive, std::chrono::milliseconds log_every)
    : out_(out), interactive_(interactive), log_every_(log_every) {}

void Progress::begin_epoch(int epoch, int epochs, long long steps) {
  epoch_ = epoch;
  epochs_ = epochs;
  steps_ = steps;
  images_ = 0;
  start_ = last_draw_ = last_step_ = std::chrono::steady_clock::now();
}

void Progress::step(long long done, double loss, double accuracy, long long images) {
  images_ = images;
  const auto now = std::chrono::steady_clock::now();
  last_step_ = now;
  // A bar redraws every 100 ms and at the last step; a log line waits `log_every_` and skips
  // the last step, whose summary line follows.
  const bool draw = interactive_ ? done >= steps_ || now - last_draw_ >= std::chrono::milliseconds(100)
                                 : done < steps_ && now - last_draw_ >= log_every_;
  if (!draw) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? double(images) / elapsed : 0.0;
  const double eta = done > 0 ? elapsed * double(steps_ - done) / double(done) : 0.0;
  if (!interactive_) {
    std::fprintf(out_, "epoch %d/%d  step %lld/%lld (%lld%%)  loss %.4f  acc %5.2f%%  %.0f img/s  ETA %s\n",
                 epoch_, epochs_, done, steps_, steps_ > 0 ? 100 * done / steps_ : 100, loss,
                 100.0 * accuracy, rate, format_duration(eta).c_str());
    std::fflush(out_);
    return;
  }
  constexpr int width = 24;
  const int filled = steps_ > 0 ? int(width * done / steps_) : width;
  char bar[width + 1];
  for (int i = 0; i < width; ++i) bar[i] = i < filled ? '#' : '.';
  bar[width] = '\0';
  std::fprintf(out_, "\r\033[Kepoch %d/%d [%s] %lld/%lld  loss %.4f  acc %5.2f%%  %.0f img/s  ETA %s",
               epoch_, epochs_, bar, done, steps_, loss, 100.0 * accuracy, rate,
               format_duration(eta).c_str());
  std::fflush(out_);
}

void Progress::note(const std::string& line) {
  if (interactive_) std::fprintf(out_, "\r\033[K");
  std::fprintf(out_, "%s\n", line.c_str());
  std::fflush(out_);
  if (interactive_) last_draw_ = {};  // redraw the bar at the next step
}

void Progress::end_epoch(double train_loss, double train_accuracy, double test_loss,
                         double test_accuracy, double lr) {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double training = std::chrono::duration<double>(last_step_ - start_).count();
  const double rate = training > 0 ? double(images_) / training : 0.0;
  if (interactive_) std::fprintf(out_, "\r\033[K");
  std::fprintf(out_,
               "epoch %d/%d  train loss %.4f  acc %5.2f%%  |  test loss %.4f  acc %5.2f%%  |  "
               "lr %.4g  %.0f img/s  %s\n",
               epoch_, epochs_, train_loss, 100.0 * train_accuracy, test_loss, 100.0 * test_accuracy,
               lr, rate, format_duration(elapsed).c_str());
  std::fflush(out_);
}

}  // namespace archetype::runtime

#pragma once
/// \file
/// \brief Learning-rate schedules, evaluated per step: constant, step decay, cosine, each
/// with an optional linear warm-up.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace archetype::runtime {

struct Schedule {
  enum class Kind { constant, step, cosine };
  Kind kind = Kind::cosine;
  double base_lr = 0.1;
  std::int64_t total_steps = 1;      ///< steps of the whole run
  std::int64_t steps_per_epoch = 1;
  std::int64_t warmup_steps = 0;     ///< linear from base_lr / warmup_steps to base_lr
  std::vector<int> milestones;       ///< step decay: epochs at which lr *= gamma
  double gamma = 0.1;

  /// The learning rate of step `step` (0-based, counted over the whole run).
  [[nodiscard]] double lr(std::int64_t step) const;

  /// Parses `constant`, `cosine`, `step` or `step:30,60,90` (milestone epochs, gamma 0.1);
  /// throws std::invalid_argument with a sentence otherwise.
  static Kind parse(std::string_view text, std::vector<int>& milestones);
  [[nodiscard]] std::string describe() const;
};

}  // namespace archetype::runtime

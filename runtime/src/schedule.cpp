#include <archetype/runtime/schedule.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numbers>
#include <stdexcept>

namespace archetype::runtime {

double Schedule::lr(std::int64_t step) const {
  if (warmup_steps > 0 && step < warmup_steps) {
    return base_lr * double(step + 1) / double(warmup_steps);
  }
  switch (kind) {
    case Kind::constant:
      return base_lr;
    case Kind::step: {
      const std::int64_t epoch = step / std::max<std::int64_t>(1, steps_per_epoch);
      double lr = base_lr;
      for (int m : milestones) {
        if (epoch >= m) lr *= gamma;
      }
      return lr;
    }
    case Kind::cosine: {
      // Cosine annealing to 0 over the steps after the warm-up (per step, not per epoch).
      const auto span = double(std::max<std::int64_t>(1, total_steps - warmup_steps));
      const double t = std::clamp(double(step - warmup_steps) / span, 0.0, 1.0);
      return 0.5 * base_lr * (1.0 + std::cos(std::numbers::pi * t));
    }
  }
  return base_lr;
}

Schedule::Kind Schedule::parse(std::string_view text, std::vector<int>& milestones) {
  milestones.clear();
  if (text == "constant") return Kind::constant;
  if (text == "cosine") return Kind::cosine;
  if (text == "step" || text.starts_with("step:")) {
    if (text == "step") return Kind::step;
    std::string_view list = text.substr(5);
    while (!list.empty()) {
      auto comma = list.find(',');
      std::string_view item = list.substr(0, comma);
      int value = 0;
      auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
      if (ec != std::errc{} || end != item.data() + item.size() || value <= 0) {
        throw std::invalid_argument("schedule '" + std::string(text) +
                                    "': milestones must be positive epoch numbers, as in step:30,60");
      }
      milestones.push_back(value);
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
    return Kind::step;
  }
  throw std::invalid_argument("unknown schedule '" + std::string(text) +
                              "': use constant, cosine, step or step:E1,E2,...");
}

std::string Schedule::describe() const {
  std::string text;
  switch (kind) {
    case Kind::constant: text = "constant"; break;
    case Kind::cosine: text = "cosine"; break;
    case Kind::step: {
      text = "step at epochs";
      for (int m : milestones) text += " " + std::to_string(m);
      text += " (x" + std::to_string(gamma).substr(0, 4) + ")";
      break;
    }
  }
  if (warmup_steps > 0) text += ", linear warm-up " + std::to_string(warmup_steps) + " steps";
  return text;
}

}  // namespace archetype::runtime

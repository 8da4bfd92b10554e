#pragma once
/// \file
/// \brief Which parameter groups train, from layer paths: the `trainable` mask of
/// `PlanOptions` and the per-group learning rates of `OptimizerSpec`, decided once here for
/// every backend and every front end (`archetype train --freeze ...`, the library).
///
/// A prefix names a layer and everything inside it, at path-component boundaries: `layer1`
/// is `layer1`, `layer1.0.conv1`, ... but not `layer10`. A group is one op with parameters
/// (`TrainingPlan::groups`, state_dict order).
/// - `freeze`: the groups under any of these prefixes are frozen;
/// - `Frozen<Part>` in the type: its groups are frozen (`LayerRow::frozen`);
/// - `freeze_until`: every group before the first op under this path is frozen (Keras's
///   `for layer in model.layers[:k]: layer.trainable = False`): that layer and what follows
///   train;
/// - a BatchNorm whose group is frozen normalises with its running statistics and leaves them
///   unchanged, as in inference (Keras's behaviour for a frozen BatchNormalization;
///   `TrainingPlan::batch_statistics`).
/// A prefix that names no layer is an error that lists the closest paths.

#include <archetype/codegen/backend.hpp>
#include <archetype/codegen/program.hpp>
#include <archetype/dsl/detail/edit_distance.hpp>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace archetype::codegen {

struct Freezing {
  std::vector<std::string> freeze;  ///< layer path prefixes to freeze
  std::string freeze_until;         ///< freeze every layer before this one ("": none)
  [[nodiscard]] bool any() const { return !freeze.empty() || !freeze_until.empty(); }
};

/// Whether `path` is `prefix` or lies inside it (`prefix.` ...).
[[nodiscard]] inline bool under(std::string_view path, std::string_view prefix) {
  if (prefix.empty()) return true;
  return path.starts_with(prefix) && (path.size() == prefix.size() || path[prefix.size()] == '.');
}

/// The first op under `prefix`; throws std::invalid_argument starting with `flag` and naming
/// the closest paths when no layer is under it.
inline std::size_t first_under(const ProgramView& program, std::string_view prefix,
                               std::string_view flag) {
  for (std::size_t o = 0; o < program.ops.size(); ++o) {
    if (under(program.ops[o].layer.path.view(), prefix)) return o;
  }
  std::vector<std::pair<std::size_t, std::string>> near;
  for (const Op& op : program.ops) {
    const std::string path(op.layer.path.view());
    if (path.empty()) continue;
    // The path cut to the prefix's depth: "layer5" is compared with "layer4", not with
    // "layer4.0.conv1".
    const auto depth = std::count(prefix.begin(), prefix.end(), '.') + 1;
    std::size_t cut = 0;
    for (std::int64_t seen = 0; cut < path.size(); ++cut) {
      if (path[cut] == '.' && ++seen == depth) break;
    }
    const std::string head = path.substr(0, cut);
    if (std::none_of(near.begin(), near.end(), [&](const auto& n) { return n.second == head; }))
      near.emplace_back(archetype::detail::edit_distance(head, prefix), head);
  }
  std::sort(near.begin(), near.end());
  std::string list;
  for (std::size_t i = 0; i < near.size() && i < 3; ++i) list += (i ? ", " : "") + near[i].second;
  throw std::invalid_argument(std::string(flag) + " " + std::string(prefix) +
                              ": no layer has this path" +
                              (list.empty() ? std::string() : " (closest: " + list + ")"));
}

/// Per op with parameters (state_dict order, `TrainingPlan::groups`): whether it trains.
/// Throws std::invalid_argument for a prefix that names no layer, or when nothing would train.
[[nodiscard]] inline std::vector<bool> trainable_mask(const ProgramView& program,
                                                      const Freezing& freezing) {
  std::vector<bool> mask;
  std::size_t until = 0;
  if (!freezing.freeze_until.empty())
    until = first_under(program, freezing.freeze_until, "--freeze-until");
  for (const std::string& prefix : freezing.freeze) (void)first_under(program, prefix, "--freeze");
  for (std::size_t o = 0; o < program.ops.size(); ++o) {
    const Op& op = program.ops[o];
    if (op.layer.params == 0) continue;
    const std::string_view path = op.layer.path.view();
    const bool frozen = op.layer.frozen || o < until ||
                        std::any_of(freezing.freeze.begin(), freezing.freeze.end(),
                                    [&](const std::string& p) { return under(path, p); });
    mask.push_back(!frozen);
  }
  if (!mask.empty() && std::none_of(mask.begin(), mask.end(), [](bool t) { return t; })) {
    throw std::invalid_argument("--freeze/--freeze-until: every parameter would be frozen");
  }
  return mask;
}

/// A learning-rate factor for the groups under a prefix (`--lr-group PREFIX=LR`: factor LR /
/// the base learning rate, so that the schedule scales every group alike).
struct LearningRateGroup {
  std::string prefix;
  double factor = 1.0;
};

/// The parameter block's runs and their learning-rate factors, frozen groups left out: what
/// `OptimizerSpec::ranges` holds. Adjacent groups of one factor are merged. The last matching
/// `LearningRateGroup` wins.
[[nodiscard]] inline std::vector<ParameterRange> optimizer_ranges(
    const ProgramView& program, const std::vector<bool>& trainable,
    const std::vector<LearningRateGroup>& groups) {
  for (const LearningRateGroup& g : groups) (void)first_under(program, g.prefix, "--lr-group");
  std::vector<ParameterRange> ranges;
  std::size_t k = 0;
  for (const Op& op : program.ops) {
    if (op.layer.params == 0) continue;
    const bool trains = trainable.empty() || trainable[k];
    ++k;
    if (!trains) continue;
    double factor = 1.0;
    for (const LearningRateGroup& g : groups) {
      if (under(op.layer.path.view(), g.prefix)) factor = g.factor;
    }
    if (!ranges.empty() && ranges.back().factor == factor &&
        ranges.back().offset + ranges.back().size == op.param_offset) {
      ranges.back().size += op.layer.params;
    } else {
      ranges.push_back(ParameterRange{op.param_offset, op.layer.params, factor});
    }
  }
  return ranges;
}

}  // namespace archetype::codegen

#pragma once
/// \file
/// \brief The five studies of `experiments/` by name, for `archetype experiment NAME`
/// (library `archetype_studies`). Their models' programs come from the registry, which
/// has compiled every model of the zoo already; only the small probes of
/// `computational_cost` are compiled here.

#include <archetype/experiments/study.hpp>

#include <span>
#include <string_view>
#include <vector>

namespace archetype::experiments {

struct StudyEntry {
  std::string_view name;
  std::string_view title;
  std::string_view header;  ///< where it is declared, e.g. "experiments/resnet_vs_vgg.hpp"
  StudySpec (*spec)();
  /// The programs of the study's models, in the order of its labels.
  std::vector<ModelPrograms> (*programs)();
};

/// resnet_vs_vgg, depth_analysis, skip_connections, computational_cost, lineage, transfer.
[[nodiscard]] std::span<const StudyEntry> studies();

/// The study called `name`, or nullptr.
[[nodiscard]] const StudyEntry* find_study(std::string_view name);

}  // namespace archetype::experiments

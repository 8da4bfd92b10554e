// The studies by name: their specs read from the declared types, their models' programs
// from the registry (no network program instantiated here but the cost probes').
#include <archetype/experiments/studies.hpp>

#include "../computational_cost.hpp"
#include "../depth_analysis.hpp"
#include "../lineage.hpp"
#include "../resnet_vs_vgg.hpp"
#include "../skip_connections.hpp"

#include <archetype/architectures/registry.hpp>

#include <stdexcept>

namespace archetype::experiments {

// studies_transfer.cpp: the transfer study's two 71x71 nets are compiled there, apart.
StudySpec transfer_spec();
std::vector<ModelPrograms> transfer_programs();

namespace {

/// The registry's programs of study `E`'s models, by label.
template <StudyType E>
std::vector<ModelPrograms> from_registry() {
  std::vector<ModelPrograms> out;
  if constexpr (requires { E::labels; }) {
    for (std::string_view label : E::labels) {
      const ModelEntry* m = find_model(label);
      if (m == nullptr)
        throw std::logic_error("study " + std::string(E::name) + ": no registry model '" +
                               std::string(label) + "'");
      out.push_back({std::string(label), m->native.program, m->fashion_mnist.program,
                     m->native.params, m->native.macs});
    }
  }
  return out;
}

template <StudyType E>
constexpr StudyEntry entry(std::string_view header, std::vector<ModelPrograms> (*programs)()) {
  return StudyEntry{E::name, E::title, header, &study_spec<E>, programs};
}

const StudyEntry catalog[] = {
    entry<ResNetVsVgg>("experiments/resnet_vs_vgg.hpp", &from_registry<ResNetVsVgg>),
    entry<DepthAnalysis>("experiments/depth_analysis.hpp", &from_registry<DepthAnalysis>),
    entry<SkipConnections>("experiments/skip_connections.hpp", &from_registry<SkipConnections>),
    // Its probes are not models of the zoo: compiled here (four small nets).
    entry<ComputationalCost>("experiments/computational_cost.hpp",
                             &study_programs<ComputationalCost>),
    entry<Lineage>("experiments/lineage.hpp", &from_registry<Lineage>),
    StudyEntry{"transfer",
               "Transfer learning: from scratch, feature extraction, partial and full fine-tuning",
               "experiments/transfer.hpp", &transfer_spec, &transfer_programs},
};

}  // namespace

std::span<const StudyEntry> studies() { return catalog; }

const StudyEntry* find_study(std::string_view name) {
  for (const StudyEntry& s : catalog) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

}  // namespace archetype::experiments

#pragma once
/// \file
/// \brief The model registry: every architecture of the zoo with its compile-time figures
/// (shapes, parameters, MACs, activation memory, receptive field, per-layer table) as
/// plain run-time data, for the command line and other code that must not instantiate the
/// network types itself. Link `Archetype::registry` (target `archetype_registry`).
///
/// The figures follow the conventions of `archetype/dsl/analysis.hpp`: parameters are
/// trainable scalars (BatchNorm gamma and beta included, running statistics are buffers);
/// MACs are the multiply-accumulates of convolutions and linear layers in one forward
/// pass of one image, FLOPs = 2 x MACs; activation memory is counted in fp32 elements per
/// image.

#include <archetype/architectures/published.hpp>
#include <archetype/codegen/program.hpp>
#include <archetype/dsl/analysis.hpp>
#include <archetype/dsl/layer.hpp>
#include <archetype/dsl/shape.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace archetype {

/// The figures of one net: at its native input, or fed with Fashion-MNIST through its
/// input adapter (`Adapted<N, Shape{1, 28, 28}>`).
struct ModelInfo {
  Shape input{};   ///< the data's shape (before the adapter, if any)
  Shape output{};  ///< classes x 1 x 1
  std::int64_t params = 0;   ///< trainable parameters
  std::int64_t buffers = 0;  ///< non-trainable state (BatchNorm running statistics)
  std::int64_t macs = 0;     ///< multiply-accumulates per image, forward
  ReceptiveField receptive_field{};
  std::int64_t inference_peak_elements = 0;  ///< fp32 elements per image
  /// fp32 elements per image the backward pass reads (codegen::Program::training_saved:
  /// the forward values a backend keeps from the forward pass)
  std::int64_t training_saved_elements = 0;
  std::span<const LayerRow> layers;          ///< the per-layer table (static storage)
  codegen::ProgramView program;              ///< what a backend compiles (static storage)

  /// FLOPs per image, forward: 2 x MACs.
  [[nodiscard]] constexpr std::int64_t flops() const { return 2 * macs; }
  /// fp32 activation memory for a batch of `batch` images.
  [[nodiscard]] constexpr ActivationBytes activation_bytes(std::int64_t batch) const {
    return ActivationBytes{inference_peak_elements * batch * 4, training_saved_elements * batch * 4};
  }
};

/// One model of the zoo.
struct ModelEntry {
  /// torchvision's name where torchvision has the model (`resnet50`, `vgg16_bn`,
  /// `alexnet`); otherwise `lenet5`, `resnet20`…`resnet110`, `plain20`…`plain110`,
  /// `resnet18_cifar`, `resnet34_cifar`, `resnet50_cifar`, `plainnet18_cifar`,
  /// `vgg16_cifar`.
  std::string_view name;
  std::string_view title;  ///< e.g. "ResNet-50"
  std::string_view paper;  ///< e.g. "He et al. 2016, Deep residual learning for image recognition"
  int year = 0;
  ModelInfo native;         ///< at the paper's input
  ModelInfo fashion_mnist;  ///< fed 1x28x28 images through the declared input adapter
  std::string_view authors;  ///< the paper's authors, in order
  std::string_view venue;    ///< e.g. "CVPR 2016"
  std::string_view link;     ///< the paper (arXiv, or the publisher's page)
  std::string_view type;     ///< the C++ type, e.g. "archetype::architectures::ResNet50"
  /// The published figures the model's header static_asserts (`published_v`, the same
  /// constants); a figure of 0 was not published.
  architectures::Published published{};
};

/// Where the head of a model starts, from its per-layer table: the first top-level layer
/// (path up to its first '.') whose output has no spatial extent (C x 1 x 1) — the global
/// pooling before the classifier (ResNet's `avgpool`, Xception's `avg_pool`, VGG's
/// `classifier`, LeNet-5's Flatten). The run-time form of `head_start_v` (dsl/transfer.hpp):
/// what `--freeze-until` names for feature extraction and `WithHead` replaces. Empty when no
/// such layer follows a spatial one.
[[nodiscard]] std::string_view head_path(const ModelInfo& info);

/// Every model: the zoo by family (LeNet, AlexNet, VGG, ResNet, CIFAR variants, Inception,
/// ResNet variants, MobileNet and EfficientNet), then by size; then the models added with
/// `register_models`, in the order added. A span from before a `register_models` call is
/// invalid after it.
[[nodiscard]] std::span<const ModelEntry> models();

/// Adds `entries` (made with `model_entry<N>()`, model_entry.hpp) to `models()`: the
/// command line, the benchmarks and the experiments then find them by name like the zoo's.
/// Call it before the first lookup (the first lines of `main`, as `archetype_add_model`'s
/// generated code does). Throws std::invalid_argument when a name is empty, not made of
/// lower-case letters, digits and '_', or already taken (naming the name).
void register_models(std::span<const ModelEntry> entries);

/// The model called `name` (exact match), or nullptr.
[[nodiscard]] const ModelEntry* find_model(std::string_view name);

/// Up to `max` registered names close to `name` (case-insensitive edit distance, with
/// names that contain `name` or start with it ranked as close), best first; empty when
/// nothing is close.
[[nodiscard]] std::vector<std::string_view> close_model_names(std::string_view name,
                                                              std::size_t max = 3);

}  // namespace archetype

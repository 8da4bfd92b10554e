#pragma once
/// \file
/// \brief Compile-time analysis of a `Network`: output shape, parameters, buffers, MACs,
/// activation memory, receptive field and the per-layer table, each a `constexpr` value.
///
/// Conventions (every table and the command line name them):
///   - parameters are trainable scalars (torchvision/Keras: BatchNorm's gamma and beta
///     count, its running statistics are *buffers*);
///   - MACs are the multiply-accumulates of convolutions and linear layers in one forward
///     pass of one image (the figure papers call "FLOPs" for ResNet and VGG);
///     FLOPs = 2 x MACs. Pooling, normalization, activations and sums are not counted;
///   - activation memory is fp32 (4 bytes), per batch of `Batch` images:
///     *inference peak* is the largest total of tensors alive at once when every layer
///     writes a new tensor (except views: Flatten, Dropout, an AdaptiveAvgPool that changes
///     nothing), the input of a Residual or Concat staying alive until its join;
///     *training saved* is what the backward pass reads of the forward values, by the one
///     table in `backward.hpp` (`backward_reads`, views in training: `training_view`), the
///     figure `codegen::program_v<N>.training_saved` and every backend's plan also follow;
///   - the receptive field is that of one output position of the last layer before the
///     first global layer (GlobalAvgPool, Flatten, Linear), in input pixels, per side,
///     the largest over parallel branches; it may exceed the image (ResNet-50: 427). The
///     gate of a `Scale` (squeeze-and-excitation) is global but does not count: the field
///     is that of the scaled path, the net without its gates.

#include <archetype/dsl/backward.hpp>
#include <archetype/dsl/errors.hpp>
#include <archetype/dsl/layer.hpp>
#include <archetype/dsl/net.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace archetype {

/// Receptive field of one output position, in input pixels.
struct ReceptiveField {
  std::int64_t h = 1;
  std::int64_t w = 1;
  constexpr bool operator==(const ReceptiveField&) const = default;
};

/// Activation memory in bytes for a batch (see the conventions above).
struct ActivationBytes {
  std::int64_t inference_peak = 0;
  std::int64_t training_saved = 0;
};

/// Every whole-net figure of the analysis at once (per image).
struct NetTotals {
  std::int64_t params = 0;
  std::int64_t buffers = 0;
  std::int64_t macs = 0;
  std::int64_t inference_peak_elements = 0;  ///< per image, see `ActivationBytes`
  std::int64_t training_saved_elements = 0;  ///< per image
  ReceptiveField receptive_field{};
  std::size_t rows = 0;  ///< rows of the per-layer table
  std::size_t long_paths = 0;  ///< rows whose path did not fit `LayerPath` (must be 0)
  LayerPath first_long_path{};  ///< the first of them, cut at 63 characters
};

namespace detail {

/// The visitor that computes `NetTotals` in one walk.
struct Analyzer {
  struct Rf {
    std::int64_t size_h = 1, size_w = 1, jump_h = 1, jump_w = 1;
    bool frozen = false;
  };
  struct Frame {
    std::int64_t outer_base = 0;
    Rf start{}, best{};
    bool any_frozen = false;
    int block_value = 0;     // the block's input (index into `values`)
    int branch_values[2]{};  // the first two branches' outputs (a Scale reads both)
    int branches = 0;
  };
  static constexpr int max_depth = 64;
  /// Every tensor of the walk, for the saved-for-backward figure.
  struct Value {
    std::int64_t elements = 0;
    bool saved = false;
  };

  NetTotals totals{};
  std::int64_t base = 0;  // elements held alive by enclosing Residual/Concat blocks
  std::int64_t cur = 0;   // elements of the current tensor (0: aliases the block input)
  Rf rf{};
  Frame frames[max_depth]{};
  int depth = 0;
  std::vector<Value> values;
  int cur_value = 0;  // the tensor the next layer reads

  constexpr explicit Analyzer(Shape input) : cur(input.elements()) {
    totals.inference_peak_elements = cur;
    values.push_back(Value{cur, false});
  }

  constexpr void note_path(const LayerPath& path) {
    if (!path.truncated) return;
    if (totals.long_paths == 0) totals.first_long_path = path;
    ++totals.long_paths;
  }
  constexpr void produce(std::int64_t out_elements) {
    totals.inference_peak_elements =
        std::max(totals.inference_peak_elements, base + cur + out_elements);
    cur = out_elements;
  }
  constexpr void save(int v) {
    Value& x = values[std::size_t(v)];
    if (!x.saved) totals.training_saved_elements += x.elements;
    x.saved = true;
  }
  constexpr int new_value(std::int64_t elements) {
    values.push_back(Value{elements, false});
    return int(values.size()) - 1;
  }

  constexpr void leaf(const LayerRow& row) {
    ++totals.rows;
    note_path(row.path);
    totals.params += row.params;
    totals.buffers += row.buffers;
    totals.macs += row.macs;
    if (!row.view) produce(row.out.elements());
    const BackwardReads reads = backward_reads(row.op);
    const int in = cur_value;
    cur_value = training_view(row) ? in : new_value(row.out.elements());
    if (reads.input_for_data || reads.input_for_weights || reads.every_input) save(in);
    if (reads.output) save(cur_value);
    if (rf.frozen) return;
    if (row.global) {
      rf.frozen = true;
      return;
    }
    rf.size_h += (row.kernel_h - 1) * rf.jump_h;
    rf.size_w += (row.kernel_w - 1) * rf.jump_w;
    rf.jump_h *= row.stride_h;
    rf.jump_w *= row.stride_w;
  }
  static constexpr Rf wider(const Rf& a, const Rf& b) {
    return Rf{std::max(a.size_h, b.size_h), std::max(a.size_w, b.size_w),
              std::max(a.jump_h, b.jump_h), std::max(a.jump_w, b.jump_w), a.frozen || b.frozen};
  }
  constexpr void begin_block(Shape) {
    frames[depth] = Frame{base, rf, rf, false, cur_value, {}, 0};
    ++depth;
    base += cur;
    cur = 0;
  }
  constexpr void next_branch() {
    Frame& f = frames[depth - 1];
    base += cur;
    cur = 0;
    f.best = wider(f.best, rf);
    rf = f.start;
    if (f.branches < 2) f.branch_values[f.branches] = cur_value;
    ++f.branches;
    cur_value = f.block_value;
  }
  constexpr void end_block(const LayerRow& join) {
    Frame& f = frames[depth - 1];
    ++totals.rows;
    note_path(join.path);
    totals.inference_peak_elements =
        std::max(totals.inference_peak_elements, base + cur + join.out.elements());
    if (f.branches < 2) f.branch_values[f.branches] = cur_value;
    ++f.branches;
    if (backward_reads(join.op).every_input) {
      for (int b = 0; b < std::min(f.branches, 2); ++b) save(f.branch_values[b]);
    }
    cur_value = new_value(join.out.elements());
    base = f.outer_base;
    cur = join.out.elements();
    // A Scale's gate (global pooling) does not widen the field: it follows the scaled
    // tensor, the first branch (what the net would have without its gates).
    rf = join.op == LayerKind::scale ? f.best : wider(f.best, rf);
    --depth;
  }
};

template <Network N>
consteval NetTotals analyze() {
  if constexpr (!N::valid) {
    return NetTotals{};
  } else {
    Analyzer a{N::input_shape};
    N::walk(a);
    a.totals.receptive_field = ReceptiveField{a.rf.size_h, a.rf.size_w};
    return a.totals;
  }
}

/// The visitor that fills the per-layer table.
struct RowCollector {
  LayerRow* out;
  constexpr void leaf(const LayerRow& row) { *out++ = row; }
  constexpr void begin_block(Shape) {}
  constexpr void next_branch() {}
  constexpr void end_block(const LayerRow& join) { *out++ = join; }
};

}  // namespace detail

/// All whole-net figures of `N` (per image).
template <Network N>
inline constexpr NetTotals totals_v = [] {
  constexpr NetTotals t = detail::analyze<N>();
  if constexpr (t.long_paths != 0) {
    constexpr std::size_t length = t.first_long_path.size + 1;
    constexpr error::at<length> where(t.first_long_path.data);
    static_assert(sizeof(error::PathTooLong<where>) > 0);
  }
  return t;
}();

/// Output shape of one image: `output_shape_v<ResNet50> == Shape{1000, 1, 1}`.
template <Network N>
inline constexpr Shape output_shape_v = N::output_shape;

/// Trainable parameters (BatchNorm gamma and beta included; running statistics not).
template <Network N>
inline constexpr std::int64_t params_v = totals_v<N>.params;

/// Non-trainable state: BatchNorm running mean and variance.
template <Network N>
inline constexpr std::int64_t buffers_v = totals_v<N>.buffers;

/// Multiply-accumulates of one forward pass of one image (convolutions and linear layers).
template <Network N>
inline constexpr std::int64_t macs_v = totals_v<N>.macs;

/// FLOPs of one forward pass of one image: 2 x MACs.
template <Network N>
inline constexpr std::int64_t flops_v = 2 * macs_v<N>;

/// fp32 activation memory at batch `Batch`: inference peak and training saved-for-backward.
template <Network N, std::int64_t Batch>
inline constexpr ActivationBytes activation_bytes_v{
    totals_v<N>.inference_peak_elements * Batch * 4,
    totals_v<N>.training_saved_elements * Batch * 4};

/// Receptive field (per side, input pixels) of the last spatial layer.
template <Network N>
inline constexpr ReceptiveField receptive_field_v = totals_v<N>.receptive_field;

/// The per-layer table: one `LayerRow` per layer and per join (Add, Concat), in execution
/// order (path, kind, attributes, input and output shape, params, buffers, MACs).
template <Network N>
inline constexpr auto layers_v = [] {
  std::array<LayerRow, totals_v<N>.rows> rows{};
  if constexpr (N::valid) {
    detail::RowCollector c{rows.data()};
    N::walk(c);
  }
  return rows;
}();

namespace detail {
/// `Value`, after instantiating `Error` (whose static_assert states a mismatch) from a
/// class of its own: clang marks a class or a lambda in which an error was raised as
/// invalid, and the figure read from it would add two more errors.
template <class Error, bool Value>
struct Reported {
  static_assert(sizeof(Error) > 0);
  static constexpr bool value = Value;
};

template <std::int64_t Computed, std::int64_t Published>
struct ParamsMatch {
  static_assert(Computed == Published,
                "archetype: the parameter count computed from the definition differs from the "
                "published figure (Computed vs Published below)");
};
template <std::int64_t Computed, std::int64_t Published, std::int64_t PerMille>
struct MacsWithin {
  static_assert((Computed > Published ? Computed - Published : Published - Computed) * 1000 <=
                    Published * PerMille,
                "archetype: the MACs computed from the definition are not within the tolerance "
                "(PerMille, in thousandths) of the published figure");
};
}  // namespace detail

/// `static_assert(has_params_v<ResNet50, 25'557'032>)`: on a mismatch the error names the
/// computed and the published figure. A net that already failed a rule passes silently
/// (its first error is the one to read).
template <Network N, std::int64_t Published>
inline constexpr bool has_params_v = [] {
  if constexpr (!N::valid) {
    return true;
  } else {
    return detail::Reported<detail::ParamsMatch<params_v<N>, Published>,
                            params_v<N> == Published>::value;
  }
}();

/// `static_assert(has_macs_near_v<ResNet50, 4'090'000'000>)`: MACs within `PerMille`
/// thousandths (default 10 = 1%) of a published figure.
template <Network N, std::int64_t Published, std::int64_t PerMille = 10>
inline constexpr bool has_macs_near_v = [] {
  if constexpr (!N::valid) {
    return true;
  } else {
    // true even on a mismatch: MacsWithin's error is the one to read.
    return detail::Reported<detail::MacsWithin<macs_v<N>, Published, PerMille>, true>::value;
  }
}();

}  // namespace archetype

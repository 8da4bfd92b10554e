#pragma once
/// \file
/// \brief The parameter file: a net's parameters and BatchNorm statistics in PyTorch
/// `state_dict` order, so weights can be exchanged with PyTorch
/// (`tools/convert_state_dict.py` converts a `.pt` state_dict to this format and back).
///
/// Format (little-endian), version 1:
///   "ARCHPARM" | u32 version | u32 tensor_count |
///   tensor_count x ( u16 name_length | name bytes (UTF-8, e.g. `layer1.0.conv1.weight`) |
///                    u8 ndim | i64 dims[ndim] | f32 values[product of dims] )
/// Tensors in state_dict order: for each op in execution order, Conv/Linear `weight`
/// ([Out, C/G, Kh, Kw] / [Out, In]) then `bias`; BatchNorm `weight` (gamma), `bias` (beta),
/// `running_mean`, `running_var` (PyTorch's `num_batches_tracked` is not stored). Loading
/// goes by name where the file holds every tensor of the model under the model's names (in
/// any order; tensors the model lacks, e.g. the auxiliary heads of a torchvision GoogLeNet
/// state_dict, are ignored with a note), and checks every shape. Otherwise it goes in
/// order and checks the count, every shape and every name's suffix; the layer paths may
/// differ (a PyTorch port may name its layers otherwise): the first such difference is
/// reported as a note, not an error.

#include <archetype/codegen/program.hpp>

#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace archetype::runtime {

struct ParameterFileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// One named tensor of the file, as the program lays it out.
struct ParameterTensor {
  std::string name;
  std::vector<std::int64_t> dims;
  bool buffer = false;          ///< running statistics (in the buffer block)
  std::int64_t offset = 0;      ///< in the parameter or buffer block
  [[nodiscard]] std::int64_t size() const;
};

/// The tensors of `program` in state_dict order.
std::vector<ParameterTensor> state_dict_layout(const codegen::ProgramView& program);

void save_parameters(const std::filesystem::path& path, const codegen::ProgramView& program,
                     std::span<const float> parameters, std::span<const float> buffers);

/// Loads into `parameters` and `buffers`; returns a note (empty if none) about names that
/// differ or tensors that were ignored. Throws ParameterFileError naming the file, the
/// tensor, the byte offset and the problem. A file far larger than any parameter file of
/// `program` can be (four times its largest, which leaves room for a state_dict's extra
/// heads) is refused before it is read; the whole table of tensors is checked against the
/// file's length, and every name, rank and shape against the model, before any value is
/// copied, so nothing is allocated or written from the file's own counts.
std::string load_parameters(const std::filesystem::path& path, const codegen::ProgramView& program,
                            std::span<float> parameters, std::span<float> buffers);

/// What `load_for_transfer` did: tensors loaded, the file's tensors the model lacks
/// (skipped), the model's tensors the file lacks (they keep their initial values).
struct TransferLoad {
  std::vector<std::string> loaded, skipped, initialised;
  bool whole = false;  ///< the file held the whole model: `load_parameters`' note, if any
  std::string note;
  /// "loaded 160 tensors; skipped 2 of the file (fc.weight, fc.bias); 2 newly initialised
  /// (fc.weight, fc.bias)" (a few names each).
  [[nodiscard]] std::string describe() const;
};

/// `--init` for fine-tuning: `load_parameters` when the file holds the whole model; else, by
/// layer path, every tensor of the model the file names (a new head, a net without its
/// head: Keras's include_top=False), the rest left as initialised. Every shape is checked
/// before any value is copied: a tensor whose shape differs is an error naming the layer and
/// both shapes (a head for another number of classes is not silently skipped). A file that
/// names none of the model's tensors is an error, as is any malformed file. The layers under a
/// `fresh` path prefix are never loaded: they keep their initial values, and the file's
/// tensors under it are skipped, whatever their shapes. Those under a `resized` prefix (a new
/// head, `--new-head`) load where the file's shape is theirs (a file saved by a run with the
/// same new head) and keep their initial values where it is not (the original's head).
TransferLoad load_for_transfer(const std::filesystem::path& path,
                               const codegen::ProgramView& program, std::span<float> parameters,
                               std::span<float> buffers, const std::vector<std::string>& fresh = {},
                               const std::vector<std::string>& resized = {});

/// The same checks on a parameter file's bytes; `origin` (the path) starts every message.
std::string parse_parameters(std::span<const unsigned char> bytes, const std::string& origin,
                             const codegen::ProgramView& program, std::span<float> parameters,
                             std::span<float> buffers);

}  // namespace archetype::runtime

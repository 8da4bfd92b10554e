#pragma once
/// \file
/// \brief ONNX export of a Program's inference graph (`archetype export`): one ONNX node
/// (or a few) per op of the program, the parameters as initializers named as in PyTorch's
/// `state_dict`, built with the ONNX library (Debian's libonnx-dev), checked by its checker
/// and its shape inference against the program's own shapes, and written with protobuf.
///
/// The graph is the inference graph: BatchNorm with its running statistics
/// (BatchNormalization, epsilon 1e-5 as the backends use), Dropout and StochasticDepth
/// removed (the identity at inference). Nothing is folded: each layer stays one node, so a
/// deployed file names the layers as `archetype describe` does; runtimes fold BatchNorm
/// into the convolution themselves.
///
/// Graph input `input`: float, `batch x C x H x W` (NCHW), the net's declared input shape.
/// Graph output `logits`: float, `batch x classes` (no softmax). The batch dimension is the
/// symbolic `batch` unless `OnnxOptions::batch` fixes it.
///
/// Link `Archetype::onnx_export` (target `archetype_onnx_export`, built where libonnx-dev
/// and protobuf are found); this header needs neither.

#include <archetype/codegen/program.hpp>

#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace archetype::onnx_export {

/// Name of the graph's input (float, NCHW).
inline constexpr const char* input_name = "input";
/// Name of the graph's output (float, batch x classes, before any softmax).
inline constexpr const char* output_name = "logits";
/// Opsets the exporter writes: 13 (the default) to 17, the newest the ONNX library of
/// Debian 12 (1.12) checks. Every op used has the same semantics across them.
inline constexpr int min_opset = 13;
inline constexpr int max_opset = 17;

struct OnnxOptions {
  int batch = 0;                         ///< 0: the symbolic dimension `batch`; else that batch
  int opset = min_opset;                 ///< ONNX default-domain opset
  double batch_norm_epsilon = 1e-5;      ///< as the backends' Options (PyTorch's default)
  std::string graph_name = "archetype";  ///< the graph's name, e.g. the model's
  std::string doc;                       ///< the model's doc_string (e.g. title and paper)
};

/// A layer the exporter cannot express, a parameter block of the wrong size, or an ONNX
/// check that fails; the message names the op's path and kind.
struct OnnxError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// What was built.
struct OnnxSummary {
  int nodes = 0;                      ///< ONNX nodes in the graph
  int initializers = 0;               ///< weight tensors and constants
  std::int64_t bytes = 0;             ///< serialized size
  std::vector<std::string> op_types;  ///< distinct ONNX op types, sorted
};

/// Builds the ONNX model of `program` (folded or not: the fusion marks are ignored) with
/// `parameters` (program.params floats) and `buffers` (program.buffers floats), runs
/// `onnx::checker::check_model` and strict shape inference (every op's inferred shape must
/// equal the program's), and writes it to `path` (through a temporary file renamed into
/// place; straight into a pipe or device). Throws OnnxError (or std::system_error for the
/// file).
OnnxSummary write_onnx(const std::filesystem::path& path, const codegen::ProgramView& program,
                       std::span<const float> parameters, std::span<const float> buffers,
                       const OnnxOptions& options = {});

/// As write_onnx, without writing: builds and checks the model, returns its summary.
OnnxSummary check_onnx(const codegen::ProgramView& program, std::span<const float> parameters,
                       std::span<const float> buffers, const OnnxOptions& options = {});

}  // namespace archetype::onnx_export

// The ONNX exporter: one function (GraphBuilder::emit) maps each LayerKind of the program
// to ONNX nodes; the model is then checked by the ONNX library and its shapes compared
// with the program's before it is written.
#include <archetype/export/onnx.hpp>
#include <archetype/runtime/parameters_file.hpp>

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <system_error>
#include <unordered_map>

namespace archetype::onnx_export {
namespace {

namespace pb = ::onnx;

static_assert(std::endian::native == std::endian::little,
              "ONNX raw_data is little-endian: the exporter copies floats as they are in memory");

std::string str(const LayerPath& p) { return std::string(p.view()); }

/// "layer3.0.conv1 (Conv)", or "op 12 (Add)" for an op without a path.
std::string describe_op(const codegen::Op& op, int index) {
  const std::string path = str(op.layer.path);
  const std::string kind(op.layer.kind.view());
  return (path.empty() ? "op " + std::to_string(index) : path) + " (" + kind + ")";
}

std::string dims_text(const std::vector<std::int64_t>& dims) {
  std::string s;
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? "x" : "") + std::to_string(dims[i]);
  return s;
}

/// One value of the graph: its name and rank (4: N x C x H x W; 2: N x features, after a
/// Flatten or a Linear, where the program's shape is features x 1 x 1).
struct Value {
  std::string name;
  int rank = 4;
};

class GraphBuilder {
 public:
  GraphBuilder(pb::GraphProto& graph, const codegen::ProgramView& program,
               std::span<const float> parameters, std::span<const float> buffers,
               const OnnxOptions& options)
      : g_(graph),
        program_(program),
        parameters_(parameters),
        buffers_(buffers),
        options_(options) {
    for (const runtime::ParameterTensor& t : runtime::state_dict_layout(program)) {
      state_dict_[{t.buffer, t.offset}] = t;
    }
    values_.resize(program.tensors.size());
  }

  void build() {
    const Shape in = program_.tensors[std::size_t(program_.input)].shape;
    values_[std::size_t(program_.input)] = Value{input_name, 4};
    declare(g_.add_input(), input_name, {in.c, in.h, in.w});
    for (std::size_t k = 0; k < program_.ops.size(); ++k) {
      index_ = int(k);
      emit(program_.ops[k]);
    }
    finish_output();
  }

  /// Expected dims (batch excluded) of every value the program's ops produce, by name.
  [[nodiscard]] const std::vector<std::pair<std::string, int>>& produced() const {
    return produced_;
  }

 private:
  pb::GraphProto& g_;
  const codegen::ProgramView& program_;
  std::span<const float> parameters_, buffers_;
  const OnnxOptions& options_;
  std::map<std::pair<bool, std::int64_t>, runtime::ParameterTensor> state_dict_;
  std::vector<Value> values_;
  std::set<std::string> names_;
  std::set<std::string> constants_;
  std::unordered_map<std::string, std::string> rank4_;  // value -> its Unsqueeze to rank 4
  std::vector<std::pair<std::string, int>> produced_;   // (value name, tensor id)
  int index_ = 0;

  const codegen::Op& op() const { return program_.ops[std::size_t(index_)]; }

  [[noreturn]] void fail(const std::string& problem) const {
    throw OnnxError("onnx export: " + describe_op(op(), index_) + ": " + problem);
  }

  /// A value name not used yet: `base`, else `base#2`, `base#3`, …
  std::string unique(const std::string& base) {
    std::string name = base;
    for (int k = 2; names_.count(name) != 0; ++k) name = base + "#" + std::to_string(k);
    names_.insert(name);
    return name;
  }

  /// The op's own name: its path (`layer1.0.conv1`), or its kind and index.
  std::string op_base() const {
    const std::string path = str(op().layer.path);
    return path.empty() ? std::string(op().layer.kind.view()) + "_" + std::to_string(index_) : path;
  }

  void declare(pb::ValueInfoProto* v, const std::string& name, std::vector<std::int64_t> dims) {
    v->set_name(name);
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(pb::TensorProto::FLOAT);
    auto* shape = t->mutable_shape();
    if (options_.batch > 0) {
      shape->add_dim()->set_dim_value(options_.batch);
    } else {
      shape->add_dim()->set_dim_param("batch");
    }
    for (std::int64_t d : dims) shape->add_dim()->set_dim_value(d);
  }

  /// A node named as its output (values are named uniquely, so are nodes).
  pb::NodeProto& node(const std::string& type, std::vector<std::string> inputs,
                      const std::string& output) {
    pb::NodeProto& n = *g_.add_node();
    n.set_op_type(type);
    n.set_name(output);
    for (const std::string& i : inputs) n.add_input(i);
    n.add_output(output);
    return n;
  }

  static void attr(pb::NodeProto& n, const char* name, std::int64_t value) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(pb::AttributeProto::INT);
    a->set_i(value);
  }
  static void attr(pb::NodeProto& n, const char* name, float value) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(pb::AttributeProto::FLOAT);
    a->set_f(value);
  }
  static void attr(pb::NodeProto& n, const char* name, const char* value) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(pb::AttributeProto::STRING);
    a->set_s(value);
  }
  static void attr(pb::NodeProto& n, const char* name, std::vector<std::int64_t> values) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(pb::AttributeProto::INTS);
    for (std::int64_t v : values) a->add_ints(v);
  }

  void initializer(const std::string& name, const std::vector<std::int64_t>& dims,
                   const float* data, std::int64_t count) {
    pb::TensorProto& t = *g_.add_initializer();
    t.set_name(name);
    t.set_data_type(pb::TensorProto::FLOAT);
    for (std::int64_t d : dims) t.add_dims(d);
    t.set_raw_data(data, std::size_t(count) * sizeof(float));
  }

  /// A shared int64 constant (an initializer), created once.
  std::string constant_i64(const std::string& name, const std::vector<std::int64_t>& values) {
    if (constants_.insert(name).second) {
      names_.insert(name);
      pb::TensorProto& t = *g_.add_initializer();
      t.set_name(name);
      t.set_data_type(pb::TensorProto::INT64);
      t.add_dims(std::int64_t(values.size()));
      for (std::int64_t v : values) t.add_int64_data(v);
    }
    return name;
  }
  /// A shared float scalar constant.
  std::string constant_f32(const std::string& name, float value) {
    if (constants_.insert(name).second) {
      names_.insert(name);
      initializer(name, {}, &value, 1);
    }
    return name;
  }
  /// A float constant of this op (e.g. a pooling matrix).
  std::string op_constant(const std::string& suffix, const std::vector<std::int64_t>& dims,
                          const std::vector<float>& data) {
    const std::string name = unique(op_base() + "/" + suffix);
    initializer(name, dims, data.data(), std::int64_t(data.size()));
    return name;
  }

  /// The op's parameter (or, `buffer`, running statistic) tensor at `offset` past its
  /// first, as an initializer named as in the state_dict.
  std::string weight(bool buffer, std::int64_t offset) {
    const std::int64_t at = (buffer ? op().buffer_offset : op().param_offset) + offset;
    const auto it = state_dict_.find({buffer, at});
    if (it == state_dict_.end())
      fail("no state_dict tensor at " + std::string(buffer ? "buffer" : "parameter") + " offset " +
           std::to_string(at));
    const runtime::ParameterTensor& t = it->second;
    const std::span<const float> block = buffer ? buffers_ : parameters_;
    if (t.offset + t.size() > std::int64_t(block.size()))
      fail(t.name + " lies past the end of the block");
    const std::string name = unique(t.name);
    initializer(name, t.dims, block.data() + t.offset, t.size());
    return name;
  }

  const Value& input(int i = 0) const { return values_[std::size_t(op().inputs[i])]; }

  /// The op's result value, rank `rank`: named after the op, and recorded for the shape check.
  std::string result(int rank) {
    const std::string name = unique(op_base());
    values_[std::size_t(op().output)] = Value{name, rank};
    produced_.emplace_back(name, op().output);
    return name;
  }

  /// The op passes its input through (Dropout, StochasticDepth, identity pooling).
  void pass_through() { values_[std::size_t(op().output)] = input(); }

  /// `v` as N x C x H x W: a rank-2 value (N x C) gets two trailing unit axes.
  std::string as_rank4(const Value& v) {
    if (v.rank == 4) return v.name;
    if (auto it = rank4_.find(v.name); it != rank4_.end()) return it->second;
    const std::string name = unique(v.name + "/nchw");
    node("Unsqueeze", {v.name, constant_i64("axes_2_3", {2, 3})}, name);
    rank4_[v.name] = name;
    return name;
  }
  /// `v` as N x features (Flatten of a rank-4 value).
  std::string as_rank2(const Value& v) {
    if (v.rank == 2) return v.name;
    const std::string name = unique(v.name + "/flat");
    attr(node("Flatten", {v.name}, name), "axis", std::int64_t{1});
    return name;
  }

  void emit(const codegen::Op& o) {
    const LayerRow& L = o.layer;
    switch (L.op) {
      case LayerKind::conv:
        return conv();
      case LayerKind::batch_norm:
        return batch_norm();
      case LayerKind::local_response_norm: {
        const std::string x = as_rank4(input());
        pb::NodeProto& n = node("LRN", {x}, result(4));
        attr(n, "size", std::int64_t{L.lrn_size});
        attr(n, "alpha", float(L.alpha));
        attr(n, "beta", float(L.beta));
        attr(n, "bias", float(L.k));
        return;
      }
      case LayerKind::relu:
        return unary("Relu");
      case LayerKind::sigmoid:
        return unary("Sigmoid");
      case LayerKind::relu6: {
        const Value x = input();
        node("Clip", {x.name, constant_f32("zero", 0.f), constant_f32("six", 6.f)}, result(x.rank));
        return;
      }
      case LayerKind::silu: {  // x * sigmoid(x)
        const Value x = input();
        const std::string s = unique(op_base() + "/sigmoid");
        node("Sigmoid", {x.name}, s);
        node("Mul", {x.name, s}, result(x.rank));
        return;
      }
      case LayerKind::dropout:
      case LayerKind::stochastic_depth:
        return pass_through();  // the identity at inference
      case LayerKind::max_pool:
        return pool("MaxPool");
      case LayerKind::avg_pool:
        return pool("AveragePool");
      case LayerKind::global_avg_pool:
        node("GlobalAveragePool", {as_rank4(input())}, result(4));
        return;
      case LayerKind::adaptive_avg_pool:
        return adaptive_avg_pool();
      case LayerKind::flatten: {
        const Value x = input();
        if (x.rank == 2) return pass_through();
        attr(node("Flatten", {x.name}, result(2)), "axis", std::int64_t{1});
        return;
      }
      case LayerKind::linear: {
        std::vector<std::string> in{as_rank2(input()), weight(false, 0)};
        if (L.bias) in.push_back(weight(false, std::int64_t{L.out.c} * L.in.elements()));
        attr(node("Gemm", in, result(2)), "transB", std::int64_t{1});
        return;
      }
      case LayerKind::zero_pad_shortcut:
        return zero_pad_shortcut();
      case LayerKind::pad_to: {
        const Shape is = L.in, os = L.out;
        const std::int64_t top = (os.h - is.h) / 2, left = (os.w - is.w) / 2;
        const std::int64_t bottom = os.h - is.h - top, right = os.w - is.w - left;
        const std::string pads =
            constant_i64(op_base() + "/pads", {0, 0, top, left, 0, 0, bottom, right});
        node("Pad", {as_rank4(input()), pads}, result(4));
        return;
      }
      case LayerKind::resize:
        return resize();
      case LayerKind::add:
      case LayerKind::concat:
      case LayerKind::scale:
        return join();
    }
    fail("no ONNX mapping for this layer kind");
  }

  void unary(const char* type) {
    const Value x = input();
    node(type, {x.name}, result(x.rank));
  }

  void conv() {
    const LayerRow& L = op().layer;
    std::vector<std::string> in{as_rank4(input()), weight(false, 0)};
    const std::int64_t weights =
        std::int64_t{L.out.c} * (L.in.c / L.groups) * L.kernel_h * L.kernel_w;
    if (L.bias) in.push_back(weight(false, weights));
    pb::NodeProto& n = node("Conv", in, result(4));
    attr(n, "kernel_shape", {L.kernel_h, L.kernel_w});
    attr(n, "strides", {L.stride_h, L.stride_w});
    attr(n, "pads", {L.pad_h, L.pad_w, L.pad_h, L.pad_w});
    attr(n, "dilations", {1, 1});
    attr(n, "group", std::int64_t{L.groups});
  }

  void batch_norm() {
    const std::int64_t c = op().layer.in.c;
    const Value x = input();
    std::vector<std::string> in{x.name, weight(false, 0), weight(false, c), weight(true, 0),
                                weight(true, c)};
    attr(node("BatchNormalization", in, result(x.rank)), "epsilon",
         float(options_.batch_norm_epsilon));
  }

  /// MaxPool / AveragePool with PyTorch's output size: ceil mode becomes extra right padding
  /// (ONNX's floor mode then gives the same size), so no runtime's ceil-mode rule matters.
  /// AveragePool divides by the window clipped to the input plus its padding (PyTorch's
  /// count_include_pad, as the backends): count_include_pad = 1 when no window runs past the
  /// right padding; otherwise the padding becomes a Pad node of zeros and the pooling counts
  /// only what lies inside that padded tensor.
  void pool(const char* type) {
    const LayerRow& L = op().layer;
    const Shape is = L.in, os = L.out;
    auto right = [](int in, int out, int k, int s, int p) {
      return std::max(p, (out - 1) * s + k - in - p);
    };
    const std::int64_t rh = right(is.h, os.h, L.kernel_h, L.stride_h, L.pad_h);
    const std::int64_t rw = right(is.w, os.w, L.kernel_w, L.stride_w, L.pad_w);
    std::string x = as_rank4(input());
    const bool average = std::strcmp(type, "AveragePool") == 0;
    const bool past_padding = rh > L.pad_h || rw > L.pad_w;
    std::vector<std::int64_t> pads{L.pad_h, L.pad_w, rh, rw};
    if (average && past_padding && (L.pad_h > 0 || L.pad_w > 0)) {
      const std::string padded = unique(op_base() + "/pad");
      const std::string p =
          constant_i64(padded + "s", {0, 0, L.pad_h, L.pad_w, 0, 0, L.pad_h, L.pad_w});
      node("Pad", {x, p}, padded);
      x = padded;
      pads = {0, 0, rh - L.pad_h, rw - L.pad_w};
    }
    pb::NodeProto& n = node(type, {x}, result(4));
    attr(n, "kernel_shape", {L.kernel_h, L.kernel_w});
    attr(n, "strides", {L.stride_h, L.stride_w});
    attr(n, "pads", pads);
    if (average) attr(n, "count_include_pad", std::int64_t{past_padding ? 0 : 1});
  }

  /// PyTorch's adaptive_avg_pool2d: the identity, GlobalAveragePool, an AveragePool for
  /// uniform bins, or else (bins of different sizes, [floor(i in / out), ceil((i+1) in / out)))
  /// a product with the constant HW x OH*OW averaging matrix.
  void adaptive_avg_pool() {
    const Shape is = op().layer.in, os = op().layer.out;
    const Value v = input();
    if (is.h == os.h && is.w == os.w) return pass_through();
    const std::string x = as_rank4(v);
    if (os.h == 1 && os.w == 1) {
      node("GlobalAveragePool", {x}, result(4));
    } else if (is.h % os.h == 0 && is.w % os.w == 0) {
      const std::int64_t kh = is.h / os.h, kw = is.w / os.w;
      pb::NodeProto& n = node("AveragePool", {x}, result(4));
      attr(n, "kernel_shape", {kh, kw});
      attr(n, "strides", {kh, kw});
    } else {
      const std::int64_t hw = std::int64_t{is.h} * is.w, ohw = std::int64_t{os.h} * os.w;
      std::vector<float> m(std::size_t(hw * ohw), 0.f);
      auto lo = [](int i, int in, int out) { return (i * in) / out; };
      auto hi = [](int i, int in, int out) { return ((i + 1) * in + out - 1) / out; };
      for (int oh = 0; oh < os.h; ++oh) {
        for (int ow = 0; ow < os.w; ++ow) {
          const int h0 = lo(oh, is.h, os.h), h1 = hi(oh, is.h, os.h);
          const int w0 = lo(ow, is.w, os.w), w1 = hi(ow, is.w, os.w);
          const float share = 1.f / float((h1 - h0) * (w1 - w0));
          for (int i = h0; i < h1; ++i) {
            for (int j = w0; j < w1; ++j)
              m[std::size_t((i * is.w + j) * ohw + oh * os.w + ow)] = share;
          }
        }
      }
      const std::string flat = unique(op_base() + "/flat");
      node("Reshape", {x, constant_i64(op_base() + "/flat_shape", {0, is.c, hw})}, flat);
      const std::string pooled = unique(op_base() + "/matmul");
      node("MatMul", {flat, op_constant("bins", {hw, ohw}, m)}, pooled);
      node("Reshape", {pooled, constant_i64(op_base() + "/shape", {0, os.c, os.h, os.w})},
           result(4));
    }
  }

  /// Option A: x[:, :, ::s, ::s] padded with (Out - C) / 2 zero channels on each side.
  void zero_pad_shortcut() {
    const LayerRow& L = op().layer;
    std::string x = as_rank4(input());
    const std::int64_t pad = (L.out.c - L.in.c) / 2;
    if (L.stride_h > 1 || L.stride_w > 1) {
      const std::string sliced = pad > 0 ? unique(op_base() + "/subsample") : result(4);
      const std::int64_t end = std::numeric_limits<std::int64_t>::max();
      node("Slice",
           {x, constant_i64("zeros_2", {0, 0}), constant_i64("ends_max_2", {end, end}),
            constant_i64("axes_2_3", {2, 3}),
            constant_i64("steps_" + std::to_string(L.stride_h) + "_" + std::to_string(L.stride_w),
                         {L.stride_h, L.stride_w})},
           sliced);
      if (pad == 0) return;
      x = sliced;
    } else if (pad == 0) {
      return pass_through();
    }
    const std::string pads =
        constant_i64("channel_pads_" + std::to_string(pad), {0, pad, 0, 0, 0, pad, 0, 0});
    node("Pad", {x, pads}, result(4));
  }

  /// Bilinear, align_corners = false (F.interpolate, oneDNN's resampling_linear), to the
  /// program's size: the sizes input is [N, C, H, W], N read from the input's shape when
  /// the batch is symbolic.
  void resize() {
    const Shape os = op().layer.out;
    const std::string x = as_rank4(input());
    std::string sizes;
    if (options_.batch > 0) {
      sizes = constant_i64(op_base() + "/sizes", {options_.batch, os.c, os.h, os.w});
    } else {
      const std::string shape = unique(op_base() + "/shape");
      node("Shape", {x}, shape);
      const std::string nc = unique(op_base() + "/nc");
      node("Slice",
           {shape, constant_i64("zero_1", {0}), constant_i64("two_1", {2}),
            constant_i64("zero_1", {0})},
           nc);
      sizes = unique(op_base() + "/sizes");
      attr(node("Concat", {nc, constant_i64(op_base() + "/hw", {os.h, os.w})}, sizes), "axis",
           std::int64_t{0});
    }
    const std::string y = result(4);
    pb::NodeProto& n = node("Resize", {x, "", "", sizes}, y);
    // ONNX 1.12's shape inference does not follow the sizes through Shape and Slice: the
    // output's shape is declared (inference still checks what follows against it).
    if (options_.batch == 0) declare(g_.add_value_info(), y, {os.c, os.h, os.w});
    attr(n, "mode", "linear");
    // pytorch_half_pixel: x_in = (x_out + 0.5) / scale - 0.5, as align_corners = false.
    attr(n, "coordinate_transformation_mode", "pytorch_half_pixel");
  }

  /// Add (Sum beyond two), Concat along the channels, Scale (x times its C x 1 x 1 gate).
  void join() {
    const codegen::Op& o = op();
    bool any4 = false;
    for (int i = 0; i < o.input_count; ++i) any4 = any4 || input(i).rank == 4;
    std::vector<std::string> in;
    for (int i = 0; i < o.input_count; ++i) in.push_back(any4 ? as_rank4(input(i)) : input(i).name);
    const int rank = any4 ? 4 : 2;
    switch (o.layer.op) {
      case LayerKind::add:
        node(o.input_count == 2 ? "Add" : "Sum", in, result(rank));
        return;
      case LayerKind::concat:
        attr(node("Concat", in, result(rank)), "axis", std::int64_t{1});
        return;
      case LayerKind::scale:
        if (o.input_count != 2)
          fail("Scale reads " + std::to_string(o.input_count) + " tensors, expected 2");
        node("Mul", in, result(rank));  // broadcast: N x C x H x W times N x C x 1 x 1
        return;
      default:
        fail("not a join");
    }
  }

  /// The graph output `logits` (N x classes): the last node's output renamed, or a
  /// Flatten (rank 4) or Identity (a pass-through to the input) to it.
  void finish_output() {
    const Shape out = program_.tensors[std::size_t(program_.output)].shape;
    const Value v = values_[std::size_t(program_.output)];
    const bool produced_by_node = v.name != input_name && g_.node_size() > 0 &&
                                  g_.node(g_.node_size() - 1).output(0) == v.name;
    if (v.rank == 2 && produced_by_node) {
      g_.mutable_node(g_.node_size() - 1)->set_output(0, output_name);
      g_.mutable_node(g_.node_size() - 1)->set_name(output_name);
      for (auto& [name, tensor] : produced_) {
        if (name == v.name) name = output_name;
      }
    } else if (v.rank == 4) {
      attr(node("Flatten", {v.name}, output_name), "axis", std::int64_t{1});
    } else {
      node("Identity", {v.name}, output_name);
    }
    declare(g_.add_output(), output_name, {out.elements()});
  }
};

/// Dims of `t` without the batch (-1 where unknown); empty when shape inference gave none.
std::vector<std::int64_t> inferred_dims(const pb::ValueInfoProto& v) {
  std::vector<std::int64_t> dims;
  if (!v.type().tensor_type().has_shape()) return dims;
  const auto& shape = v.type().tensor_type().shape();
  for (int i = 1; i < shape.dim_size(); ++i)
    dims.push_back(shape.dim(i).has_dim_value() ? shape.dim(i).dim_value() : -1);
  return dims;
}

/// Compares ONNX's shape inference with the program: every op's value must have the
/// program's shape (rank 2: C*H*W features), which proves the geometry of every node.
void check_shapes(pb::ModelProto& model, const codegen::ProgramView& program,
                  const std::vector<std::pair<std::string, int>>& produced) {
  pb::shape_inference::InferShapes(model, pb::OpSchemaRegistry::Instance(),
                                   pb::ShapeInferenceOptions(/*check_type=*/true, /*error_mode=*/1,
                                                             /*enable_data_propagation=*/true));
  std::unordered_map<std::string, const pb::ValueInfoProto*> inferred;
  for (const auto& v : model.graph().value_info()) inferred[v.name()] = &v;
  for (const auto& v : model.graph().output()) inferred[v.name()] = &v;
  for (const auto& [name, tensor] : produced) {
    const Shape s = program.tensors[std::size_t(tensor)].shape;
    const codegen::Op& op = program.ops[std::size_t(program.tensors[std::size_t(tensor)].producer)];
    const int index = program.tensors[std::size_t(tensor)].producer;
    const auto it = inferred.find(name);
    if (it == inferred.end())
      throw OnnxError("onnx export: " + describe_op(op, index) +
                      ": ONNX shape inference gave no shape for " + name);
    const std::vector<std::int64_t> got = inferred_dims(*it->second);
    const std::vector<std::int64_t> want = got.size() == 1
                                               ? std::vector<std::int64_t>{s.elements()}
                                               : std::vector<std::int64_t>{s.c, s.h, s.w};
    if (got != want) {
      throw OnnxError("onnx export: " + describe_op(op, index) + ": ONNX infers " + dims_text(got) +
                      " (batch excluded) for " + name + ", the program has " + dims_text(want));
    }
  }
}

pb::ModelProto build(const codegen::ProgramView& program, std::span<const float> parameters,
                     std::span<const float> buffers, const OnnxOptions& options,
                     std::vector<std::pair<std::string, int>>& produced) {
  if (options.opset < min_opset || options.opset > max_opset) {
    throw OnnxError("onnx export: opset " + std::to_string(options.opset) + " is not supported (" +
                    std::to_string(min_opset) + " to " + std::to_string(max_opset) + ")");
  }
  if (options.batch < 0) throw OnnxError("onnx export: batch must be 0 (symbolic) or positive");
  if (std::int64_t(parameters.size()) != program.params ||
      std::int64_t(buffers.size()) != program.buffers) {
    throw OnnxError("onnx export: expected " + std::to_string(program.params) + " parameters and " +
                    std::to_string(program.buffers) + " buffers, got " +
                    std::to_string(parameters.size()) + " and " + std::to_string(buffers.size()));
  }
  pb::ModelProto model;
  model.set_ir_version(pb::IR_VERSION);
  model.set_producer_name("archetype");
  model.set_producer_version("0.1.0");
  model.set_doc_string(options.doc);
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(options.opset);
  pb::GraphProto& graph = *model.mutable_graph();
  graph.set_name(options.graph_name);
  GraphBuilder builder(graph, program, parameters, buffers, options);
  builder.build();
  produced = builder.produced();
  try {
    pb::checker::check_model(model);
  } catch (const std::exception& e) {
    throw OnnxError(std::string("onnx export: the ONNX checker rejects the model: ") + e.what());
  }
  try {
    check_shapes(model, program, produced);
  } catch (const OnnxError&) {
    throw;
  } catch (const std::exception& e) {
    throw OnnxError(std::string("onnx export: ONNX shape inference fails: ") + e.what());
  }
  return model;
}

OnnxSummary summarize(const pb::ModelProto& model) {
  OnnxSummary s;
  s.nodes = model.graph().node_size();
  s.initializers = model.graph().initializer_size();
  s.bytes = std::int64_t(model.ByteSizeLong());
  std::set<std::string> types;
  for (const auto& n : model.graph().node()) types.insert(n.op_type());
  s.op_types.assign(types.begin(), types.end());
  return s;
}

}  // namespace

OnnxSummary check_onnx(const codegen::ProgramView& program, std::span<const float> parameters,
                       std::span<const float> buffers, const OnnxOptions& options) {
  std::vector<std::pair<std::string, int>> produced;
  return summarize(build(program, parameters, buffers, options, produced));
}

OnnxSummary write_onnx(const std::filesystem::path& path, const codegen::ProgramView& program,
                       std::span<const float> parameters, std::span<const float> buffers,
                       const OnnxOptions& options) {
  std::vector<std::pair<std::string, int>> produced;
  const pb::ModelProto model = build(program, parameters, buffers, options, produced);
  const OnnxSummary summary = summarize(model);
  // protobuf cannot serialize a message of 2 GiB or more.
  if (summary.bytes >= std::int64_t{1} << 31) {
    throw OnnxError("onnx export: the model is " + std::to_string(summary.bytes) +
                    " bytes, over protobuf's 2 GiB limit for one file");
  }
  // Through a temporary file renamed into place, so a reader never sees half a model; but
  // straight into anything that is not a regular file (/dev/stdout, a pipe), which a
  // rename would replace.
  std::error_code status_error;
  const auto status = std::filesystem::status(path, status_error);
  const bool special = std::filesystem::exists(status) && !std::filesystem::is_regular_file(status);
  std::filesystem::path temporary = path;
  if (!special) temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out)
      throw std::system_error(errno, std::generic_category(),
                              temporary.string() + ": cannot create");
    if (!model.SerializeToOstream(&out) || !out.flush()) {
      const int error = errno;
      out.close();
      std::error_code ignored;
      if (!special)
        std::filesystem::remove(temporary, ignored);  // no half-written file left behind
      throw std::system_error(error, std::generic_category(),
                              temporary.string() + ": cannot write");
    }
  }
  if (!special) std::filesystem::rename(temporary, path);
  return summary;
}

}  // namespace archetype::onnx_export

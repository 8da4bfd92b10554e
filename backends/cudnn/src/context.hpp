#pragma once
// Internal: the state shared by the op builders of the cuDNN backend's plug-in.
//
// The executable (executable.cpp) plans memory (plan.hpp), then builds one forward and one
// backward closure per op once, in op order: each op family's builder (ops_*.cpp: a
// member of `Impl`, forward and backward together) appends its forward step to
// `forward_steps` and stores its backward step in `backward_of`, which the build loop
// orders in reverse. forward()/backward()/train_step() only enqueue the steps on one
// stream (or replay them as a captured CUDA Graph).
//
// Why cuDNN's legacy ("v7") API rather than the graph API: every op here is one call with
// alpha/beta blending, which gives the backward pass its "write the first contribution,
// add the later ones" rule for free (conv backward data, BN backward); cudnnFind*AlgorithmEx
// measures the algorithms of each geometry once on the real buffers; all of it is
// capturable in CUDA Graphs; and it needs nothing beyond cudnn.h (the graph API wants either
// the header-only cudnn-frontend, which none of our machines has, or hundreds of lines of
// backend descriptors per op). cuDNN 9 still ships it (cudnn_cnn, cudnn_ops), deprecated.
// The graph API's gain is fusion (conv + bias + activation, BN + ReLU, conv + add): the
// next step once this version has been verified on a GPU.
#include <archetype/backends/cudnn/executable.hpp>
#include <archetype/backends/cudnn/plan.hpp>

#include "kernels.hpp"
#include "nccl.hpp"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace archetype::cudnn::detail {

/// Throws "archetype::cudnn: <what>: <the library's message>" unless the call succeeded.
void check(cudaError_t e, const std::string& what);
void check(cudnnStatus_t s, const std::string& what);
void check(cublasStatus_t s, const std::string& what);

/// The alpha and beta of cuDNN's and cuBLAS's blending: y = alpha * result + beta * y.
inline constexpr float one = 1.f, zero = 0.f;

/// Memory that `Free` releases with its owner.
template <cudaError_t (*Free)(void*)>
struct OwnedMemory {
  void* ptr = nullptr;
  OwnedMemory() = default;
  OwnedMemory(const OwnedMemory&) = delete;
  OwnedMemory& operator=(const OwnedMemory&) = delete;
  ~OwnedMemory() {
    if (ptr != nullptr) Free(ptr);
  }
  template <class T>
  [[nodiscard]] T* as() const {
    return static_cast<T*>(ptr);
  }
};

/// Device memory.
struct DeviceMemory : OwnedMemory<cudaFree> {
  std::size_t bytes = 0;
  void allocate(std::size_t n, const std::string& what) {
    bytes = n;
    if (n > 0) {
      check(cudaMalloc(&ptr, n), "cannot allocate " + std::to_string(n) + " bytes for " + what);
    }
  }
};

/// Pinned host memory (the staging buffers that captured copies read and write).
struct PinnedMemory : OwnedMemory<cudaFreeHost> {
  void allocate(std::size_t n, const std::string& what) {
    check(cudaMallocHost(&ptr, std::max<std::size_t>(n, 1)),
          "cannot allocate pinned host memory for " + what);
  }
};

template <class H>
using Shared = std::shared_ptr<std::remove_pointer_t<H>>;

using kernels::Bf16;

/// The element type of the activations: fp32, or bfloat16 with Options::precision = bf16.
template <class T>
inline constexpr cudnnDataType_t data_type =
    std::is_same_v<T, Bf16> ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
template <class T>
inline constexpr cudaDataType_t blas_type = std::is_same_v<T, Bf16> ? CUDA_R_16BF : CUDA_R_32F;

/// A new cuDNN descriptor (`create`), destroyed (`destroy`) with its last owner.
template <class D>
Shared<D> make_descriptor(cudnnStatus_t (*create)(D*), cudnnStatus_t (*destroy)(D),
                          const char* what) {
  D d = nullptr;
  check(create(&d), what);
  return Shared<D>(d, destroy);
}
/// An N x C x H x W tensor: NCHW, or NHWC (channels-last).
Shared<cudnnTensorDescriptor_t> tensor_desc(int n, int c, int h, int w,
                                            cudnnDataType_t type = CUDNN_DATA_FLOAT,
                                            bool nhwc = false);
/// K x C x R x S filters: KCRS (NCHW) as the flat block holds them, or KRSC (NHWC).
Shared<cudnnFilterDescriptor_t> filter_desc(int k, int c, int h, int w, cudnnDataType_t type,
                                            bool nhwc);

/// The algorithm chosen for one direction of one convolution geometry.
template <class Algo>
struct Choice {
  Algo algo{};
  cudnnMathType_t math = CUDNN_FMA_MATH;
  std::size_t workspace = 0;
};

/// "path (Kind)": how errors name an op.
std::string op_name(const codegen::Op& op);

using Step = std::function<void()>;

/// Why no executable can run on CUDA device `device` ("" when one can).
std::string device_unavailable_reason(int device);

struct Impl {
  std::vector<codegen::Op> ops;
  std::vector<codegen::Tensor> tensors;
  int batch = 1;
  Mode mode = Mode::training;
  Options options{};
  MemoryPlan plan;
  int input = 0, output = 0;
  Shape input_shape{}, output_shape{};
  std::int64_t input_size = 0, output_size = 0;  // floats, batch included
  std::int64_t params_count = 0, buffers_count = 0, state_count = 0;

  cudaStream_t stream = nullptr;
  cudnnHandle_t dnn = nullptr;
  cublasHandle_t blas = nullptr;
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t graph_exec = nullptr;

  DeviceMemory arena, params, grads, buffers, state, workspace, blas_workspace;
  // bf16 only: the parameters rounded to bf16 at the start of every forward pass (what the
  // convolutions and matrix products read), the bf16 weight gradients they write (cast to the
  // fp32 `grads` right after), and the fp32 input on the device before its cast.
  DeviceMemory params_lp, grads_lp, input_f32;
  std::size_t elem = sizeof(float);  // bytes of an activation: 4, or 2 with bf16
  bool nhwc = false;                 // activations channels-last (bf16 with Options::channels_last)
  DeviceMemory scalars;  // lr (float), loss (float), steps (int64), dropout step (uint64)
  DeviceMemory labels, per_sample, loss_gradient_scratch;
  std::vector<std::unique_ptr<DeviceMemory>> op_memory;  // BN saved statistics, discarded gradients
  PinnedMemory staged_images, staged_labels, staged_lr, staged_loss, staged_logits;

  std::vector<float> host_params, host_grads, host_buffers, host_state, host_output,
      host_input_grad;
  std::vector<Bf16> host_lp;  // bf16 data on its way between the host's floats and the device
  bool params_device_newer = false, buffers_device_newer = false, state_device_newer = false;
  bool params_host_dirty = false, buffers_host_dirty = false, state_host_dirty = false;
  bool have_forward = false, have_output_grad = false;
  int train_calls = 0;

  std::vector<Step> forward_steps, backward_steps;
  /// on_gradient_ready's callback, called by the backward steps that follow each trainable
  /// group's last gradient step (plan.gradient_final's order), while they are enqueued.
  std::function<void(const GradientReady&)> gradient_ready;

  // Device scalars.
  [[nodiscard]] float* lr() const { return scalars.as<float>(); }
  [[nodiscard]] float* loss() const { return scalars.as<float>() + 1; }
  [[nodiscard]] std::int64_t* steps() const {
    return reinterpret_cast<std::int64_t*>(scalars.as<char>() + 8);
  }
  [[nodiscard]] std::uint64_t* dropout_step() const {
    return reinterpret_cast<std::uint64_t*>(scalars.as<char>() + 16);
  }

  [[nodiscard]] bool training() const { return mode == Mode::training; }
  [[nodiscard]] bool bf16() const { return options.precision == Precision::bf16; }
  // The plan's offsets count elements (floats, or bf16 values with Options::precision = bf16).
  [[nodiscard]] void* value(int t) const {
    return arena.as<char>() + plan.value[std::size_t(t)] * std::int64_t(elem);
  }
  [[nodiscard]] void* gradient(int t) const {
    const std::int64_t g = plan.gradient[std::size_t(t)];
    return g < 0 ? nullptr : arena.as<char>() + g * std::int64_t(elem);
  }
  template <class T>
  [[nodiscard]] T* value(int t) const {
    return static_cast<T*>(value(t));
  }
  template <class T>
  [[nodiscard]] T* gradient(int t) const {
    return static_cast<T*>(gradient(t));
  }
  /// The parameters and weight gradients a convolution or a matrix product reads and
  /// writes: the fp32 blocks, or their bf16 copies.
  template <class T>
  [[nodiscard]] T* weights(std::int64_t offset) const {
    return (std::is_same_v<T, Bf16> ? params_lp : params).template as<T>() + offset;
  }
  template <class T>
  [[nodiscard]] T* weight_gradients(std::int64_t offset) const {
    return (std::is_same_v<T, Bf16> ? grads_lp : grads).template as<T>() + offset;
  }
  /// A run of the flat parameter block as the bf16 copy holds it: plain, or (k > 0) a K x C x
  /// R x S convolution filter, KCRS in the block and KRSC in the copy (channels-last).
  struct ParamRun {
    std::int64_t offset = 0, count = 0;
    int k = 0, c = 0;
    std::int64_t rs = 0;
  };
  [[nodiscard]] std::vector<ParamRun> param_runs(const codegen::Op& op) const;
  /// Converts `runs` of one block into the other: to the bf16 copy (filters to KRSC) or back.
  template <class From, class To>
  void cast_runs(const std::vector<ParamRun>& runs, const From* from, To* to) const {
    constexpr bool to_copy = std::is_same_v<To, Bf16>;
    for (const ParamRun& r : runs) {
      if (r.k > 0)
        kernels::transpose_cast(stream, from + r.offset, to + r.offset, r.k, r.c, r.rs, to_copy);
      else
        kernels::cast(stream, from + r.offset, to + r.offset, r.count);
    }
  }
  /// bf16: after op's backward, its weight gradients to the fp32 block.
  template <class T>
  [[nodiscard]] Step with_gradient_cast(Step backward, const codegen::Op& op) {
    if constexpr (!std::is_same_v<T, Bf16>) {
      return backward;
    } else {
      return [this, backward = std::move(backward), runs = param_runs(op)] {
        backward();
        cast_runs(runs, grads_lp.as<Bf16>(), grads.as<float>());
      };
    }
  }
  [[nodiscard]] bool needs_grad(int t) const { return plan.needs_grad[std::size_t(t)]; }
  [[nodiscard]] Shape shape(int t) const { return tensors[std::size_t(t)].shape; }
  [[nodiscard]] std::int64_t count(int t) const {
    return std::int64_t{batch} * shape(t).elements();
  }
  [[nodiscard]] std::size_t workspace_bytes() const { return workspace.bytes; }

  ~Impl();

  void synchronize(const char* what) { check(cudaStreamSynchronize(stream), what); }

  template <class T>
  void upload(DeviceMemory& d, const std::vector<T>& h, const char* what) {
    if (!h.empty())
      check(cudaMemcpy(d.ptr, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice), what);
  }
  template <class T>
  void download(std::vector<T>& h, const void* d, const char* what) {
    if (!h.empty())
      check(cudaMemcpy(h.data(), d, h.size() * sizeof(T), cudaMemcpyDeviceToHost), what);
  }
  /// On Options::device: the stream, the cuDNN and cuBLAS handles, the device memory the plan
  /// and the program ask for (zeroed), the host mirrors and the running statistics (variance
  /// 1, as PyTorch starts). Needs the fields above set.
  void start_device();
  /// A host mirror handed out (the caller may write it): first refreshed from `device` when
  /// the device's copy is newer, then marked to go back before the next device call.
  std::span<float> mirror(std::vector<float>& host, const DeviceMemory& device, bool& device_newer,
                          bool& host_dirty, const char* what) {
    if (device_newer) download(host, device.ptr, what);
    device_newer = false;
    host_dirty = true;
    return host;
  }
  /// Mirrors handed out since the last device call go back to the device first.
  void push_host_mirrors();

  // --- building ------------------------------------------------------------------------------
  struct Find {
    DeviceMemory memory;  // the scratch workspace algorithms are measured with
  };
  std::map<std::string, Choice<cudnnConvolutionFwdAlgo_t>> fwd_cache;
  std::map<std::string, Choice<cudnnConvolutionBwdDataAlgo_t>> data_cache;
  std::map<std::string, Choice<cudnnConvolutionBwdFilterAlgo_t>> filter_cache;
  std::size_t workspace_needed = 0;

  void build(Find& find);
  /// Op `o`'s forward step and backward step (in `backward_of`), T the activations' type:
  /// executable.cpp dispatches on the kind to the op families' builders below.
  template <class T>
  void build_op(int o, Find& find);
  // ops_conv.cpp
  template <class T>
  void build_conv(int o, Find& find);
  // ops_linear.cpp
  template <class T>
  void build_linear(int o);
  // ops_norm.cpp
  void build_batch_norm(int o);
  void build_batch_norm_bf16(int o);
  template <class T>
  void build_lrn(int o);
  // ops_pool.cpp
  template <class T>
  void build_pool(int o);
  // ops_eltwise.cpp
  template <class T>
  void build_activation(int o);
  template <class T>
  void build_dropout(int o);
  // ops_merge.cpp
  template <class T>
  void build_add(int o);
  template <class T>
  void build_concat(int o);
  template <class T>
  void build_scale(int o);
  template <class T>
  void build_zero_pad_shortcut(int o);
  // ops_resize.cpp
  template <class T>
  void build_pad_to(int o);
  template <class T>
  void build_resize(int o);

  /// What an op of kernels_*.cu reads and writes: its first input X and its output Y (shapes
  /// is and os), their gradients (null in inference or when not needed), whether dX
  /// accumulates, and the output's element count.
  template <class T>
  struct Operands {
    Shape is, os;
    T *X, *Y, *dY, *dX;
    bool acc;
    std::int64_t n_out;
  };
  template <class T>
  [[nodiscard]] Operands<T> operands(int o) const {
    const codegen::Op& op = ops[std::size_t(o)];
    const int in = op.inputs[0], out = op.output;
    const bool t = training();
    return {shape(in),
            shape(out),
            value<T>(in),
            value<T>(out),
            t ? gradient<T>(out) : nullptr,
            t ? input_gradient_of<T>(o, 0) : nullptr,
            t && accumulate(o, 0),
            count(out)};
  }
  /// Op `o`'s backward step, when its output has a gradient `dY` (otherwise it has none).
  void set_backward(int o, const void* dY, Step s) {
    if (dY != nullptr) backward_of[std::size_t(o)] = std::move(s);
  }
  /// The steps of an op whose kernels take one geometry `g` (kernels.hpp): forward(stream,
  /// g, X, Y) and, where dX is needed, backward(stream, g, dY, dX, acc), or backward(stream,
  /// g, X, dY, dX, acc) for a backward that reads the input.
  template <class T, class G, class Backward>
  void build_kernels(int o, const Operands<T>& io, const G& g,
                     void (*forward)(cudaStream_t, const G&, const T*, T*), Backward backward) {
    cudaStream_t st = stream;
    forward_steps.push_back([st, g, io, forward] { forward(st, g, io.X, io.Y); });
    if (io.dX == nullptr) return;
    set_backward(o, io.dY, [st, g, io, backward] {
      if constexpr (std::is_invocable_v<Backward, cudaStream_t, const G&, T*, T*, bool>) {
        backward(st, g, io.dY, io.dX, io.acc);
      } else {
        backward(st, g, io.X, io.dY, io.dX, io.acc);
      }
    });
  }
  /// A device buffer owned by the executable for one op.
  float* op_buffer(std::int64_t floats, const std::string& what) {
    op_memory.push_back(std::make_unique<DeviceMemory>());
    op_memory.back()->allocate(std::size_t(floats) * sizeof(float), what);
    return op_memory.back()->as<float>();
  }
  /// Where op `o`'s backward writes the gradient of input slot `i`, or null when it is not
  /// needed.
  template <class T>
  [[nodiscard]] T* input_gradient_of(int o, int i) const {
    const int t = ops[std::size_t(o)].inputs[i];
    return needs_grad(t) ? gradient<T>(t) : nullptr;
  }
  [[nodiscard]] bool accumulate(int o, int i) const {
    return plan.accumulate[std::size_t(o)][std::size_t(i)];
  }

  std::vector<Step> backward_of;  // per op, empty when it has none
  /// Options::nccl_ranks > 0: the gradient all-reduce the backward's steps drive (nccl.hpp).
  std::unique_ptr<NcclAllReduce> nccl;

  // --- running -------------------------------------------------------------------------------
  void run(const std::vector<Step>& steps) {
    for (const Step& s : steps) s();
  }
  void enqueue_loss();
  /// The input images (fp32 NCHW at `source`, host memory) into the arena: copied,
  /// or with bf16 copied to the device in fp32 and cast there.
  void enqueue_input(const void* source);
  /// `n` elements of device data of the activation type as floats: `raw` holds the bytes
  /// copied from the device.
  void to_floats(const void* raw, float* out, std::int64_t n);
  /// The optimizer step (kernels::optimizer_step: skipped when *loss_or_null is not finite).
  void enqueue_update(const float* loss_or_null);
  /// The whole training step, enqueued (captured when a graph is being recorded).
  void enqueue_train_step();
};

}  // namespace archetype::cudnn::detail
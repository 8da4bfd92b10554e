#pragma once
/// \file
/// \brief Internal: the state shared by the op builders of the oneDNN backend.
///
/// An Executable is built in two passes over the Program:
///   1. forward, in op order: each builder creates its forward primitive(s), chooses the
///      layout of its output tensor and registers a backward builder (training only);
///   2. backward, in reverse op order: each registered backward builder creates its
///      backward primitives. A tensor's gradient memory is created by the first of its
///      readers met in this pass (the last reader in forward order): that one writes it,
///      every later one accumulates into it.
/// Steps are recorded in execution order and only executed by forward()/backward().
/// A builder may also build the op after it (BatchNorm + ReLU: `fused`). In inference,
/// forward values live in a pool of buffers reused once their tensors are dead
/// (`activation`, `define`, `release`). In training the same pool holds the forward values
/// no backward step reads (`needed`: e.g. a BatchNorm output read only by a residual Add,
/// the Add's output read only by a ReLU, which differentiates from its own output), and
/// the gradients: a tensor's gradient (with its converted copies and the scratch memories
/// of accumulations) is dead once its producer's backward has been built (`pooled`,
/// `release_grads`), so the backward pass holds only the gradients live at one time.

#include <archetype/backends/onednn/executable.hpp>
#include <archetype/codegen/training_plan.hpp>

#include <oneapi/dnnl/dnnl.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace archetype::onednn::detail {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

/// One thing to execute: a primitive with its arguments, or a plain function.
struct Step {
  dnnl::primitive prim;
  std::unordered_map<int, memory> args;
  std::function<void()> fn;
  bool hook = false;  ///< a notification (on_gradient_ready), not a kernel: not counted
};
using Steps = std::vector<Step>;

/// Whether two descriptions lay the same values out at the same bytes (nChw16c and
/// channels-last for 16 channels, or for a 1x1 image; any layout for a single channel...):
/// a value in one is read in the other through a view, without a reorder.
[[nodiscard]] bool same_bytes(const memory::desc& a, const memory::desc& b);

/// Channels per block of the blocked layout (`Context::blocked_layout`): 16 where oneDNN's
/// AVX-512 kernels run (Winograd among them), 8 on a CPU without them, whose kernels
/// (AVX2's) take nChw8c and fall back to reference ones over nChw16c (ResNet-20's
/// Winograd plan on an AVX2 CPU ran 4 kernels of its training step on them).
[[nodiscard]] int channel_block();
/// nChw16c or nChw8c: the blocked layout of `channel_block()` channels.
[[nodiscard]] inline memory::format_tag blocked_tag() {
  return channel_block() == 16 ? memory::format_tag::nChw16c : memory::format_tag::nChw8c;
}

/// Whether an implementation name (`impl_info_str`) is one of oneDNN's reference kernels:
/// plain loops, orders of magnitude slower than its optimized ones.
[[nodiscard]] inline bool reference_kernel(std::string_view impl) { return impl.starts_with("ref"); }

/// One tensor of the program, batch included.
struct TensorState {
  Shape shape{};
  memory::desc md;               ///< layout of its forward value (set by its producer)
  memory mem;                    ///< its forward value
  std::vector<memory> converted;  ///< the value in other layouts, for consumers that want them
  memory grad;                   ///< d(loss)/d(tensor), set while building the backward pass
  std::vector<memory> grad_converted;  ///< the gradient in other layouts (its producer's wishes)
};

struct Context {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  std::vector<codegen::Op> ops;
  int batch = 1;
  Mode mode = Mode::training;
  Options options{};
  float* params = nullptr;
  float* grads = nullptr;
  float* buffers = nullptr;
  std::vector<TensorState> tensors;
  std::vector<int> readers;  ///< per tensor: how many op inputs read it
  std::vector<bool> fused;   ///< per op: computed by the op before it (built as part of it)
  /// The training plan (codegen::plan_training): views, gradients, what the backward reads,
  /// fusions, the order in which parameter gradients become final.
  codegen::TrainingPlan plan;
  std::vector<bool> needs_grad;  ///< training, per tensor: some parameter (or the input, when
                                 ///< its gradient is asked for) lies upstream of it (the plan's)
  std::vector<bool> needed;      ///< training, per tensor: a backward step reads its forward value
                                 ///< (the plan's `saved`; the builders must keep to that rule)
  int output = 0;            ///< the program's output tensor

  Steps weights_forward;   ///< parameter reorders into the forward primitives' layouts
  Steps forward;           ///< the forward pass
  Steps weights_backward;  ///< parameter reorders into the backward primitives' layouts
  Steps backward;          ///< the backward pass (reverse op order)
  std::vector<std::function<void()>> backward_builders;  ///< registered by forward builders
  /// Training: the forward passes run so far, the `step` of the dropout draws
  /// (codegen/dropout.hpp), advanced by each forward().
  std::shared_ptr<std::uint64_t> dropout_step = std::make_shared<std::uint64_t>(0);
  /// ConvAlgorithm::fastest: per geometry, the algorithm of each pass (forward, backward
  /// data, backward weights), measured once.
  std::unordered_map<std::string, std::array<dnnl::algorithm, 3>> conv_choices;
  /// ConvAlgorithm::fastest: per geometry, whether our Winograd kernel (winograd.hpp)
  /// measured faster than oneDNN's forward for it.
  std::unordered_map<std::string, bool> own_winograd_choices;
  /// The convolutions built with Winograd in at least one pass (Executable::ConvPlan).
  int winograd_convolutions = 0;
  /// The 1x1 + depthwise convolution pairs built as one kernel, oneDNN's or ours
  /// (Executable::ConvPlan).
  int depthwise_fusions = 0;
  /// The working memory of our own kernels (pointwise_depthwise.hpp: a ring of rows per
  /// thread; winograd.hpp: transformed tiles), shared by all of them (they run one at a time):
  /// sized to the largest at build.
  std::shared_ptr<std::vector<float>> kernel_scratch = std::make_shared<std::vector<float>>();
  /// The OpenMP threads the steps run on (Options::threads, else OpenMP's count).
  [[nodiscard]] int threads() const;
  /// One scratchpad for every primitive built with `user_scratchpad` (the convolutions:
  /// Winograd's are tens of MB each): sized to the largest, allocated once the executable is
  /// built and given to each of them by `attach_scratchpad` (primitives run one at a time).
  memory scratchpad;
  /// `attr` asking for a user-provided scratchpad (attach_scratchpad provides it).
  [[nodiscard]] static dnnl::primitive_attr user_scratchpad(dnnl::primitive_attr attr = {});
  /// Allocates `scratchpad` and adds it to every recorded step whose primitive wants one.
  void attach_scratchpad();

  /// The buffers that forward values (inference; training: those no backward step reads)
  /// and gradients live in, shared by values whose lifetimes do not overlap. The build hands
  /// out memories with no storage yet (`pooled`), served by best fit from a pool of virtual
  /// buffers in build order (= execution order), and records every request with its
  /// lifetime; `bind_pool` then packs the requests into one arena with codegen's packer
  /// (`codegen::pack_arena`: best fit in build order leaves holes that a plan made knowing
  /// every lifetime does not; ResNet-18-CIFAR, batch 128: 825 -> 701 MB) and gives every
  /// memory its storage. One build: nothing is built twice to learn the lifetimes.
  struct Buffer {
    std::size_t bytes = 0;
    int users = 0;         ///< live tensors whose value (or converted copy) is in it
    bool pending = false;  ///< handed out by activation(), not yet given to a tensor
    std::size_t request = npos;     ///< the request it serves now
    std::size_t free_since = npos;  ///< requests.size() when it last became free (npos: in use)
  };
  static constexpr std::size_t npos = std::size_t(-1);
  std::vector<Buffer> pool;
  /// Pooled memory (and views of it) -> pool index.
  mutable std::unordered_map<dnnl_memory_t, std::size_t> buffer_of;
  void take(const memory& m);   ///< a tensor now uses m's buffer
  void drop(const memory& m);   ///< a tensor no longer uses m's buffer
  /// One call of `pooled`, in call order: live from that call until the call numbered `end`
  /// (npos: to the end of the build); the memories over it get their storage in `bind_pool`.
  struct Request {
    std::size_t bytes = 0;
    std::size_t end = npos;
    std::size_t buffer = 0;        ///< the pool buffer that served it
    std::vector<memory> memories;  ///< the memories over it (views too)
  };
  std::vector<Request> requests;
  /// Views of memories whose storage is not bound yet: (view, its source), in creation order.
  mutable std::vector<std::pair<memory, memory>> pending_views;
  /// Gives every pooled memory its storage: one arena laid out by codegen's packer from the
  /// requests' lifetimes, or (`plan` false, or where it would take more) one allocation per
  /// pool buffer. Returns the values' footprint figures.
  Executable::Footprint bind_pool(bool arena);
  memory arena;                      ///< the pooled memories' storage (one arena) ...
  std::vector<memory> pool_storage;  ///< ... or one allocation per pool buffer

  [[nodiscard]] bool training() const { return mode == Mode::training; }
  [[nodiscard]] memory::dims dims(Shape s) const { return {batch, s.c, s.h, s.w}; }
  /// Data type of activations, weights and activation gradients in primitives (Precision).
  [[nodiscard]] dt act() const { return options.precision == Precision::bf16 ? dt::bf16 : dt::f32; }
  /// Plain fp32 NCHW: the executable's edges and the plain-loop ops.
  [[nodiscard]] memory::desc plain(Shape s) const { return {dims(s), dt::f32, tag::nchw}; }
  /// Plain NCHW in the activation type.
  [[nodiscard]] memory::desc plain_act(Shape s) const { return {dims(s), act(), tag::nchw}; }
  /// Any layout oneDNN picks, in the activation type.
  [[nodiscard]] memory::desc any(Shape s) const { return {dims(s), act(), tag::any}; }
  /// Convolutions keep fp32 values with a multiple of 16 channels blocked by 16 channels
  /// (nChw16c; on a CPU without AVX-512, 8 and nChw8c: `channel_block`) when Winograd may
  /// run (ConvAlgorithm winograd or fastest): its
  /// kernels take no other layout, while the direct ones oneDNN picks for `any` (brgconv)
  /// take only channels-last, so that letting each primitive choose puts two reorders
  /// around every Winograd layer. One layout lets the two algorithms alternate layer by
  /// layer, and pass by pass, with no reorder between them. It costs elsewhere (reorders
  /// and blocked kernels at depthwise, squeeze-and-excitation and concatenation layers) and
  /// gains elsewhere (oneDNN fuses 1x1 + depthwise pairs only in it, Options::fuse_depthwise):
  /// fastest keeps such a plan only where, whole, it measured faster than the direct plan
  /// (Executable::Impl::fastest).
  [[nodiscard]] bool blocked_layout() const {
    return options.conv_algorithm != ConvAlgorithm::direct && options.precision == Precision::f32;
  }
  /// The layouts of a convolution's source and destination: blocked for both (see
  /// `blocked_layout`) where both have a multiple of `channel_block()` channels, else `any`
  /// for both (a blocked destination over a plain 6-channel source, say, has only oneDNN's
  /// reference kernel in training). Inference blocks every value of 8 channels or more, the
  /// channels padded to a multiple of the block (24 as 32 with AVX-512: MobileNetV2's and
  /// EfficientNet's 24-, 40- and 80-channel values), and reads an image of fewer channels
  /// (RGB) plain, which oneDNN's first-layer kernel takes: no reorder then runs between
  /// convolutions (MobileNetV2, batch 32: 6 reorders, 12 ms of 121, before). Ops that
  /// follow their source's layout (batch norm, pooling, ...) keep it.
  [[nodiscard]] std::pair<memory::desc, memory::desc> conv_layouts(Shape in, Shape out) const {
    const auto blocked = [&](Shape s) { return memory::desc(dims(s), act(), blocked_tag()); };
    if (!blocked_layout()) return {any(in), any(out)};
    const int b = channel_block();
    if (in.c % b == 0 && out.c % b == 0) return {blocked(in), blocked(out)};
    if (training() || out.c < 8) return {any(in), any(out)};
    return {in.c >= 8 ? blocked(in) : plain_act(in), blocked(out)};
  }
  /// A memory that lives as long as the executable (parameters' copies, gradients, the
  /// arena, ...). A large one gets pages of its own (mmap), unmapped with the Context: given
  /// back to the system whatever the C library's heap does (glibc serves blocks below its
  /// sliding mmap threshold, up to 32 MB, from a heap that keeps freed pages: a process that
  /// builds one executable after another would otherwise carry the first one's pages).
  [[nodiscard]] memory alloc(const memory::desc& md) const;
  mutable std::vector<std::shared_ptr<void>> pages;  ///< the large allocs' pages
  /// `bytes` of zeroed pages of their own (mmap), unmapped when the last owner goes.
  [[nodiscard]] static std::shared_ptr<void> map_pages(std::size_t bytes);
  /// A memory for a forward value (an op's output or a converted copy), from the pool:
  /// the buffers of dead tensors are reused (see `define`, `release` and `needed`).
  memory activation(const memory::desc& md);
  /// A memory over the same buffer with another description (a view); of a pooled memory
  /// whose storage is not bound yet, bound with it.
  [[nodiscard]] memory view(const memory& m, const memory::desc& md) const;
  [[nodiscard]] memory over_params(const memory::desc& md, std::int64_t offset) const {
    return memory(md, eng, params + offset);
  }
  [[nodiscard]] memory over_grads(const memory::desc& md, std::int64_t offset) const {
    return memory(md, eng, grads + offset);
  }
  [[nodiscard]] memory over_buffers(const memory::desc& md, std::int64_t offset) const {
    return memory(md, eng, buffers + offset);
  }

  /// Index of `op` in `ops`.
  [[nodiscard]] std::size_t index(const codegen::Op& op) const { return std::size_t(&op - ops.data()); }
  /// Whether `op` (also a copy, as the backward builders hold: op o writes tensor o + 1 in
  /// the lowered form) computes its parameters' gradient: false when its group is frozen.
  [[nodiscard]] bool weight_gradient(const codegen::Op& op) const {
    return plan.weight_gradient[std::size_t(op.output - 1)];
  }
  /// Training: the ReLU the plan fuses into `op` (codegen::TrainingPlan::fused_relu), or null.
  [[nodiscard]] const codegen::Op* fused_relu(const codegen::Op& op) const {
    const int r = plan.fused_relu.empty() ? -1 : plan.fused_relu[index(op)];
    return r < 0 ? nullptr : &ops[std::size_t(r)];
  }

  // --- forward -------------------------------------------------------------------------
  /// Sets the forward value of tensor `t` (its producer's output, or a view of another
  /// tensor's value).
  void define(int t, const memory& mem);
  /// Sets the forward value of `head`'s output and of every op folded into it
  /// (codegen::Fusion: inference only) to `mem`, the chain's result.
  void define_chain(const codegen::Op& head, const memory& mem);
  /// A oneDNN eltwise algorithm with its constants.
  struct Eltwise {
    dnnl::algorithm alg;
    float alpha = 0.f, beta = 0.f;
  };
  /// The eltwise computing activation `kind` (ReLU, ReLU6, SiLU, Sigmoid), in its forward-
  /// only form (post-ops, inference).
  [[nodiscard]] static Eltwise eltwise(LayerKind kind);
  /// The post-ops of a folded chain (`head.fusion`): in-place sum, then the activation
  /// (none where `activation` is false: a caller with `silu_after(head)`).
  [[nodiscard]] static dnnl::primitive_attr post_ops(const codegen::Op& head,
                                                     bool activation = true);
  /// Appends the activation a folded chain ends in (`head.fusion.activated`), if any.
  static void append_activation(dnnl::post_ops& po, const codegen::Op& head);
  /// Whether the SiLU that `head`'s folded chain ends in runs as a step of its own after the
  /// kernel (silu.hpp: `silu_step`), not as oneDNN's swish post-op: inference, fp32,
  /// Options::vector_silu, on a CPU with AVX-512, over 16 K values or more.
  [[nodiscard]] bool silu_after(const codegen::Op& head) const;
  /// The step computing SiLU over `m` in place (its whole buffer, padding included).
  [[nodiscard]] static Step silu_step(const memory& m);
  /// Tensor `t` is no longer read in the forward pass (inference: its buffers may be reused
  /// by ops built from now on).
  void release(int t);
  /// The forward value of tensor `t` in layout `md`: the tensor itself, or a converted copy
  /// made by a reorder appended to `steps` (shared by every consumer wanting `md`).
  memory value_as(int t, const memory::desc& md, Steps& steps);

  /// A parameter block in the layout `md` wants: the plain block itself, or a copy reordered
  /// once per pass by a step appended to `steps` (weights_forward or weights_backward).
  memory weights_as(const memory& plain_weights, const memory::desc& md, Steps& steps);
  /// Backward: a parameter block in the layout `md` wants, for the steps of the builder being
  /// built only: the plain block itself, or a pooled copy (`scratch`) reordered by a step
  /// appended to `steps` (so that only one such copy is alive at a time, not one per layer).
  memory weights_transient(const memory& plain_weights, const memory::desc& md, Steps& steps);

  // --- backward ------------------------------------------------------------------------
  /// The gradient of `t` (complete: all its readers have been built) in layout `md`.
  memory grad_as(int t, const memory::desc& md, Steps& steps);
  /// The gradient of `t` in whatever layout it has (zeros in its value layout when nobody
  /// reads `t`).
  memory grad_any(int t);
  /// A pooled memory for a value (gradients in training, forward values in inference):
  /// not yet owned; the caller takes it (`take`) when it gives it to a tensor or to
  /// `transient`.
  memory pooled(const memory::desc& md);
  /// The gradients of tensors `t` in [first, last) (their value and converted copies) and
  /// the transient scratch memories are dead: their buffers may be reused.
  void release_grads(int first, int last);
  std::vector<memory> transient;  ///< scratch gradients of the builder being built
  /// A pooled memory live only within the backward steps of the builder being built (e.g.
  /// blocked weight gradients before their copy into the plain gradient block).
  memory scratch(const memory::desc& md) {
    memory m = pooled(md);
    take(m);
    transient.push_back(m);
    return m;
  }
  /// Where an op writes its contribution to the gradient of `t` in layout `md`. The first
  /// contribution becomes the gradient (in `reuse`, a dead buffer of the right layout, when
  /// given: in-place); later ones go to a scratch memory that a step appended to `post`
  /// adds to the gradient.
  memory grad_target(int t, const memory::desc& md, Steps& post, const memory& reuse = {});
  /// Adds the values of `src` to the gradient of `t` (steps appended to `steps`). With
  /// `can_alias`, `src` is a dead buffer that may become the gradient itself.
  void push_grad(int t, const memory& src, Steps& steps, bool can_alias);
  /// A step computing dst += src.
  [[nodiscard]] Step accumulate(const memory& src, const memory& dst) const;
  /// A reorder step src -> dst.
  [[nodiscard]] Step copy(const memory& src, const memory& dst) const;

  // --- shared builder steps -----------------------------------------------------------------
  /// The forward step of a one-source primitive `prim` (primitive_desc `pd`) reading `src`:
  /// its output in a new activation (defined as `op`'s output) and, in training, its
  /// workspace when it has one. Returns {dst, workspace (empty when none)}.
  template <class PrimitiveDesc>
  std::pair<memory, memory> forward_step(const codegen::Op& op, const dnnl::primitive& prim, const PrimitiveDesc& pd,
                                         const memory& src) {
    memory dst = activation(pd.dst_desc());
    Step step{prim, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}}, {}};
    memory ws;
    if (training() && pd.workspace_desc().get_size() > 0) {
      ws = alloc(pd.workspace_desc());
      step.args[DNNL_ARG_WORKSPACE] = ws;
    }
    forward.push_back(std::move(step));
    define(op.output, dst);
    return {dst, ws};
  }
  /// The backward step of a one-source op: `prim` (primitive_desc `bpd`) reads the gradient
  /// of `out` and writes (or adds to) the gradient of `in`, in place into `out`'s gradient
  /// when `in_place` and it is the first contribution; `args` adds the forward values it
  /// reads (source, destination) and a workspace when `ws` is not empty.
  template <class PrimitiveDesc>
  void backward_step(int in, int out, const dnnl::primitive& prim, const PrimitiveDesc& bpd,
                     std::unordered_map<int, memory> args, const memory& ws = {}, bool in_place = false) {
    memory ddst = grad_as(out, bpd.diff_dst_desc(), backward);
    Steps post;
    memory dsrc = grad_target(in, bpd.diff_src_desc(), post, in_place ? ddst : memory());
    args[DNNL_ARG_DIFF_DST] = ddst;
    args[DNNL_ARG_DIFF_SRC] = dsrc;
    if (ws) args[DNNL_ARG_WORKSPACE] = ws;
    backward.push_back(Step{prim, std::move(args), {}});
    backward.insert(backward.end(), post.begin(), post.end());
  }

  /// Name of an op for messages: `path (Kind)`.
  [[nodiscard]] static std::string name(const codegen::Op& op);
};

/// Whether a convolution may run Winograd (ConvAlgorithm winograd and fastest): 3x3,
/// stride 1, ungrouped (oneDNN's CPU Winograd has no other geometry).
[[nodiscard]] inline bool winograd_candidate(const LayerRow& L) {
  return L.op == LayerKind::conv && L.kernel_h == 3 && L.kernel_w == 3 && L.stride_h == 1 &&
         L.stride_w == 1 && L.groups == 1;
}

/// Physical number of floats of a memory (including the padding of blocked layouts).
inline std::int64_t physical_floats(const memory::desc& md) {
  return static_cast<std::int64_t>(md.get_size() / sizeof(float));
}
inline float* data(const memory& m) { return static_cast<float*>(m.get_data_handle()); }

// Op builders: forward now, backward registered in ctx.backward_builders.
void build_conv(Context& ctx, const codegen::Op& op);
void build_linear(Context& ctx, const codegen::Op& op);
void build_batch_norm(Context& ctx, const codegen::Op& op);
void build_lrn(Context& ctx, const codegen::Op& op);
void build_max_pool(Context& ctx, const codegen::Op& op);
void build_avg_pool(Context& ctx, const codegen::Op& op);
void build_global_avg_pool(Context& ctx, const codegen::Op& op);
void build_adaptive_avg_pool(Context& ctx, const codegen::Op& op);
/// ReLU, ReLU6, SiLU, Sigmoid (oneDNN eltwise).
void build_activation(Context& ctx, const codegen::Op& op);
void build_dropout(Context& ctx, const codegen::Op& op);
void build_stochastic_depth(Context& ctx, const codegen::Op& op);
void build_scale(Context& ctx, const codegen::Op& op);
void build_flatten(Context& ctx, const codegen::Op& op);
void build_add(Context& ctx, const codegen::Op& op);
void build_concat(Context& ctx, const codegen::Op& op);
void build_zero_pad_shortcut(Context& ctx, const codegen::Op& op);
void build_pad_to(Context& ctx, const codegen::Op& op);
void build_resize(Context& ctx, const codegen::Op& op);

/// An op computed by plain loops on plain NCHW memory (batch included), with reorders
/// around it: `forward(x, y)` writes all of y; `backward(x, dy, dx)` writes all of dx (x is
/// the forward input, still valid).
using PlainForward = std::function<void(const float* x, float* y)>;
using PlainBackward = std::function<void(const float* x, const float* dy, float* dx)>;
void build_plain_op(Context& ctx, const codegen::Op& op, PlainForward forward, PlainBackward backward);

/// A pass-through op (same values, same layout): output aliases the input; its backward
/// hands the gradient on.
void build_identity(Context& ctx, const codegen::Op& op);

/// Builds a windowed average or max pooling with oneDNN (shared by the pool builders).
void build_pooling(Context& ctx, const codegen::Op& op, dnnl::algorithm alg, int kh, int kw,
                   int sh, int sw, int ph, int pw);

}  // namespace archetype::onednn::detail

// The Executable: builds every primitive once (context.hpp explains the two passes),
// then forward()/backward() only execute the recorded steps. Also the loss.
#include "context.hpp"
#include "pointwise_depthwise.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#if defined(ARCHETYPE_ONEDNN_OPENMP)
#include <omp.h>
#endif

namespace archetype::onednn {

using detail::memory;
using detail::Steps;

struct Executable::Impl {
  detail::Context ctx;
  std::vector<float> params, grads, buffers;
  dnnl::stream stream;
  int input = 0, output = 0;
  std::int64_t input_size = 0, output_size = 0;  // floats of one pass (ctx.batch images)
  int images = 0;  // the batch forward() takes: ctx.batch, or several passes of it (inference)
  std::vector<float> outputs;  // inference in several passes: the whole batch's output
  Shape input_shape{}, output_shape{};
  memory output_plain;           // the forward result, plain NCHW
  memory output_grad;            // the output tensor's gradient memory (plain)
  memory input_grad_plain;       // d(loss)/d(input), plain NCHW
  std::vector<float> user_output_grad;  // set by the loss or set_output_gradient
  bool have_forward = false;
  bool weights_ready = false;  // inference: weights_forward has run since the last change
  bool have_output_grad = false;
  Footprint footprint;  // the values' figures (the constructor's)

  /// Options::threads for oneDNN's OpenMP (and the plain loops), on the calling thread.
  void apply_threads() const {
#if defined(ARCHETYPE_ONEDNN_OPENMP)
    if (ctx.options.threads > 0) omp_set_num_threads(ctx.options.threads);
#endif
  }

  ConvPlan conv_plan;  // what conv_plan() reports

  /// Builds every primitive and memory of the executable into `ctx` (context.hpp), once.
  void build(const codegen::ProgramView& program, int batch, Mode mode, const Options& options);
  /// ConvAlgorithm::fastest: the Winograd plan or the direct plan, whichever runs one step
  /// faster (Options::conv_algorithm says how), built one at a time so that the build's peak
  /// memory is one plan's; the winner is built again if it was not the last (with the
  /// per-layer choices already measured: only its primitives are made again).
  static std::unique_ptr<Impl> fastest(const codegen::ProgramView& program, int batch, Mode mode,
                                       const Options& options);
  /// Seconds of one step (inference: the forward pass; training: forward and backward), the
  /// best of 3 to 30 runs after a warm-up, on the parameters and input as built (zeros).
  /// Leaves parameters, gradients, running statistics and the dropout count as it found
  /// them, and calls no all-reduce (synchronised BatchNorm sums locally here): processes
  /// that time differently, or choose differently, cannot deadlock in a collective.
  double time_step();

  std::function<void(const GradientReady&)> gradient_ready;  ///< on_gradient_ready's callback

  void run(Steps& steps) {
    for (detail::Step& s : steps) {
      if (s.hook && !gradient_ready) continue;  // nobody listens: not even a wait
      if (s.fn) {
        stream.wait();
        s.fn();
      } else {
        s.prim.execute(stream, s.args);
      }
    }
    stream.wait();
  }
};

namespace {

void build_op(detail::Context& ctx, const codegen::Op& op) {
  using K = LayerKind;
  switch (op.layer.op) {
    case K::conv: return detail::build_conv(ctx, op);
    case K::batch_norm: return detail::build_batch_norm(ctx, op);
    case K::local_response_norm: return detail::build_lrn(ctx, op);
    case K::relu:
    case K::relu6:
    case K::silu:
    case K::sigmoid: return detail::build_activation(ctx, op);
    case K::scale: return detail::build_scale(ctx, op);
    case K::stochastic_depth: return detail::build_stochastic_depth(ctx, op);
    case K::dropout: return detail::build_dropout(ctx, op);
    case K::max_pool: return detail::build_max_pool(ctx, op);
    case K::avg_pool: return detail::build_avg_pool(ctx, op);
    case K::global_avg_pool: return detail::build_global_avg_pool(ctx, op);
    case K::adaptive_avg_pool: return detail::build_adaptive_avg_pool(ctx, op);
    case K::flatten: return detail::build_flatten(ctx, op);
    case K::linear: return detail::build_linear(ctx, op);
    case K::zero_pad_shortcut: return detail::build_zero_pad_shortcut(ctx, op);
    case K::pad_to: return detail::build_pad_to(ctx, op);
    case K::resize: return detail::build_resize(ctx, op);
    case K::add: return detail::build_add(ctx, op);
    case K::concat: return detail::build_concat(ctx, op);
  }
  throw std::runtime_error("unknown op kind");
}

/// "NaN" or "Inf" for the first value of `m` that is not finite (its whole buffer: a blocked
/// layout's padding holds zeros), nullptr when every value is finite. fp32 or bf16.
const char* non_finite(const memory& m) {
  const memory::desc md = m.get_desc();
  if (md.data.data_type == dnnl_f32) {
    const float* p = detail::data(m);
    const std::size_t n = md.get_size() / sizeof(float);
    for (std::size_t i = 0; i < n; ++i) {
      if (!std::isfinite(p[i])) return std::isnan(p[i]) ? "NaN" : "Inf";
    }
  } else if (md.data.data_type == dnnl_bf16) {
    const auto* p = static_cast<const std::uint16_t*>(m.get_data_handle());
    const std::size_t n = md.get_size() / sizeof(std::uint16_t);
    for (std::size_t i = 0; i < n; ++i) {
      if ((p[i] & 0x7f80) == 0x7f80) return (p[i] & 0x7f) != 0 ? "NaN" : "Inf";
    }
  }
  return nullptr;
}

/// A step that throws NumericsError("archetype::onednn: <op>: <NaN|Inf> in the <what>") when
/// `m` holds a value that is not finite (Options::check_numerics).
detail::Step numerics_check(const codegen::Op& op, const memory& m, std::string what) {
  return detail::Step{
      {}, {}, [m, what = detail::Context::name(op) + ": %s in the " + std::move(what)] {
        if (const char* bad = non_finite(m)) {
          std::string text = "archetype::onednn: " + what;
          text.replace(text.find("%s"), 2, bad);
          throw NumericsError(text);
        }
      }};
}

[[noreturn]] void cannot_build(const codegen::Op& op, const char* pass, const std::exception& e) {
  throw std::runtime_error("archetype::onednn: cannot build the " + std::string(pass) + " of " +
                           detail::Context::name(op) + ": " + e.what());
}

std::string describe(std::int64_t floats, int batch, Shape s) {
  return std::to_string(floats) + " floats (batch " + std::to_string(batch) + " x " + std::to_string(s.c) +
         "x" + std::to_string(s.h) + "x" + std::to_string(s.w) + ")";
}

}  // namespace

Executable::Executable(const codegen::ProgramView& program, int batch, Mode mode, const Options& options)
    : impl_(std::make_unique<Impl>()) {
  if (batch < 1) {
    throw std::invalid_argument("archetype::onednn: batch must be at least 1, got " + std::to_string(batch));
  }
  if (options.precision == Precision::bf16 && !native_bf16()) {
    throw std::invalid_argument(
        "archetype::onednn: bf16 needs a CPU with AVX512-BF16 (oneDNN reports none on this one); use f32");
  }
  if (options.batch_norm_all_reduce &&
      (options.precision != Precision::f32 || options.batch_norm_processes < 1)) {
    throw std::invalid_argument(
        "archetype::onednn: synchronised BatchNorm runs in f32 over at least one process");
  }
  if (program.ops.empty() || program.tensors.size() != program.ops.size() + 1) {
    throw std::invalid_argument("archetype::onednn: the program has no ops or an inconsistent tensor list");
  }
  if (options.images_per_pass < 0) {
    throw std::invalid_argument(
        "archetype::onednn: images_per_pass must be 0 (chosen) or at least 1, got " +
        std::to_string(options.images_per_pass));
  }
  int pass = batch;  // training: the whole batch, always
  if (mode == Mode::inference) {
    pass = options.images_per_pass == 0 ? onednn::images_per_pass(program, batch, options.precision)
                                        : std::min(options.images_per_pass, batch);
  }
  if (options.conv_algorithm == ConvAlgorithm::fastest) {
    impl_ = Impl::fastest(program, pass, mode, options);
  } else {
    impl_->build(program, pass, mode, options);
    impl_->conv_plan.algorithm = options.conv_algorithm;
    impl_->conv_plan.winograd_convolutions = impl_->ctx.winograd_convolutions;
  }
  impl_->images = batch;
  if (pass < batch) impl_->outputs.assign(std::size_t(impl_->output_size / pass * batch), 0.f);
}

std::size_t last_level_cache_bytes() {
  std::size_t bytes = 0;
  int best_level = 0;
  for (int index = 0; index < 8; ++index) {
    const std::string dir =
        "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/";
    std::ifstream level_file(dir + "level");
    std::ifstream size_file(dir + "size");
    int level = 0;
    std::size_t size = 0;
    std::string unit;
    if (!(level_file >> level) || !(size_file >> size)) continue;
    size_file >> unit;  // "32768K"
    if (!unit.empty() && unit[0] == 'K') size <<= 10;
    if (!unit.empty() && unit[0] == 'M') size <<= 20;
    if (level > best_level) {
      best_level = level;
      bytes = size;
    }
  }
  return bytes > 0 ? bytes : std::size_t(32) << 20;
}

int images_per_pass(const codegen::ProgramView& program, int batch, Precision precision,
                    std::size_t cache_bytes) {
  if (batch < 1) {
    throw std::invalid_argument("archetype::onednn: batch must be at least 1, got " +
                                std::to_string(batch));
  }
  if (cache_bytes == 0) cache_bytes = last_level_cache_bytes();
  // The ops inference runs: folded (BatchNorm into its convolution, residual sums in place).
  std::vector<codegen::Op> ops(program.ops.begin(), program.ops.end());
  if (!program.folded) codegen::fold_inference(ops, program.output);
  std::int64_t largest = 1;  // one image's largest layer: its largest input and its result
  for (const codegen::Op& op : ops) {
    if (op.fusion.into >= 0 || op.layer.view) continue;
    const int result = op.fusion.head() ? op.fusion.result : op.output;
    std::int64_t in = 0;
    for (int i = 0; i < op.input_count; ++i) {
      in = std::max(in, program.tensors[std::size_t(op.inputs[i])].shape.elements());
    }
    largest = std::max(largest, in + program.tensors[std::size_t(result)].shape.elements());
  }
  const std::int64_t bytes = largest * (precision == Precision::bf16 ? 2 : 4);
  const std::int64_t most =
      std::max<std::int64_t>(min_images_per_pass, std::int64_t(cache_bytes) / bytes);
  if (most >= batch) return batch;
  // Among most/2 .. most images, the size whose passes compute the fewest (the last one is
  // filled up); on a tie the larger. Batch 32 and 20 fit: 16 (20 would compute 40).
  int best = int(most);
  std::int64_t least = (batch + most - 1) / most * most;
  for (std::int64_t c = most - 1; c >= (most + 1) / 2; --c) {
    const std::int64_t computed = (batch + c - 1) / c * c;
    if (computed < least) {
      best = int(c);
      least = computed;
    }
  }
  return best;
}

std::unique_ptr<Executable::Impl> Executable::Impl::fastest(const codegen::ProgramView& program,
                                                            int batch, Mode mode,
                                                            const Options& options) {
  using Choices = decltype(detail::Context::conv_choices);
  using OwnChoices = decltype(detail::Context::own_winograd_choices);
  const auto make = [&](ConvAlgorithm algorithm, Choices choices, OwnChoices own) {
    auto m = std::make_unique<Impl>();
    m->ctx.conv_choices = std::move(choices);  // measured before: not measured again
    m->ctx.own_winograd_choices = std::move(own);
    Options o = options;
    o.conv_algorithm = algorithm;
    m->build(program, batch, mode, o);
    return m;
  };
  ConvPlan plan;  // direct, unless the Winograd plan measures faster
  std::unique_ptr<Impl> winograd = make(ConvAlgorithm::fastest, {}, {});
  plan.winograd_convolutions = winograd->ctx.winograd_convolutions;
  if (plan.winograd_convolutions == 0 && !winograd->ctx.blocked_layout()) {
    winograd->conv_plan = plan;  // direct's layouts and algorithms: the direct plan itself
    return winograd;
  }
  plan.winograd_seconds = winograd->time_step();
  Choices choices = std::move(winograd->ctx.conv_choices);
  OwnChoices own = std::move(winograd->ctx.own_winograd_choices);
  winograd.reset();
  std::unique_ptr<Impl> direct = make(ConvAlgorithm::direct, {}, {});
  plan.direct_seconds = direct->time_step();
  if (plan.direct_seconds <= plan.winograd_seconds * ConvPlan::margin) {
    direct->conv_plan = plan;
    return direct;
  }
  direct.reset();
  winograd = make(ConvAlgorithm::fastest, std::move(choices), std::move(own));
  plan.algorithm = ConvAlgorithm::winograd;
  winograd->conv_plan = plan;
  return winograd;
}

double Executable::Impl::time_step() {
  const std::vector<float> saved_buffers = buffers;  // a training forward updates them
  auto all_reduce = std::exchange(ctx.options.batch_norm_all_reduce, [](std::span<double>) {});
  std::memset(ctx.tensors[std::size_t(input)].mem.get_data_handle(), 0,
              std::size_t(input_size) * sizeof(float));
  if (ctx.training())
    std::memset(output_grad.get_data_handle(), 0, std::size_t(output_size) * sizeof(float));
  apply_threads();
  run(ctx.weights_forward);
  double best = std::numeric_limits<double>::infinity();
  double total = 0;
  // Run 0 warms up; then at least 3 runs, more (up to 30) while they add up to under a
  // quarter of a second: the best of many is steadier for steps of a millisecond or two.
  for (int rep = 0; rep <= 3 || (rep <= 30 && total < 0.25); ++rep) {
    const auto start = std::chrono::steady_clock::now();
    if (ctx.training()) run(ctx.weights_forward);
    run(ctx.forward);
    if (ctx.training()) {
      run(ctx.weights_backward);
      run(ctx.backward);
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (rep > 0) {
      best = std::min(best, seconds);
      total += seconds;
    }
  }
  std::copy(saved_buffers.begin(), saved_buffers.end(), buffers.begin());
  std::fill(grads.begin(), grads.end(), 0.f);
  *ctx.dropout_step = 0;
  ctx.options.batch_norm_all_reduce = std::move(all_reduce);
  return best;
}

void Executable::Impl::build(const codegen::ProgramView& program, int batch, Mode mode,
                             const Options& options) {
  Impl& m = *this;
  detail::Context& ctx = m.ctx;
  // The end of the build: the values' storage, laid out from their lifetimes now known, and
  // one scratchpad for the convolutions.
  const auto finish = [&] {
    m.footprint = ctx.bind_pool(options.plan_memory);
    ctx.attach_scratchpad();
  };
  ctx.ops.assign(program.ops.begin(), program.ops.end());
  if (mode == Mode::inference && options.fold) {
    if (!program.folded) codegen::fold_inference(ctx.ops, program.output);
    // oneDNN's fused kernel only where values are kept blocked (Options::fuse_depthwise);
    // ours in either plan (Options::own_depthwise_pairs).
    const bool f32 = options.precision == Precision::f32;
    const bool blocked = options.conv_algorithm != ConvAlgorithm::direct && f32;
    const bool own = options.own_depthwise_pairs && f32 && detail::pointwise_depthwise_cpu();
    if (options.fuse_depthwise && (blocked || own))
      codegen::fuse_depthwise(ctx.ops, program.output);
  } else {
    for (codegen::Op& op : ctx.ops) op.fusion = codegen::Fusion{};
  }
  ctx.batch = batch;
  ctx.mode = mode;
  ctx.options = options;
  m.apply_threads();
  m.params.assign(std::size_t(program.params), 0.f);
  // Inference keeps no gradient block (VGG-16-CIFAR: 134 MB of zeros otherwise).
  if (mode == Mode::training) m.grads.assign(std::size_t(program.params), 0.f);
  m.buffers.assign(std::size_t(program.buffers), 0.f);
  for (const codegen::Op& op : ctx.ops) {  // running variance 1, as PyTorch starts
    if (op.layer.op == LayerKind::batch_norm) {
      std::fill_n(m.buffers.begin() + op.buffer_offset + op.layer.in.c, op.layer.in.c, 1.f);
    }
  }
  ctx.params = m.params.data();
  ctx.grads = m.grads.data();
  ctx.buffers = m.buffers.data();
  m.stream = dnnl::stream(ctx.eng);

  ctx.output = program.output;
  ctx.fused.assign(ctx.ops.size(), false);
  ctx.readers.assign(program.tensors.size(), 0);
  for (const codegen::Op& op : ctx.ops) {
    for (int i = 0; i < op.input_count; ++i) ++ctx.readers[std::size_t(op.inputs[i])];
  }
  // The training plan: the forward values a backward step reads, the tensors whose
  // gradient leads to a parameter (or to the input when asked), the fusions this backend
  // runs (BatchNorm + ReLU, Add + ReLU) where the plan places them.
  codegen::PlanOptions plan_options;
  plan_options.training = mode == Mode::training;
  plan_options.dropout = options.dropout;
  plan_options.input_gradient = options.input_gradient;
  plan_options.fusions = {true, true};
  plan_options.trainable = options.trainable;
  plan_options.batch_norm_inference = options.batch_norm_inference;
  ctx.plan = codegen::plan_training(program, plan_options);
  ctx.needed = ctx.plan.saved;
  ctx.needs_grad = ctx.plan.needs_grad;
  ctx.tensors.resize(program.tensors.size());
  for (std::size_t t = 0; t < program.tensors.size(); ++t) ctx.tensors[t].shape = program.tensors[t].shape;
  m.input = program.input;
  m.output = program.output;
  m.input_shape = ctx.tensors[std::size_t(m.input)].shape;
  m.output_shape = ctx.tensors[std::size_t(m.output)].shape;
  m.input_size = batch * m.input_shape.elements();
  m.output_size = batch * m.output_shape.elements();
  ctx.define(m.input, ctx.alloc(ctx.plain(m.input_shape)));

  // Forward pass, op by op; `owner` remembers which op registered each backward builder.
  std::vector<std::size_t> owner;
  std::vector<int> unread = ctx.readers;  // readers not built yet, per tensor
  for (std::size_t o = 0; o < ctx.ops.size(); ++o) {
    const codegen::Op& op = ctx.ops[o];
    // A fused op was built with the op before it; a depthwise convolution, with the 1x1
    // convolution whose result it reads.
    if (!ctx.fused[o] && op.fusion.into < 0 && op.fusion.depthwise_of < 0) {
      try {
        build_op(ctx, op);
      } catch (const dnnl::error& e) {
        cannot_build(op, "forward", e);
      }
    }
    owner.resize(ctx.backward_builders.size(), o);
    const bool computed = !ctx.fused[o] && op.fusion.into < 0 && !ctx.plan.view_op[o];
    if (options.check_numerics && computed && ctx.tensors[std::size_t(op.output)].mem) {
      ctx.forward.push_back(
          numerics_check(op, ctx.tensors[std::size_t(op.output)].mem, "forward pass"));
    }
    for (int i = 0; i < op.input_count; ++i) {
      if (--unread[std::size_t(op.inputs[i])] == 0) ctx.release(op.inputs[i]);
    }
  }
  const detail::TensorState& out = ctx.tensors[std::size_t(m.output)];
  if (out.md == ctx.plain(m.output_shape)) {
    m.output_plain = out.mem;
  } else {
    m.output_plain = ctx.alloc(ctx.plain(m.output_shape));
    ctx.forward.push_back(ctx.copy(out.mem, m.output_plain));
  }
  if (mode != Mode::training) {
    finish();
    return;
  }

  // Backward pass, in reverse op order, from the output's (plain) gradient.
  m.output_grad = ctx.alloc(ctx.plain(m.output_shape));
  ctx.tensors[std::size_t(m.output)].grad = m.output_grad;
  m.user_output_grad.assign(std::size_t(m.output_size), 0.f);
  // Once the last builder of op o has run, the gradients of every tensor produced by ops
  // o and later are dead (their readers come after them): their buffers are reused.
  int live_until = int(program.tensors.size());
  for (std::size_t b = ctx.backward_builders.size(); b-- > 0;) {
    try {
      // An op with nothing upstream to update (no parameter, no wanted input gradient) has
      // no backward.
      if (ctx.needs_grad[std::size_t(ctx.ops[owner[b]].output)]) ctx.backward_builders[b]();
    } catch (const dnnl::error& e) {
      cannot_build(ctx.ops[owner[b]], "backward", e);
    }
    if (b == 0 || owner[b - 1] != owner[b]) {
      const codegen::Op& op = ctx.ops[owner[b]];
      if (options.check_numerics && ctx.plan.backward[owner[b]]) {
        for (int i = 0; i < op.input_count; ++i) {
          const memory& g = ctx.tensors[std::size_t(op.inputs[i])].grad;
          if (g)
            ctx.backward.push_back(numerics_check(op, g, "backward pass, gradient of its input"));
        }
        if (ctx.plan.weight_gradient[owner[b]]) {
          const memory::desc block({memory::dim(op.layer.params)}, detail::dt::f32, detail::tag::x);
          ctx.backward.push_back(numerics_check(op, ctx.over_grads(block, op.param_offset),
                                                "backward pass, weight gradient"));
        }
      }
      // The op's weight gradient is final: whoever waits for it (gradient all-reduce) is told.
      if (ctx.plan.weight_gradient[owner[b]]) {
        const codegen::ParameterGroup& g =
            ctx.plan.groups[std::size_t(ctx.plan.group_of_op[owner[b]])];
        const GradientReady ready{ctx.plan.group_of_op[owner[b]], g.offset, g.size,
                                  m.grads.data() + g.offset, nullptr};
        ctx.backward.push_back(detail::Step{{},
                                            {},
                                            [&m, ready] {
                                              if (m.gradient_ready) m.gradient_ready(ready);
                                            },
                                            true});
      }
      const int first = ctx.ops[owner[b]].output;  // tensors are numbered in op order
      ctx.release_grads(first, live_until);
      live_until = first;
    }
  }
  ctx.backward_builders.clear();
  if (!options.input_gradient) {
    finish();
    return;
  }
  memory in_grad = ctx.grad_any(m.input);
  if (in_grad.get_desc() == ctx.plain(m.input_shape)) {
    m.input_grad_plain = in_grad;
  } else {
    m.input_grad_plain = ctx.alloc(ctx.plain(m.input_shape));
    ctx.backward.push_back(ctx.copy(in_grad, m.input_grad_plain));
  }
  finish();
}

Executable::~Executable() = default;
Executable::Executable(Executable&&) noexcept = default;
Executable& Executable::operator=(Executable&&) noexcept = default;

int Executable::batch() const { return impl_->images; }
Mode Executable::mode() const { return impl_->ctx.mode; }
int Executable::images_per_pass() const { return impl_->ctx.batch; }
Executable::Footprint Executable::footprint() const {
  Footprint m = impl_->footprint;
  m.scratchpad = impl_->ctx.scratchpad ? impl_->ctx.scratchpad.get_desc().get_size() : 0;
  return m;
}
Executable::ConvPlan Executable::conv_plan() const {
  ConvPlan plan = impl_->conv_plan;
  plan.depthwise_fusions = impl_->ctx.depthwise_fusions;
  return plan;
}
Executable::Passes Executable::passes() const {
  Passes p;
  const auto count = [&p](const detail::Steps& steps, int& all, int& reorders) {
    for (const detail::Step& s : steps) {
      if (s.hook) continue;
      ++all;
      if (!s.prim) continue;
      if (s.prim.get_kind() == dnnl::primitive::kind::reorder) ++reorders;
      const_dnnl_primitive_desc_t pd = nullptr;
      const char* impl = nullptr;
      if (dnnl_primitive_get_primitive_desc(s.prim.get(), &pd) != dnnl_success ||
          dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success || impl == nullptr ||
          !detail::reference_kernel(impl)) {
        continue;
      }
      std::size_t bytes = 0;  // the largest of its outputs
      for (const dnnl_query_t q : {dnnl_query_dst_md, dnnl_query_diff_src_md, dnnl_query_diff_weights_md}) {
        const dnnl_memory_desc_t* md = dnnl_primitive_desc_query_md(pd, q, 0);
        if (md != nullptr) bytes = std::max(bytes, dnnl_memory_desc_get_size(md));
      }
      if (bytes >= 16384) ++p.reference;
    }
  };
  count(impl_->ctx.forward, p.forward, p.forward_reorders);
  count(impl_->ctx.backward, p.backward, p.backward_reorders);
  return p;
}
std::span<float> Executable::parameters() {
  impl_->weights_ready = false;
  return impl_->params;
}
std::span<float> Executable::gradients() { return impl_->grads; }
void Executable::on_gradient_ready(std::function<void(const GradientReady&)> callback) {
  impl_->gradient_ready = std::move(callback);
}
std::span<float> Executable::buffers() {
  impl_->weights_ready = false;
  return impl_->buffers;
}

std::uint64_t Executable::dropout_passes() const { return *impl_->ctx.dropout_step; }
void Executable::set_dropout_passes(std::uint64_t passes) { *impl_->ctx.dropout_step = passes; }

std::span<const float> Executable::forward(std::span<const float> input) {
  Impl& m = *impl_;
  const std::int64_t pass = m.ctx.batch;
  const std::int64_t image_in = m.input_size / pass, image_out = m.output_size / pass;
  if (std::int64_t(input.size()) != image_in * m.images) {
    throw std::invalid_argument("archetype::onednn: forward() expected " +
                                describe(image_in * m.images, m.images, m.input_shape) + ", got " +
                                std::to_string(input.size()) + " floats");
  }
  auto* in = static_cast<float*>(m.ctx.tensors[std::size_t(m.input)].mem.get_data_handle());
  const auto* out = static_cast<const float*>(m.output_plain.get_data_handle());
  m.apply_threads();
  if (m.ctx.training()) ++*m.ctx.dropout_step;  // new dropout draws each forward pass
  if (m.ctx.training() || !m.weights_ready) m.run(m.ctx.weights_forward);
  m.weights_ready = true;
  m.have_forward = false;  // until every pass has run (a pass may throw NumericsError)
  // Inference in passes: each pass's images in, the network, their outputs out; the last
  // pass filled up with zeros where the batch does not divide (their outputs are dropped;
  // zeros, not whatever the buffer held, for Options::check_numerics).
  for (std::int64_t first = 0; first < m.images; first += pass) {
    const std::int64_t n = std::min(pass, m.images - first);
    std::memcpy(in, input.data() + first * image_in, std::size_t(n * image_in) * sizeof(float));
    if (n < pass) std::fill(in + n * image_in, in + pass * image_in, 0.f);
    m.run(m.ctx.forward);
    if (!m.outputs.empty()) std::copy_n(out, n * image_out, m.outputs.begin() + first * image_out);
  }
  m.have_forward = true;
  m.have_output_grad = false;
  if (!m.outputs.empty()) return m.outputs;
  return {out, std::size_t(m.output_size)};
}

float Executable::softmax_cross_entropy(std::span<const int> labels) {
  Impl& m = *impl_;
  const int batch = m.images;
  if (!m.have_forward)
    throw std::logic_error("archetype::onednn: softmax_cross_entropy() before forward()");
  const auto classes = std::int64_t(m.output_size / m.ctx.batch);
  codegen::check_labels(labels, batch, classes, "archetype::onednn");
  const float* logits = m.outputs.empty()
                            ? static_cast<const float*>(m.output_plain.get_data_handle())
                            : m.outputs.data();
  // Inference keeps no output gradient until a loss asks for one (its gradient unused).
  m.user_output_grad.resize(std::size_t(classes * batch));
  const float loss = codegen::softmax_cross_entropy({logits, std::size_t(classes * batch)}, labels,
                                                    batch, classes, m.user_output_grad);
  m.have_output_grad = true;
  return loss;
}

void Executable::set_output_gradient(std::span<const float> gradient) {
  Impl& m = *impl_;
  if (std::int64_t(gradient.size()) != m.output_size) {
    throw std::invalid_argument("archetype::onednn: set_output_gradient() expected " +
                                describe(m.output_size, m.ctx.batch, m.output_shape) + ", got " +
                                std::to_string(gradient.size()) + " floats");
  }
  if (m.ctx.mode != Mode::training) {
    throw std::logic_error("archetype::onednn: set_output_gradient() needs an executable built for training");
  }
  std::copy(gradient.begin(), gradient.end(), m.user_output_grad.begin());
  m.have_output_grad = true;
}

void Executable::backward() {
  Impl& m = *impl_;
  if (m.ctx.mode != Mode::training) {
    throw std::logic_error("archetype::onednn: backward() needs an executable built for training");
  }
  if (!m.have_forward || !m.have_output_grad) {
    throw std::logic_error(
        "archetype::onednn: backward() needs a forward() then softmax_cross_entropy() or set_output_gradient()");
  }
  std::memcpy(m.output_grad.get_data_handle(), m.user_output_grad.data(), m.user_output_grad.size() * sizeof(float));
  m.apply_threads();
  m.run(m.ctx.weights_backward);
  m.run(m.ctx.backward);
}

std::span<const float> Executable::input_gradient() {
  Impl& m = *impl_;
  if (!m.input_grad_plain) return {};
  return {static_cast<const float*>(m.input_grad_plain.get_data_handle()), std::size_t(m.input_size)};
}

}  // namespace archetype::onednn

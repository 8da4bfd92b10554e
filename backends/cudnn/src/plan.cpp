// The static memory plan (plan.hpp): lifetimes over one training step, first fit.
#include <archetype/backends/cudnn/plan.hpp>

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace archetype::cudnn {

bool is_view_op(const codegen::Op& op, bool training, bool dropout) {
  switch (op.layer.op) {
    case LayerKind::flatten: return true;  // NCHW order of C*H*W: the same floats
    case LayerKind::adaptive_avg_pool: return op.layer.in == op.layer.out;
    case LayerKind::dropout:
    case LayerKind::stochastic_depth: return !training || !dropout || op.layer.p == 0.0;
    default: return false;
  }
}

namespace {

/// Which forward values op `op`'s backward step reads (see plan.hpp).
enum class Reads { nothing, input, output, both_inputs };

Reads backward_reads(LayerKind k) {
  switch (k) {
    case LayerKind::conv:
    case LayerKind::linear:
    case LayerKind::batch_norm:
    case LayerKind::silu:
    case LayerKind::local_response_norm:
    case LayerKind::max_pool: return Reads::input;
    case LayerKind::relu:
    case LayerKind::relu6:
    case LayerKind::sigmoid: return Reads::output;
    case LayerKind::scale: return Reads::both_inputs;
    default: return Reads::nothing;
  }
}

std::int64_t aligned(std::int64_t n) {
  return (n + MemoryPlan::alignment - 1) / MemoryPlan::alignment * MemoryPlan::alignment;
}

}  // namespace

MemoryPlan plan_memory(const codegen::ProgramView& program, int batch, bool training, bool dropout,
                       bool input_gradient, bool fuse_batch_norm_relu) {
  const int n = int(program.ops.size());
  const int tensors = int(program.tensors.size());
  if (n == 0 || tensors != n + 1 || batch < 1) {
    throw std::invalid_argument("archetype::cudnn: plan_memory() needs ops, one tensor per op plus the input, and a batch >= 1");
  }
  MemoryPlan p;
  p.ops = n;
  p.training = training;
  p.base.resize(std::size_t(tensors));
  std::iota(p.base.begin(), p.base.end(), 0);
  p.view_op.assign(std::size_t(n), false);
  std::vector<int> producer(std::size_t(tensors), -1);
  for (int o = 0; o < n; ++o) {
    const codegen::Op& op = program.ops[std::size_t(o)];
    if (op.output != o + 1 || op.input_count < 1 || op.input_count > codegen::max_op_inputs) {
      throw std::invalid_argument("archetype::cudnn: op " + std::to_string(o) + " is not in the lowered form");
    }
    for (int i = 0; i < op.input_count; ++i) {
      if (op.inputs[i] < 0 || op.inputs[i] > o) {
        throw std::invalid_argument("archetype::cudnn: op " + std::to_string(o) + " reads a later tensor");
      }
    }
    producer[std::size_t(op.output)] = o;
    if (is_view_op(op, training, dropout)) {
      p.view_op[std::size_t(o)] = true;
      p.base[std::size_t(op.output)] = p.base[std::size_t(op.inputs[0])];
    }
  }

  // BatchNorm + ReLU: the ReLU must be the only op that reads the BatchNorm's output.
  p.fused_relu.assign(std::size_t(n), -1);
  p.absorbed.assign(std::size_t(n), false);
  if (fuse_batch_norm_relu) {
    std::vector<int> readers(std::size_t(tensors), 0), reader(std::size_t(tensors), -1);
    for (int o = 0; o < n; ++o) {
      const codegen::Op& op = program.ops[std::size_t(o)];
      for (int i = 0; i < op.input_count; ++i) {
        ++readers[std::size_t(op.inputs[i])];
        reader[std::size_t(op.inputs[i])] = o;
      }
    }
    for (int o = 0; o < n; ++o) {
      const int t = program.ops[std::size_t(o)].output, r = reader[std::size_t(t)];
      if (program.ops[std::size_t(o)].layer.op != LayerKind::batch_norm || t == program.output ||
          readers[std::size_t(t)] != 1 || program.ops[std::size_t(r)].layer.op != LayerKind::relu) {
        continue;
      }
      p.fused_relu[std::size_t(o)] = r;
      p.absorbed[std::size_t(r)] = true;
    }
  }

  // Gradients needed: a parameter (or the input, when asked) lies upstream.
  p.needs_grad.assign(std::size_t(tensors), false);
  if (training) {
    p.needs_grad[std::size_t(program.input)] = input_gradient;
    for (const codegen::Op& op : program.ops) {
      bool g = op.layer.params > 0;
      for (int i = 0; i < op.input_count; ++i) g = g || p.needs_grad[std::size_t(op.inputs[i])];
      p.needs_grad[std::size_t(op.output)] = g;
    }
  }

  const int end = p.end_time();
  std::vector<int> value_birth(std::size_t(tensors), 0), value_death(std::size_t(tensors), -1);
  for (int t = 0; t < tensors; ++t) {
    if (p.base[std::size_t(t)] == t) {
      value_birth[std::size_t(t)] = producer[std::size_t(t)] < 0 ? 0 : producer[std::size_t(t)];
      value_death[std::size_t(t)] = value_birth[std::size_t(t)];
    }
  }
  for (int o = 0; o < n; ++o) {  // an absorbed ReLU's output is written by its BatchNorm
    if (const int r = p.fused_relu[std::size_t(o)]; r >= 0) {
      const int u = p.base[std::size_t(program.ops[std::size_t(r)].output)];
      value_birth[std::size_t(u)] = std::min(value_birth[std::size_t(u)], o);
    }
  }
  auto keep_value = [&](int t, int time) {
    int& d = value_death[std::size_t(p.base[std::size_t(t)])];
    d = std::max(d, time);
  };
  keep_value(program.output, end);
  for (int o = 0; o < n; ++o) {
    const codegen::Op& op = program.ops[std::size_t(o)];
    for (int i = 0; i < op.input_count; ++i) keep_value(op.inputs[i], o);
    if (!training || p.view_op[std::size_t(o)] || p.absorbed[std::size_t(o)] ||
        !p.needs_grad[std::size_t(op.output)]) {
      continue;
    }
    const int bt = p.backward_time(o);
    if (const int r = p.fused_relu[std::size_t(o)]; r >= 0) keep_value(program.ops[std::size_t(r)].output, bt);
    switch (backward_reads(op.layer.op)) {
      case Reads::input: keep_value(op.inputs[0], bt); break;
      case Reads::output: keep_value(op.output, bt); break;
      case Reads::both_inputs:
        for (int i = 0; i < op.input_count; ++i) keep_value(op.inputs[i], bt);
        break;
      case Reads::nothing: break;
    }
  }

  // Gradient lifetimes and which contribution comes first (backward order: the loss, then
  // ops from the last to the first, each op's inputs in slot order).
  p.accumulate.assign(std::size_t(n), {});
  p.gradient_unwritten.assign(std::size_t(tensors), false);
  std::vector<int> grad_birth(std::size_t(tensors), -1), grad_death(std::size_t(tensors), -1);
  std::vector<bool> written(std::size_t(tensors), false);
  if (training) {
    const int out_base = p.base[std::size_t(program.output)];
    if (p.needs_grad[std::size_t(out_base)]) {
      written[std::size_t(out_base)] = true;
      grad_birth[std::size_t(out_base)] = p.loss_time();
    }
    for (int o = n - 1; o >= 0; --o) {
      const codegen::Op& op = program.ops[std::size_t(o)];
      if (p.view_op[std::size_t(o)]) continue;
      for (int i = 0; i < op.input_count; ++i) {
        const int b = p.base[std::size_t(op.inputs[i])];
        if (!p.needs_grad[std::size_t(b)]) continue;
        p.accumulate[std::size_t(o)][std::size_t(i)] = written[std::size_t(b)];
        if (!written[std::size_t(b)]) {
          written[std::size_t(b)] = true;
          grad_birth[std::size_t(b)] = p.backward_time(o);
        }
      }
    }
    for (int t = 0; t < tensors; ++t) {
      if (p.base[std::size_t(t)] != t || !p.needs_grad[std::size_t(t)]) continue;
      const int prod = producer[std::size_t(t)];
      grad_death[std::size_t(t)] = prod < 0 ? end : p.backward_time(prod);
      if (prod >= 0 && p.absorbed[std::size_t(prod)]) {  // read by the absorbing BatchNorm's backward
        const int batch_norm = producer[std::size_t(program.ops[std::size_t(prod)].inputs[0])];
        grad_death[std::size_t(t)] = p.backward_time(batch_norm);
      }
      if (!written[std::size_t(t)]) {  // nobody reads it: zeroed by its producer's backward step
        p.gradient_unwritten[std::size_t(t)] = true;
        grad_birth[std::size_t(t)] = grad_death[std::size_t(t)];
      }
    }
  }

  for (int t = 0; t < tensors; ++t) {
    if (p.base[std::size_t(t)] != t) continue;
    const std::int64_t size = aligned(std::int64_t{batch} * program.tensors[std::size_t(t)].shape.elements());
    p.buffers.push_back({PlannedBuffer::Kind::value, t, 0, size, value_birth[std::size_t(t)], value_death[std::size_t(t)]});
    if (grad_death[std::size_t(t)] >= 0) {
      p.buffers.push_back(
          {PlannedBuffer::Kind::gradient, t, 0, size, grad_birth[std::size_t(t)], grad_death[std::size_t(t)]});
    }
  }
  // First fit in order of birth (ties: larger first, then as listed).
  std::vector<std::size_t> order(p.buffers.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const PlannedBuffer& x = p.buffers[a];
    const PlannedBuffer& y = p.buffers[b];
    return x.birth != y.birth ? x.birth < y.birth : x.size > y.size;
  });
  std::vector<std::size_t> placed;
  for (std::size_t k : order) {
    PlannedBuffer& x = p.buffers[k];
    std::vector<std::pair<std::int64_t, std::int64_t>> busy;  // [offset, end) of live placed buffers
    for (std::size_t j : placed) {
      const PlannedBuffer& y = p.buffers[j];
      if (y.death >= x.birth && y.birth <= x.death) busy.emplace_back(y.offset, y.offset + y.size);
    }
    std::sort(busy.begin(), busy.end());
    std::int64_t candidate = 0;
    for (const auto& [lo, hi] : busy) {
      if (lo >= candidate + x.size) break;
      candidate = std::max(candidate, hi);
    }
    x.offset = candidate;
    p.arena = std::max(p.arena, candidate + x.size);
    placed.push_back(k);
  }

  p.value.assign(std::size_t(tensors), -1);
  p.gradient.assign(std::size_t(tensors), -1);
  for (const PlannedBuffer& b : p.buffers) {
    (b.kind == PlannedBuffer::Kind::value ? p.value : p.gradient)[std::size_t(b.tensor)] = b.offset;
  }
  for (int t = 0; t < tensors; ++t) {
    const int b = p.base[std::size_t(t)];
    p.value[std::size_t(t)] = p.value[std::size_t(b)];
    p.gradient[std::size_t(t)] = p.needs_grad[std::size_t(t)] ? p.gradient[std::size_t(b)] : -1;
  }
  return p;
}

std::string check_plan(const MemoryPlan& plan) {
  auto name = [](const PlannedBuffer& b) {
    return std::string(b.kind == PlannedBuffer::Kind::value ? "value" : "gradient") + " of tensor " +
           std::to_string(b.tensor) + " [" + std::to_string(b.birth) + ", " + std::to_string(b.death) + "]";
  };
  for (std::size_t i = 0; i < plan.buffers.size(); ++i) {
    const PlannedBuffer& a = plan.buffers[i];
    if (a.offset < 0 || a.offset + a.size > plan.arena || a.offset % MemoryPlan::alignment != 0) {
      return name(a) + " lies outside the arena or is misaligned";
    }
    if (a.birth > a.death) return name(a) + " dies before it is born";
    for (std::size_t j = i + 1; j < plan.buffers.size(); ++j) {
      const PlannedBuffer& b = plan.buffers[j];
      const bool in_time = a.death >= b.birth && b.death >= a.birth;
      const bool in_memory = a.offset < b.offset + b.size && b.offset < a.offset + a.size;
      if (in_time && in_memory) return name(a) + " and " + name(b) + " overlap";
    }
  }
  return "";
}

bool has_channels_last_kernel(LayerKind kind) {
  return kind != LayerKind::local_response_norm && kind != LayerKind::pad_to && kind != LayerKind::resize;
}

/// Whether every op of the program has a channels-last (NHWC) implementation here and no op
/// reads a reshaped view of a map larger than 1x1 (Flatten to a Linear: the flattening order
/// would differ from NCHW's, which the weights assume); the output must be 1x1 per channel.
bool channels_last_possible(const codegen::ProgramView& program, const MemoryPlan& plan) {
  const auto pixels = [&](int t) { return std::int64_t{program.tensors[std::size_t(t)].shape.h} * program.tensors[std::size_t(t)].shape.w; };
  if (pixels(plan.base[std::size_t(program.output)]) != 1) return false;
  for (std::size_t o = 0; o < program.ops.size(); ++o) {
    if (plan.view_op[o]) continue;
    const codegen::Op& op = program.ops[o];
    if (!has_channels_last_kernel(op.layer.op)) return false;
    if (op.layer.op == LayerKind::linear && pixels(op.inputs[0]) != 1) return false;
    for (int i = 0; i < op.input_count; ++i) {
      const int t = op.inputs[i], base = plan.base[std::size_t(t)];
      if (base != t && pixels(base) != 1 &&
          !(program.tensors[std::size_t(t)].shape == program.tensors[std::size_t(base)].shape)) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace archetype::cudnn

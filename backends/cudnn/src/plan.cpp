// The static memory plan (plan.hpp): codegen's training plan, placed by codegen's packer.
#include <archetype/backends/cudnn/plan.hpp>

#include <algorithm>
#include <stdexcept>

namespace archetype::cudnn {

MemoryPlan plan_memory(const codegen::ProgramView& program, int batch, bool training, bool dropout,
                       bool input_gradient, bool fuse_batch_norm_relu) {
  if (batch < 1) throw std::invalid_argument("archetype::cudnn: plan_memory() needs a batch >= 1");
  MemoryPlan p;
  codegen::PlanOptions options;
  options.training = training;
  options.dropout = dropout;
  options.input_gradient = input_gradient;
  options.fusions.batch_norm_relu = fuse_batch_norm_relu;
  static_cast<codegen::TrainingPlan&>(p) = codegen::plan_training(program, options);

  const int tensors = int(program.tensors.size());
  std::vector<codegen::ArenaRequest> requests;
  for (int t = 0; t < tensors; ++t) {
    if (p.base[std::size_t(t)] != t) continue;
    const std::int64_t size =
        std::int64_t{batch} * program.tensors[std::size_t(t)].shape.elements();
    const codegen::Lifetime v = p.value_life[std::size_t(t)], g = p.gradient_life[std::size_t(t)];
    p.buffers.push_back({PlannedBuffer::Kind::value, t, 0, size, v.birth, v.death});
    if (training && p.needs_grad[std::size_t(t)]) {
      p.buffers.push_back({PlannedBuffer::Kind::gradient, t, 0, size, g.birth, g.death});
    }
  }
  for (const PlannedBuffer& b : p.buffers) {
    requests.push_back({std::size_t(b.size) * sizeof(float), codegen::Lifetime{b.birth, b.death}});
  }
  constexpr std::size_t bytes_aligned = MemoryPlan::alignment * sizeof(float);
  const codegen::ArenaLayout layout = codegen::pack_arena(requests, bytes_aligned);
  for (std::size_t k = 0; k < p.buffers.size(); ++k) {
    PlannedBuffer& b = p.buffers[k];
    b.offset = std::int64_t(layout.offsets[k] / sizeof(float));
    b.size = (b.size + MemoryPlan::alignment - 1) / MemoryPlan::alignment * MemoryPlan::alignment;
  }
  p.arena = std::int64_t(layout.total / sizeof(float));

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

#include "context.hpp"

#include "silu.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>

#include <sys/mman.h>

#ifdef ARCHETYPE_ONEDNN_OPENMP
#include <omp.h>
#endif

namespace archetype::onednn::detail {

int channel_block() {
  static const int block = [] {
    const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
    const auto avx512 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core);
    return (isa & avx512) == avx512 ? 16 : 8;  // masks include the bits of the ISAs they extend
  }();
  return block;
}

bool same_bytes(const memory::desc& a, const memory::desc& b) {
  if (a == b) return true;
  const dnnl_memory_desc_t& x = a.data;
  const dnnl_memory_desc_t& y = b.data;
  if (x.format_kind != dnnl_blocked || y.format_kind != dnnl_blocked || x.data_type != y.data_type ||
      x.ndims != y.ndims || x.offset0 != y.offset0 || x.extra.flags != 0 || y.extra.flags != 0) {
    return false;
  }
  for (int d = 0; d < x.ndims; ++d) {
    if (x.dims[d] != y.dims[d] || x.padded_dims[d] != x.dims[d] || y.padded_dims[d] != y.dims[d]) return false;
  }
  // Per dimension, its index split into (extent, stride) pieces from outer to inner: the
  // outer piece, then its inner blocks in order; pieces of extent 1 dropped, and a piece
  // merged into the one before it where the two are contiguous.
  using Pieces = std::vector<std::pair<dnnl_dim_t, dnnl_dim_t>>;
  const auto pieces = [](const dnnl_memory_desc_t& m, int d) {
    const dnnl_blocking_desc_t& bd = m.format_desc.blocking;
    dnnl_dim_t inner = 1;
    for (int i = 0; i < bd.inner_nblks; ++i) {
      if (bd.inner_idxs[i] == d) inner *= bd.inner_blks[i];
    }
    Pieces p;
    const auto add = [&p](dnnl_dim_t extent, dnnl_dim_t stride) {
      if (extent == 1) return;
      if (!p.empty() && p.back().second == extent * stride) {
        p.back() = {p.back().first * extent, stride};
      } else {
        p.emplace_back(extent, stride);
      }
    };
    add(m.padded_dims[d] / inner, bd.strides[d]);
    for (int i = 0; i < bd.inner_nblks; ++i) {
      if (bd.inner_idxs[i] != d) continue;
      dnnl_dim_t stride = 1;
      for (int k = i + 1; k < bd.inner_nblks; ++k) stride *= bd.inner_blks[k];
      add(bd.inner_blks[i], stride);
    }
    return p;
  };
  for (int d = 0; d < x.ndims; ++d) {
    if (pieces(x, d) != pieces(y, d)) return false;
  }
  return true;
}


namespace {
void zero(const memory& m) { std::memset(m.get_data_handle(), 0, m.get_desc().get_size()); }
}  // namespace

memory Context::alloc(const memory::desc& md) const {
  constexpr std::size_t large = std::size_t{256} << 10;
  const std::size_t bytes = md.get_size();
  if (bytes < large) return memory(md, eng);
  pages.push_back(map_pages(bytes));
  return memory(md, eng, pages.back().get());
}

std::shared_ptr<void> Context::map_pages(std::size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();  // zero-filled by the system
  return {p, [bytes](void* q) { munmap(q, bytes); }};
}

memory Context::activation(const memory::desc& md) { return pooled(md); }

dnnl::primitive_attr Context::user_scratchpad(dnnl::primitive_attr attr) {
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

namespace {
/// The scratchpad `step`'s primitive was built to be given (empty: none, or library-managed).
memory::desc scratchpad_of(const Step& step) {
  if (!step.prim) return {};
  const dnnl_memory_desc_t* md =
      dnnl_primitive_desc_query_md(step.prim.get_primitive_desc(), dnnl_query_scratchpad_md, 0);
  return md != nullptr ? memory::desc(*md) : memory::desc();
}
}  // namespace

void Context::attach_scratchpad() {
  Steps* lists[] = {&weights_forward, &forward, &weights_backward, &backward};
  std::size_t bytes = 0;
  for (Steps* steps : lists) {
    for (const Step& s : *steps) bytes = std::max(bytes, scratchpad_of(s).get_size());
  }
  if (bytes == 0) return;
  scratchpad = alloc(memory::desc({memory::dim(bytes)}, dt::u8, tag::a));
  for (Steps* steps : lists) {
    for (Step& s : *steps) {
      const memory::desc md = scratchpad_of(s);
      if (md.get_size() > 0) s.args[DNNL_ARG_SCRATCHPAD] = memory(md, eng, scratchpad.get_data_handle());
    }
  }
}

memory Context::pooled(const memory::desc& md) {
  const std::size_t bytes = md.get_size();
  const std::size_t k = requests.size();
  std::size_t best = pool.size();
  for (std::size_t i = 0; i < pool.size(); ++i) {
    const Buffer& b = pool[i];
    if (b.users == 0 && !b.pending && b.bytes >= bytes && (best == pool.size() || b.bytes < pool[best].bytes)) {
      best = i;
    }
  }
  if (best == pool.size()) pool.push_back(Buffer{bytes});
  Buffer& b = pool[best];
  if (b.request != npos) requests[b.request].end = b.free_since;  // its last user is gone
  b.request = k;
  b.free_since = npos;
  b.pending = true;
  memory m(md, eng, DNNL_MEMORY_NONE);  // storage given by bind_pool
  requests.push_back({bytes, npos, best, {m}});
  buffer_of[m.get()] = best;
  return m;
}

memory Context::view(const memory& m, const memory::desc& md) const {
  if (m.get_data_handle() != nullptr) return memory(md, eng, m.get_data_handle());
  memory v(md, eng, DNNL_MEMORY_NONE);
  pending_views.emplace_back(v, m);
  if (const auto it = buffer_of.find(m.get()); it != buffer_of.end())
    buffer_of[v.get()] = it->second;
  return v;
}

Executable::Footprint Context::bind_pool(bool arena_wanted) {
  const std::size_t n = requests.size();
  std::vector<std::size_t> end(n);
  for (std::size_t i = 0; i < n; ++i) end[i] = requests[i].end;
  for (const Buffer& b : pool) {
    if (b.request != npos) end[b.request] = b.users == 0 && !b.pending ? b.free_since : npos;
  }
  // Request i is alive for the calls i .. end[i] - 1.
  std::vector<codegen::ArenaRequest> lives(n);
  for (std::size_t i = 0; i < n; ++i) {
    const int last = end[i] == npos ? std::numeric_limits<int>::max() : int(end[i]) - 1;
    lives[i] = {requests[i].bytes, codegen::Lifetime{int(i), std::max(last, int(i))}};
  }
  static constexpr std::size_t align = 64;  // oneDNN's alignment for its own allocations
  const codegen::ArenaLayout layout = codegen::pack_arena(lives, align);
  std::size_t best_fit = 0;
  for (const Buffer& b : pool) best_fit += b.bytes;
  Executable::Footprint f{layout.total, layout.live_peak, best_fit, 0};
  std::vector<char*> where(n);
  if (arena_wanted && layout.total < best_fit) {
    arena =
        alloc(memory::desc({memory::dim(std::max<std::size_t>(layout.total, 1))}, dt::u8, tag::a));
    for (std::size_t i = 0; i < n; ++i)
      where[i] = static_cast<char*>(arena.get_data_handle()) + layout.offsets[i];
  } else {
    f.values = best_fit;
    std::vector<memory> buffers;
    for (const Buffer& b : pool) {
      buffers.push_back(
          alloc(memory::desc({memory::dim(std::max<std::size_t>(b.bytes, 1))}, dt::u8, tag::a)));
    }
    for (std::size_t i = 0; i < n; ++i)
      where[i] = static_cast<char*>(buffers[requests[i].buffer].get_data_handle());
    pool_storage = std::move(buffers);
  }
  for (std::size_t i = 0; i < n; ++i) {
    for (memory& m : requests[i].memories) m.set_data_handle(where[i]);
  }
  for (auto& [v, source] : pending_views) v.set_data_handle(source.get_data_handle());
  pending_views.clear();
  return f;
}

void Context::release_grads(int first, int last) {
  for (int t = first; t < last; ++t) {
    TensorState& ts = tensors[std::size_t(t)];
    if (ts.grad) drop(ts.grad);
    for (const memory& m : ts.grad_converted) drop(m);
  }
  for (const memory& m : transient) drop(m);
  transient.clear();
}

void Context::take(const memory& m) {
  auto it = buffer_of.find(m.get());
  if (it == buffer_of.end()) return;  // not a pooled buffer
  Buffer& b = pool[it->second];
  b.pending = false;
  ++b.users;
  b.free_since = npos;
}

void Context::drop(const memory& m) {
  if (!m) return;  // a value never stored (the 1x1 result of a depthwise fusion)
  auto it = buffer_of.find(m.get());
  if (it == buffer_of.end()) return;
  Buffer& b = pool[it->second];
  if (b.users > 0) --b.users;
  if (b.users == 0 && !b.pending) b.free_since = requests.size();
}

void Context::define(int t, const memory& mem) {
  TensorState& ts = tensors[std::size_t(t)];
  ts.md = mem.get_desc();
  ts.mem = mem;
  take(mem);
}

void Context::define_chain(const codegen::Op& head, const memory& mem) {
  define(head.output, mem);
  const std::size_t h = index(head);
  for (int k = 1; k <= head.fusion.absorbed; ++k) define(ops[h + std::size_t(k)].output, mem);
}

Context::Eltwise Context::eltwise(LayerKind kind) {
  switch (kind) {
    case LayerKind::relu: return {dnnl::algorithm::eltwise_relu, 0.f, 0.f};
    case LayerKind::relu6: return {dnnl::algorithm::eltwise_clip_v2, 0.f, 6.f};
    case LayerKind::silu: return {dnnl::algorithm::eltwise_swish, 1.f, 0.f};
    case LayerKind::sigmoid: return {dnnl::algorithm::eltwise_logistic, 0.f, 0.f};
    default: throw std::logic_error("archetype::onednn: not an activation");
  }
}

void Context::append_activation(dnnl::post_ops& po, const codegen::Op& head) {
  if (!head.fusion.activated) return;
  const Eltwise e = eltwise(head.fusion.activation);
  po.append_eltwise(1.f, e.alg, e.alpha, e.beta);
}

int Context::threads() const {
  if (options.threads > 0) return options.threads;
#ifdef ARCHETYPE_ONEDNN_OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

bool Context::silu_after(const codegen::Op& head) const {
  // Below 16 K values the pass's own call costs more than the post-op (squeeze-and-
  // excitation's convolutions on 1x1 images: 0.8x; 64 channels at 12x12, 0.9x; at 16x16,
  // 1.06x).
  const Shape s = tensors[std::size_t(head.output)].shape;
  return head.fusion.activated && head.fusion.activation == LayerKind::silu && !training() &&
         act() == dt::f32 && options.vector_silu && silu_in_place_available() &&
         std::int64_t{batch} * s.c * s.h * s.w >= 16384;
}

Step Context::silu_step(const memory& m) {
  const std::int64_t n = std::int64_t(m.get_desc().get_size() / sizeof(float));
  return Step{{}, {}, [m, n] { silu_in_place(data(m), n); }};
}

dnnl::primitive_attr Context::post_ops(const codegen::Op& head, bool activation) {
  dnnl::post_ops po;
  if (head.fusion.sum >= 0) po.append_sum(1.f);
  if (activation) append_activation(po, head);
  dnnl::primitive_attr attr;
  attr.set_post_ops(po);
  return attr;
}

void Context::release(int t) {
  if (t == output || (training() && needed[std::size_t(t)])) return;
  TensorState& ts = tensors[std::size_t(t)];
  drop(ts.mem);
  for (const memory& m : ts.converted) drop(m);
}

memory Context::value_as(int t, const memory::desc& md, Steps& steps) {
  TensorState& ts = tensors[std::size_t(t)];
  if (ts.md == md) return ts.mem;
  for (const memory& m : ts.converted) {
    if (m.get_desc() == md) return m;
  }
  if (same_bytes(ts.md, md)) {  // another name for the same layout: a view, no copy
    memory v = view(ts.mem, md);
    take(v);
    ts.converted.push_back(v);
    return v;
  }
  memory m = activation(md);
  take(m);
  steps.push_back(copy(ts.mem, m));
  ts.converted.push_back(m);
  return m;
}

memory Context::weights_as(const memory& plain_weights, const memory::desc& md, Steps& steps) {
  if (plain_weights.get_desc() == md) return plain_weights;
  memory m = alloc(md);
  steps.push_back(copy(plain_weights, m));
  return m;
}

memory Context::weights_transient(const memory& plain_weights, const memory::desc& md, Steps& steps) {
  if (plain_weights.get_desc() == md) return plain_weights;
  memory m = scratch(md);
  steps.push_back(copy(plain_weights, m));
  return m;
}

memory Context::grad_as(int t, const memory::desc& md, Steps& steps) {
  TensorState& ts = tensors[std::size_t(t)];
  if (!ts.grad) {  // nobody reads it: its gradient is zero
    ts.grad = alloc(md);
    zero(ts.grad);
  }
  if (ts.grad.get_desc() == md) return ts.grad;
  for (const memory& m : ts.grad_converted) {
    if (m.get_desc() == md) return m;
  }
  if (same_bytes(ts.grad.get_desc(), md)) {
    memory v = view(ts.grad, md);
    take(v);
    ts.grad_converted.push_back(v);
    return v;
  }
  memory m = pooled(md);
  take(m);
  steps.push_back(copy(ts.grad, m));
  ts.grad_converted.push_back(m);
  return m;
}

memory Context::grad_any(int t) {
  TensorState& ts = tensors[std::size_t(t)];
  if (!ts.grad) {
    ts.grad = alloc(ts.md);
    zero(ts.grad);
  }
  return ts.grad;
}

memory Context::grad_target(int t, const memory::desc& md, Steps& post, const memory& reuse) {
  TensorState& ts = tensors[std::size_t(t)];
  const bool can_reuse = reuse && reuse.get_desc() == md &&
                         (!ts.grad || ts.grad.get_data_handle() != reuse.get_data_handle());
  if (!ts.grad) {
    ts.grad = can_reuse ? reuse : pooled(md);
    take(ts.grad);
    return ts.grad;
  }
  memory scratch = can_reuse ? reuse : pooled(md);
  if (!can_reuse) {
    take(scratch);
    transient.push_back(scratch);
  }
  post.push_back(accumulate(scratch, ts.grad));
  return scratch;
}

void Context::push_grad(int t, const memory& src, Steps& steps, bool can_alias) {
  TensorState& ts = tensors[std::size_t(t)];
  if (!ts.grad) {
    if (can_alias) {
      ts.grad = src;
    } else {
      ts.grad = pooled(src.get_desc());
      steps.push_back(copy(src, ts.grad));
    }
    take(ts.grad);
    return;
  }
  steps.push_back(accumulate(src, ts.grad));
}

Step Context::accumulate(const memory& src, const memory& dst) const {
  const memory::desc& smd = src.get_desc();
  const memory::desc& dmd = dst.get_desc();
  if (same_bytes(smd, dmd)) {
    dnnl::binary::desc d(dnnl::algorithm::binary_add, dmd, dmd, dmd);
    dnnl::binary::primitive_desc pd(d, eng);
    return Step{dnnl::binary(pd), {{DNNL_ARG_SRC_0, dst}, {DNNL_ARG_SRC_1, view(src, dmd)}, {DNNL_ARG_DST, dst}}, {}};
  }
  dnnl::post_ops po;
  po.append_sum(1.f);
  dnnl::primitive_attr attr;
  attr.set_post_ops(po);
  dnnl::reorder::primitive_desc pd(eng, smd, eng, dmd, attr);
  return Step{dnnl::reorder(pd), {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}}, {}};
}

Step Context::copy(const memory& src, const memory& dst) const {
  dnnl::reorder::primitive_desc pd(eng, src.get_desc(), eng, dst.get_desc());
  return Step{dnnl::reorder(pd), {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}}, {}};
}

std::string Context::name(const codegen::Op& op) {
  std::string s{op.layer.path.view()};
  if (s.empty()) s = "<net>";
  s += " (";
  s += op.layer.kind.view();
  s += ")";
  return s;
}

}  // namespace archetype::onednn::detail

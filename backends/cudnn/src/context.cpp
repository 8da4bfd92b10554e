// The shared helpers of the cuDNN plug-in (context.hpp): error checks, descriptors, the
// device check, and what every training or inference call enqueues around the op steps.
#include "context.hpp"

#include <cstring>
#include <stdexcept>

namespace archetype::cudnn::detail {

namespace {

[[noreturn]] void fail(const std::string& what, const char* error) {
  throw std::runtime_error("archetype::cudnn: " + what + ": " + error);
}

}  // namespace

void check(cudaError_t e, const std::string& what) {
  if (e != cudaSuccess) fail(what, cudaGetErrorString(e));
}
void check(cudnnStatus_t s, const std::string& what) {
  if (s != CUDNN_STATUS_SUCCESS) fail(what, cudnnGetErrorString(s));
}
void check(cublasStatus_t s, const std::string& what) {
  if (s != CUBLAS_STATUS_SUCCESS) fail(what, cublasGetStatusString(s));
}

Shared<cudnnTensorDescriptor_t> tensor_desc(int n, int c, int h, int w, cudnnDataType_t type,
                                            bool nhwc) {
  auto owned = make_descriptor(cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor,
                               "cudnnCreateTensorDescriptor");
  check(cudnnSetTensor4dDescriptor(owned.get(), nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW, type,
                                   n, c, h, w),
        "cudnnSetTensor4dDescriptor");
  return owned;
}

Shared<cudnnFilterDescriptor_t> filter_desc(int k, int c, int h, int w, cudnnDataType_t type,
                                            bool nhwc) {
  auto owned = make_descriptor(cudnnCreateFilterDescriptor, cudnnDestroyFilterDescriptor,
                               "cudnnCreateFilterDescriptor");
  check(cudnnSetFilter4dDescriptor(owned.get(), type, nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW,
                                   k, c, h, w),
        "cudnnSetFilter4dDescriptor");
  return owned;
}

std::string op_name(const codegen::Op& op) {
  return std::string(op.layer.path.view()) + " (" + std::string(op.layer.kind.view()) + ")";
}

std::string device_unavailable_reason(int device) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess)
    return std::string("no CUDA device available (") + cudaGetErrorString(e) + ")";
  if (count == 0) return "no CUDA device available (device count is 0)";
  if (device < 0 || device >= count) {
    return "CUDA device " + std::to_string(device) + " does not exist (" + std::to_string(count) +
           " found)";
  }
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, device) != cudaSuccess)
    return "cannot read the properties of the CUDA device";
  if (prop.major < 7) {
    return std::string("CUDA device ") + prop.name + " has compute capability " +
           std::to_string(prop.major) + "." + std::to_string(prop.minor) +
           ", below the 7.0 the cuDNN backend needs";
  }
  if (cudaSetDevice(device) != cudaSuccess)
    return "cannot select CUDA device " + std::to_string(device);
  cudnnHandle_t h = nullptr;
  const cudnnStatus_t s = cudnnCreate(&h);
  if (s != CUDNN_STATUS_SUCCESS)
    return std::string("cuDNN cannot start: ") + cudnnGetErrorString(s);
  cudnnDestroy(h);
  return "";
}

std::vector<Impl::ParamRun> Impl::param_runs(const codegen::Op& op) const {
  const LayerRow& L = op.layer;
  if (!nhwc || L.op != LayerKind::conv) return {{op.param_offset, L.params}};
  const int c = L.in.c / L.groups;
  const std::int64_t rs = std::int64_t{L.kernel_h} * L.kernel_w,
                     weights = std::int64_t{L.out.c} * c * rs;
  std::vector<ParamRun> runs{{op.param_offset, weights, L.out.c, c, rs}};
  if (L.params > weights) runs.push_back({op.param_offset + weights, L.params - weights});
  return runs;
}

Impl::~Impl() {
  if (graph_exec != nullptr) cudaGraphExecDestroy(graph_exec);
  if (graph != nullptr) cudaGraphDestroy(graph);
  if (blas != nullptr) cublasDestroy(blas);
  if (dnn != nullptr) cudnnDestroy(dnn);
  if (stream != nullptr) cudaStreamDestroy(stream);
}

void Impl::push_host_mirrors() {
  if (params_host_dirty) upload(params, host_params, "parameters to the device");
  if (buffers_host_dirty) upload(buffers, host_buffers, "buffers to the device");
  if (state_host_dirty) upload(state, host_state, "optimizer state to the device");
  params_host_dirty = buffers_host_dirty = state_host_dirty = false;
}

void Impl::enqueue_loss() {
  const int classes = int(output_size / batch);
  void* dlogits = gradient(output) != nullptr ? gradient(output) : loss_gradient_scratch.ptr;
  if (bf16()) {
    kernels::softmax_cross_entropy(stream, value<Bf16>(output), labels.as<int>(),
                                   static_cast<Bf16*>(dlogits), loss(), per_sample.as<double>(),
                                   batch, classes);
  } else {
    kernels::softmax_cross_entropy(stream, value<float>(output), labels.as<int>(),
                                   static_cast<float*>(dlogits), loss(), per_sample.as<double>(),
                                   batch, classes);
  }
}

void Impl::enqueue_input(const void* source) {
  const std::size_t bytes = std::size_t(input_size) * sizeof(float);
  if (!bf16()) {
    check(cudaMemcpyAsync(value(input), source, bytes, cudaMemcpyHostToDevice, stream),
          "images to the device");
    return;
  }
  check(cudaMemcpyAsync(input_f32.ptr, source, bytes, cudaMemcpyHostToDevice, stream),
        "images to the device");
  if (nhwc) {
    kernels::transpose_cast(stream, input_f32.as<float>(), value<Bf16>(input), batch, input_shape.c,
                            std::int64_t{input_shape.h} * input_shape.w, true);
  } else {
    kernels::cast(stream, input_f32.as<float>(), value<Bf16>(input), input_size);
  }
}

void Impl::to_floats(const void* raw, float* out, std::int64_t n) {
  if (!bf16()) {
    std::memcpy(out, raw, std::size_t(n) * sizeof(float));
    return;
  }
  const Bf16* b = static_cast<const Bf16*>(raw);
  for (std::int64_t i = 0; i < n; ++i) out[i] = kernels::to_float(b[i]);
}

void Impl::enqueue_update(const float* loss_or_null) {
  const OptimizerOptions& o = options.optimizer;
  kernels::OptimizerStep k;
  k.adam = o.kind == OptimizerOptions::Kind::adam;
  k.momentum = float(o.momentum);
  k.weight_decay = float(o.weight_decay);
  k.nesterov = o.nesterov;
  k.beta1 = o.beta1;
  k.beta2 = o.beta2;
  k.epsilon = float(o.epsilon);
  k.decoupled = o.decoupled;
  kernels::optimizer_step(stream, k, params.as<float>(), grads.as<float>(),
                          state_count > 0 ? state.as<float>() : nullptr, params_count, lr(),
                          steps(), loss_or_null);
}

void Impl::enqueue_train_step() {
  enqueue_input(staged_images.ptr);
  check(cudaMemcpyAsync(labels.ptr, staged_labels.ptr, std::size_t(batch) * sizeof(int),
                        cudaMemcpyHostToDevice, stream),
        "labels to the device");
  check(cudaMemcpyAsync(lr(), staged_lr.ptr, sizeof(float), cudaMemcpyHostToDevice, stream),
        "learning rate to the device");
  run(forward_steps);
  enqueue_loss();
  run(backward_steps);
  enqueue_update(loss());
  check(cudaMemcpyAsync(staged_loss.ptr, loss(), sizeof(float), cudaMemcpyDeviceToHost, stream),
        "loss to the host");
  check(cudaMemcpyAsync(staged_logits.ptr, value(output), std::size_t(output_size) * elem,
                        cudaMemcpyDeviceToHost, stream),
        "logits to the host");
}

void Impl::start_device() {
  check(cudaSetDevice(options.device), "cudaSetDevice");
  check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
  check(cudnnCreate(&dnn), "cudnnCreate");
  check(cudnnSetStream(dnn, stream), "cudnnSetStream");
  check(cublasCreate(&blas), "cublasCreate");
  check(cublasSetStream(blas, stream), "cublasSetStream");
  check(cublasSetMathMode(blas, options.tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH),
        "cublasSetMathMode");
  // cuBLAS gets a workspace of its own so that it never allocates inside a captured graph
  // (32 MiB: NVIDIA's recommendation for Hopper).
  blas_workspace.allocate(std::size_t{32} << 20, "the cuBLAS workspace");
  check(cublasSetWorkspace(blas, blas_workspace.ptr, blas_workspace.bytes), "cublasSetWorkspace");

  const auto floats = [](std::int64_t n) { return std::size_t(n) * sizeof(float); };
  const auto elements = [this](std::int64_t n) { return std::size_t(n) * elem; };
  arena.allocate(elements(plan.arena), "the activation arena");
  if (options.precision == Precision::bf16) {
    params_lp.allocate(std::size_t(params_count) * sizeof(Bf16), "the bf16 parameters");
    grads_lp.allocate(std::size_t(params_count) * sizeof(Bf16), "the bf16 weight gradients");
    input_f32.allocate(floats(input_size), "the fp32 input");
  }
  params.allocate(floats(params_count), "the parameters");
  grads.allocate(floats(params_count), "the gradients");
  buffers.allocate(floats(buffers_count), "the running statistics");
  state.allocate(floats(state_count), "the optimizer state");
  scalars.allocate(32, "the step scalars");
  labels.allocate(std::size_t(batch) * sizeof(int), "the labels");
  per_sample.allocate(std::size_t(batch) * sizeof(double), "the per-image losses");
  if (gradient(output) == nullptr)
    loss_gradient_scratch.allocate(elements(output_size), "the loss gradient");
  for (DeviceMemory* d : {&arena, &params, &grads, &state, &scalars, &params_lp, &grads_lp}) {
    if (d->bytes > 0) check(cudaMemset(d->ptr, 0, d->bytes), "zeroing device memory");
  }
  host_params.assign(std::size_t(params_count), 0.f);
  host_grads.assign(std::size_t(params_count), 0.f);
  host_buffers.assign(std::size_t(buffers_count), 0.f);
  host_state.assign(std::size_t(state_count), 0.f);
  for (const codegen::Op& op : ops) {  // running variance 1, as PyTorch starts
    if (op.layer.op == LayerKind::batch_norm) {
      std::fill_n(host_buffers.begin() + op.buffer_offset + op.layer.in.c, op.layer.in.c, 1.f);
    }
  }
  upload(buffers, host_buffers, "buffers to the device");
}

}  // namespace archetype::cudnn::detail

// Convolution with cuDNN: forward (plus the bias: cudnnAddTensor, or a kernel of ours for
// bf16), backward filter, bias and data. Each direction's algorithm is measured once per
// geometry with cudnnFind*AlgorithmEx on this op's buffers (deterministic ones only with
// Options::deterministic) and shared by every convolution of that geometry.
#include "context.hpp"

#include <algorithm>
#include <stdexcept>

namespace archetype::cudnn::detail {

namespace {

/// fp32 accumulation in every case (bf16 data: cuDNN's PSEUDO_BFLOAT16 configuration).
/// Math: bf16 takes tensor cores (CUDNN_TENSOR_OP_MATH); fp32 takes them only with TF32
/// (default math), else plain FMA.
Shared<cudnnConvolutionDescriptor_t> conv_desc(const LayerRow& L, bool tf32, bool bf16) {
  auto owned = make_descriptor(cudnnCreateConvolutionDescriptor, cudnnDestroyConvolutionDescriptor,
                               "cudnnCreateConvolutionDescriptor");
  cudnnConvolutionDescriptor_t d = owned.get();
  check(cudnnSetConvolution2dDescriptor(d, L.pad_h, L.pad_w, L.stride_h, L.stride_w, 1, 1,
                                        CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
        "cudnnSetConvolution2dDescriptor");
  check(cudnnSetConvolutionGroupCount(d, L.groups), "cudnnSetConvolutionGroupCount");
  // FMA math: plain fp32 products; default math lets Ampere and later use TF32.
  const cudnnMathType_t math = bf16   ? CUDNN_TENSOR_OP_MATH
                               : tf32 ? CUDNN_DEFAULT_MATH
                                      : CUDNN_FMA_MATH;
  check(cudnnSetConvolutionMathType(d, math), "cudnnSetConvolutionMathType");
  return owned;
}

/// The first (fastest) of cudnnFind*'s results that succeeded, fits the limit and, when
/// asked, is deterministic.
template <class Perf>
const Perf* pick(const Perf* results, int count, std::size_t limit, bool deterministic) {
  for (int i = 0; i < count; ++i) {
    const Perf& r = results[i];
    if (r.status != CUDNN_STATUS_SUCCESS || r.memory > limit) continue;
    if (deterministic && r.determinism != CUDNN_DETERMINISTIC) continue;
    return &r;
  }
  return nullptr;
}

/// One direction's algorithm for the geometry `key`: the one `cache` holds, else the first
/// usable one (pick) of the `Count` that `find(Count, &returned, results)` measures, else
/// `fallback` with the workspace that `size(algo, &bytes)` gives it; remembered in `cache`.
template <class Perf, int Count, class Algo, class FindFn, class SizeFn>
Choice<Algo> choose(std::map<std::string, Choice<Algo>>& cache, const std::string& key,
                    std::size_t limit, bool deterministic, Choice<Algo> fallback,
                    const FindFn& find, const SizeFn& size) {
  auto it = cache.find(key);
  if (it == cache.end()) {
    Perf results[Count];
    int returned = 0;
    find(Count, &returned, results);
    const Perf* r = pick(results, returned, limit, deterministic);
    Choice<Algo> c = fallback;
    if (r != nullptr) {
      c = {r->algo, r->mathType, r->memory};
    } else {
      size(c.algo, &c.workspace);
    }
    it = cache.emplace(key, c).first;
  }
  return it->second;
}

/// What identifies a convolution's geometry for the algorithm caches.
std::string geometry_key(int batch, const Shape& is, const Shape& os, const LayerRow& L) {
  const auto s = [](int v) { return std::to_string(v); };
  return s(batch) + ":" + s(is.c) + "x" + s(is.h) + "x" + s(is.w) + ">" + s(os.c) + ":k" +
         s(L.kernel_h) + "x" + s(L.kernel_w) + "s" + s(L.stride_h) + "x" + s(L.stride_w) + "p" +
         s(L.pad_h) + "x" + s(L.pad_w) + "g" + s(L.groups);
}

}  // namespace

template <class T>
void Impl::build_conv(int o, Find& find) {
  const codegen::Op& op = ops[std::size_t(o)];
  const LayerRow& L = op.layer;
  const int in = op.inputs[0], out = op.output;
  const Shape is = shape(in), os = shape(out);
  const int g = L.groups;
  constexpr bool low = std::is_same_v<T, Bf16>;
  auto x = tensor_desc(batch, is.c, is.h, is.w, data_type<T>, nhwc);
  auto y = tensor_desc(batch, os.c, os.h, os.w, data_type<T>, nhwc);
  auto w = filter_desc(os.c, is.c / g, L.kernel_h, L.kernel_w, data_type<T>, nhwc);
  auto b = tensor_desc(1, os.c, 1, 1, data_type<T>);
  const bool cl = nhwc;
  auto conv_f = conv_desc(L, options.tf32, low), conv_d = conv_desc(L, options.tf32, low),
       conv_w = conv_desc(L, options.tf32, low);
  {  // cuDNN must agree with codegen on the output shape
    int dn = 0, dc = 0, dh = 0, dw = 0;
    check(cudnnGetConvolution2dForwardOutputDim(conv_f.get(), x.get(), w.get(), &dn, &dc, &dh, &dw),
          "cudnnGetConvolution2dForwardOutputDim");
    if (dc != os.c || dh != os.h || dw != os.w) {
      throw std::logic_error("cuDNN computes a " + std::to_string(dc) + "x" + std::to_string(dh) +
                             "x" + std::to_string(dw) + " output, the program says " +
                             std::to_string(os.c) + "x" + std::to_string(os.h) + "x" +
                             std::to_string(os.w));
    }
  }
  const std::int64_t w_count = std::int64_t{os.c} * (is.c / g) * L.kernel_h * L.kernel_w;
  T* X = value<T>(in);
  T* Y = value<T>(out);
  T* W = weights<T>(op.param_offset);
  T* B = L.bias ? W + w_count : nullptr;
  T* dW = weight_gradients<T>(op.param_offset);
  T* dB = L.bias ? dW + w_count : nullptr;
  T* dY = gradient<T>(out);
  T* dX = input_gradient_of<T>(o, 0);
  const bool acc = accumulate(o, 0);
  const int batch_ = batch;
  // The descriptors' math: what a fallback algorithm (nothing measured fits) runs with.
  const cudnnMathType_t math = low            ? CUDNN_TENSOR_OP_MATH
                               : options.tf32 ? CUDNN_DEFAULT_MATH
                                              : CUDNN_FMA_MATH;

  // Algorithms: measured once per geometry (and direction) on this op's buffers.
  const std::string key = geometry_key(batch, is, os, L);
  const std::size_t limit =
      std::min<std::size_t>(find.memory.bytes, std::size_t(options.workspace_limit));
  const bool det = options.deterministic;
  // A chosen algorithm's math on its direction's descriptor, and its workspace counted.
  const auto use = [&](const auto& choice, const Shared<cudnnConvolutionDescriptor_t>& conv) {
    if (options.tf32 || low) {
      check(cudnnSetConvolutionMathType(conv.get(), choice.math), "cudnnSetConvolutionMathType");
    }
    workspace_needed = std::max(workspace_needed, choice.workspace);
  };
  // Nothing measured fits: implicit GEMM, which every geometry has (no workspace).
  const auto fwd_choice = choose<cudnnConvolutionFwdAlgoPerf_t, CUDNN_CONVOLUTION_FWD_ALGO_COUNT>(
      fwd_cache, key, limit, det, {CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, math, 0},
      [&](int count, int* returned, cudnnConvolutionFwdAlgoPerf_t* results) {
        check(cudnnFindConvolutionForwardAlgorithmEx(dnn, x.get(), X, w.get(), W, conv_f.get(),
                                                     y.get(), Y, count, returned, results,
                                                     find.memory.ptr, limit),
              "cudnnFindConvolutionForwardAlgorithmEx");
      },
      [&](cudnnConvolutionFwdAlgo_t algo, std::size_t* bytes) {
        check(cudnnGetConvolutionForwardWorkspaceSize(dnn, x.get(), w.get(), conv_f.get(), y.get(),
                                                      algo, bytes),
              "cudnnGetConvolutionForwardWorkspaceSize");
      });
  use(fwd_choice, conv_f);
  forward_steps.push_back([this, x, y, w, b, conv_f, fwd_choice, X, Y, W, B, batch_, os, cl] {
    check(cudnnConvolutionForward(dnn, &one, x.get(), X, w.get(), W, conv_f.get(), fwd_choice.algo,
                                  workspace.ptr, workspace_bytes(), &zero, y.get(), Y),
          "cudnnConvolutionForward");
    if (B == nullptr) return;
    if constexpr (low) {  // a kernel of ours: cuDNN's AddTensor is not documented for bf16
      kernels::add_bias_channels(stream, Y, B, batch_, os.c, std::int64_t{os.h} * os.w, cl);
    } else {
      check(cudnnAddTensor(dnn, &one, b.get(), B, &one, y.get(), Y), "cudnnAddTensor (bias)");
    }
  });
  if (!training() || dY == nullptr) return;

  // Nothing measured fits: algorithm 1 (deterministic, small workspace).
  const auto filter_choice =
      choose<cudnnConvolutionBwdFilterAlgoPerf_t, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT>(
          filter_cache, key, limit, det, {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, math, 0},
          [&](int count, int* returned, cudnnConvolutionBwdFilterAlgoPerf_t* results) {
            check(cudnnFindConvolutionBackwardFilterAlgorithmEx(
                      dnn, x.get(), X, y.get(), dY, conv_w.get(), w.get(), dW, count, returned,
                      results, find.memory.ptr, limit),
                  "cudnnFindConvolutionBackwardFilterAlgorithmEx");
          },
          [&](cudnnConvolutionBwdFilterAlgo_t algo, std::size_t* bytes) {
            check(cudnnGetConvolutionBackwardFilterWorkspaceSize(
                      dnn, x.get(), y.get(), conv_w.get(), w.get(), algo, bytes),
                  "cudnnGetConvolutionBackwardFilterWorkspaceSize");
          });
  use(filter_choice, conv_w);

  Choice<cudnnConvolutionBwdDataAlgo_t> data_choice{};
  if (dX != nullptr) {  // nothing measured fits: algorithm 1 (deterministic)
    data_choice = choose<cudnnConvolutionBwdDataAlgoPerf_t, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT>(
        data_cache, key, limit, det, {CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, math, 0},
        [&](int count, int* returned, cudnnConvolutionBwdDataAlgoPerf_t* results) {
          check(cudnnFindConvolutionBackwardDataAlgorithmEx(
                    dnn, w.get(), W, y.get(), dY, conv_d.get(), x.get(), dX, count, returned,
                    results, find.memory.ptr, limit),
                "cudnnFindConvolutionBackwardDataAlgorithmEx");
        },
        [&](cudnnConvolutionBwdDataAlgo_t algo, std::size_t* bytes) {
          check(cudnnGetConvolutionBackwardDataWorkspaceSize(dnn, w.get(), y.get(), conv_d.get(),
                                                             x.get(), algo, bytes),
                "cudnnGetConvolutionBackwardDataWorkspaceSize");
        });
    use(data_choice, conv_d);
  }
  Step backward = [this, x, y, w, b, conv_w, conv_d, filter_choice, data_choice, X, W, dW, dB, dY,
                   dX, acc, batch_, os, cl] {
    check(cudnnConvolutionBackwardFilter(dnn, &one, x.get(), X, y.get(), dY, conv_w.get(),
                                         filter_choice.algo, workspace.ptr, workspace_bytes(),
                                         &zero, w.get(), dW),
          "cudnnConvolutionBackwardFilter");
    if (dB != nullptr) {
      if constexpr (low) {
        kernels::bias_gradient_channels(stream, dY, dB, batch_, os.c, std::int64_t{os.h} * os.w,
                                        cl);
      } else {
        check(cudnnConvolutionBackwardBias(dnn, &one, y.get(), dY, &zero, b.get(), dB),
              "cudnnConvolutionBackwardBias");
      }
    }
    if (dX != nullptr) {
      check(cudnnConvolutionBackwardData(dnn, &one, w.get(), W, y.get(), dY, conv_d.get(),
                                         data_choice.algo, workspace.ptr, workspace_bytes(),
                                         acc ? &one : &zero, x.get(), dX),
            "cudnnConvolutionBackwardData");
    }
  };
  backward_of[std::size_t(o)] = with_gradient_cast<T>(std::move(backward), op);
}

template void Impl::build_conv<float>(int o, Find& find);
template void Impl::build_conv<Bf16>(int o, Find& find);

}  // namespace archetype::cudnn::detail

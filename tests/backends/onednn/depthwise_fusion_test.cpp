// Depthwise fusion in inference (codegen::fuse_depthwise, Options::fuse_depthwise; which
// pairs codegen marks: tests/codegen/depthwise_fusion_test.cpp): the oneDNN backend
// computing each pair as one primitive (oneDNN's append_dw, or our own kernel:
// Options::own_depthwise_pairs) gives what the unfolded program computes op by op.
#include "naive.hpp"
#include "pointwise_depthwise.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace archetype::onednn::test {
namespace {

// Five 1x1 + depthwise pairs (at 56x56 and above), four of them fusable: 3x3 stride 2 after
// BatchNorm + ReLU6; 5x5 stride 1 after a biased 1x1 and SiLU, itself with BatchNorm + SiLU;
// 3x3 with a bias of its own and no activation, inside a residual block; 5x5 stride 2 with
// neither bias nor activation on either side. The fifth has no padding (a "valid" depthwise
// convolution), which codegen does not pair.
using Pairs = Net<Input<Shape{16, 112, 112}>,
                  Seq<Conv1x1<96>, BatchNorm, ReLU6, DepthwiseConv<96, 3, 2>, BatchNorm, ReLU6,
                      Conv1x1<32>, BatchNorm, Conv1x1<64, 1, true>, SiLU, DepthwiseConv<64, 5, 1>,
                      BatchNorm, SiLU, Conv1x1<32>,
                      Residual<Seq<Conv1x1<48>, BatchNorm, ReLU,
                                   DepthwiseConv<48, 3, 1, same, true>, Conv1x1<32>>>,
                      Conv1x1<64>, DepthwiseConv<64, 5, 2>, Conv1x1<64>, BatchNorm, ReLU6,
                      DepthwiseConv<64, 3, 1, 0>, GlobalAvgPool, Linear<10>>,
                  10>;

// The largest difference relative to the largest value (the logits reach +-50 and cancel).
double worst(std::span<const float> got, std::span<const float> want) {
  double d = 0, m = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    d = std::max(d, std::abs(double(got[i]) - double(want[i])));
    m = std::max(m, std::abs(double(want[i])));
  }
  return d / m;
}

// The folded program with the pairs fused (in the Winograd plan's blocked layouts and in
// direct's channels-last ones), and with each convolution alone, against the unfolded one,
// op by op, on random parameters and BatchNorm statistics.
TEST(FuseDepthwise, FusedInferenceComputesWhatTheUnfoldedProgramComputes) {
  for (const int batch : {4, 1}) {  // 1: our kernel splits the image's channels in two
    SCOPED_TRACE("batch " + std::to_string(batch));
    Options unfolded;
    unfolded.fold = false;
    Executable reference(program<Pairs>(), batch, Mode::inference, unfolded);
    randomize(reference, 21);
    const Vec x = random_vec(std::size_t(batch) * Pairs::input_shape.elements(), 22);
    const auto r = reference.forward(x);
    const Vec want(r.begin(), r.end());
    const auto run = [&](const Options& o, int fusions) {  // -1: not checked
      Executable exe(program<Pairs>(), batch, Mode::inference, o);
      if (fusions >= 0) {
        EXPECT_EQ(exe.conv_plan().depthwise_fusions, fusions);
      }
      std::copy(reference.parameters().begin(), reference.parameters().end(),
                exe.parameters().begin());
      std::copy(reference.buffers().begin(), reference.buffers().end(), exe.buffers().begin());
      const auto y = exe.forward(x);
      return Vec(y.begin(), y.end());
    };
    const bool own = detail::pointwise_depthwise_cpu();
    Options o;
    o.conv_algorithm = ConvAlgorithm::winograd;
    // Measured with oneDNN 2.6 on AVX-512: at batch 4 every fusable pair gets a kernel of
    // its own (at batch 1 only one of them; at batch 8 and 28x28 oneDNN composes the two
    // primitives instead); the SiLU pair runs ours.
    // Measured: 9e-7 fused and 6e-7 alone. Before their fixes: a pair without a bias on its
    // 1x1 read garbage, 2e-4; oneDNN 2.6's fused kernel over channels-last tensors, 100%.
    const int by_onednn = batch == 4 ? 4 : -1;
    EXPECT_LT(worst(run(o, by_onednn), want), 1e-5) << "fused pairs";
    o.own_depthwise_pairs = false;
    EXPECT_LT(worst(run(o, by_onednn), want), 1e-5) << "fused pairs, oneDNN's kernels only";
    o.fuse_depthwise = false;
    EXPECT_LT(worst(run(o, 0), want), 1e-5) << "each convolution alone";
    // Every SiLU as oneDNN's swish post-op (Options::vector_silu; the reference runs SiLU as
    // oneDNN's eltwise primitive, op by op).
    o.fuse_depthwise = true;
    o.vector_silu = false;
    EXPECT_LT(worst(run(o, by_onednn), want), 1e-5) << "fused pairs, oneDNN's kernels and SiLU";
    // direct's channels-last plan fuses the four pairs with our kernel only.
    Options direct;
    EXPECT_LT(worst(run(direct, own ? 4 : 0), want), 1e-5) << "direct";
    direct.own_depthwise_pairs = false;
    EXPECT_LT(worst(run(direct, 0), want), 1e-5) << "direct, oneDNN's kernels only";
    // bf16 does not fuse.
    if (native_bf16()) {
      Options bf16 = o;
      bf16.precision = Precision::bf16;
      Executable b(program<Pairs>(), batch, Mode::inference, bf16);
      EXPECT_EQ(b.conv_plan().depthwise_fusions, 0) << "bf16";
    }
  }
}

}  // namespace
}  // namespace archetype::onednn::test

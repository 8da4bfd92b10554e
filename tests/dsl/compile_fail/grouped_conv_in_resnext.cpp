// expect: archetype: Conv groups must divide the input channels
// expect-also: {"layer1.0.conv2"}
// expect-also: input{128, 56, 56}
// expect-also: groups{24}
// A ResNeXt-50 bottleneck written with 24 groups where its width is 2 x planes (128 in the
// first stage): 128 channels do not split into 24 groups. The error is deep in the net
// (ResNet > stage > Repeat > Residual > Seq > Named > Conv) and names the layer by its path.
#include <archetype/architectures/resnet.hpp>

using namespace archetype;

#ifdef ARCHETYPE_FIXED
inline constexpr int groups = 32;
#else
inline constexpr int groups = 24;
#endif

template <int Planes, int Stride, class Shortcut>
struct Bottleneck final
    : Residual<Seq<Named<"conv1", Conv1x1<2 * Planes>>, Named<"bn1", BatchNorm>, Named<"relu", ReLU>,
                   Named<"conv2", Conv<2 * Planes, 3, Stride, 1, groups>>, Named<"bn2", BatchNorm>,
                   Named<"relu", ReLU>, Named<"conv3", Conv1x1<4 * Planes>>, Named<"bn3", BatchNorm>>,
               Shortcut, Named<"relu", ReLU>> {
  static constexpr int expansion = 4;
};

struct MyResNeXt final : architectures::ResNet<Bottleneck, 3, 4, 6, 3> {};

static_assert(output_shape_v<MyResNeXt> == Shape{1000, 1, 1} || !MyResNeXt::valid);

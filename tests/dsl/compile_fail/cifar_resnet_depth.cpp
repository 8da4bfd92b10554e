// expect: archetype: CifarResNet depth must be 6n+2
// expect-also: DepthError<21>
// He et al.'s CIFAR ResNets have 6n+2 layers: 21 is not one of them.
#include <archetype/architectures/cifar_resnet.hpp>

using namespace archetype;
using namespace archetype::architectures;

#ifdef ARCHETYPE_FIXED
inline constexpr int depth = 20;
#else
inline constexpr int depth = 21;
#endif

static_assert(has_params_v<CifarResNet<depth>, 269'722>);

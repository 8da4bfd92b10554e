// The registry's Inception family: GoogLeNet (Inception v1), Inception v3, Xception.
#include "registry_detail.hpp"

#include <archetype/architectures/googlenet.hpp>
#include <archetype/architectures/inception_v3.hpp>
#include <archetype/architectures/xception.hpp>

namespace archetype::registry_detail {
namespace {
using namespace archetype::architectures;

constexpr Paper szegedy2015{"Szegedy et al. 2015, Going deeper with convolutions",
                            "Christian Szegedy, Wei Liu, Yangqing Jia, Pierre Sermanet, Scott Reed, "
                            "Dragomir Anguelov, Dumitru Erhan, Vincent Vanhoucke, Andrew Rabinovich",
                            "CVPR 2015", "https://arxiv.org/abs/1409.4842"};
constexpr Paper szegedy2016{
    "Szegedy et al. 2016, Rethinking the Inception architecture for computer vision",
    "Christian Szegedy, Vincent Vanhoucke, Sergey Ioffe, Jonathon Shlens, Zbigniew Wojna", "CVPR 2016",
    "https://arxiv.org/abs/1512.00567"};
constexpr Paper chollet2017{"Chollet 2017, Xception: deep learning with depthwise separable convolutions",
                            "François Chollet", "CVPR 2017", "https://arxiv.org/abs/1610.02357"};

constexpr ModelEntry entries[] = {
    make_entry<GoogLeNet>("googlenet", "GoogLeNet (Inception v1)", szegedy2015, 2015),
    make_entry<InceptionV3>("inception_v3", "Inception v3", szegedy2016, 2016),
    make_entry<Xception>("xception", "Xception", chollet2017, 2017),
};
}  // namespace

std::span<const ModelEntry> inception_models() { return entries; }

}  // namespace archetype::registry_detail

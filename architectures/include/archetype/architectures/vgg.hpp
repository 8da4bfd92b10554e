#pragma once
/// \file
/// \brief VGG (Simonyan & Zisserman, "Very deep convolutional networks for large-scale
/// image recognition", ICLR 2015), configurations A, B, D, E as in torchvision, with and
/// without batch normalization, and the CIFAR VGG-16 with BN.

#include <archetype/archetype.hpp>
#include <archetype/architectures/published.hpp>

namespace archetype::architectures {

namespace vgg_detail {

inline constexpr int M = 0;  ///< 'M' in the configuration tables: a 2x2 max pooling

template <class... Ts>
struct List {};
template <class A, class B>
struct Cat;
template <class... As, class... Bs>
struct Cat<List<As...>, List<Bs...>> {
  using type = List<As..., Bs...>;
};

/// One configuration entry: conv 3x3 (+ BN) + ReLU, or a max pooling.
template <bool BN, int C>
struct Entry {
  using type = std::conditional_t<BN, List<Conv<C, 3, 1, 1, 1, true>, BatchNorm, ReLU>,
                                  List<Conv<C, 3, 1, 1, 1, true>, ReLU>>;
};
template <bool BN>
struct Entry<BN, M> {
  using type = List<MaxPool<2>>;
};

template <bool BN, int... Cfg>
struct Features;
template <bool BN>
struct Features<BN> {
  using type = List<>;
};
template <bool BN, int First, int... Rest>
struct Features<BN, First, Rest...> {
  using type = typename Cat<typename Entry<BN, First>::type, typename Features<BN, Rest...>::type>::type;
};

template <class L>
struct AsSeq;
template <class... Ls>
struct AsSeq<List<Ls...>> {
  using type = Seq<Ls...>;
};

/// torchvision's `features`: the configuration flattened into one numbered Seq
/// (`features.0` is the first convolution, as in torchvision's state_dict).
template <int... Entries>
struct Cfg {};

template <bool BN, class C>
struct FeaturesOf;
template <bool BN, int... Entries>
struct FeaturesOf<BN, Cfg<Entries...>> {
  using type = Named<"features", typename AsSeq<typename Features<BN, Entries...>::type>::type>;
};
template <bool BN, class C>
using features_t = typename FeaturesOf<BN, C>::type;

template <bool BN, class C>
using imagenet_body_t =
    Seq<features_t<BN, C>, Named<"avgpool", AdaptiveAvgPool<7>>, Flatten,
        Named<"classifier", Seq<Linear<4096>, ReLU, Dropout<0.5>, Linear<4096>, ReLU,
                                Dropout<0.5>, Linear<1000>>>>;

using cfg_a = Cfg<64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M>;
using cfg_b = Cfg<64, 64, M, 128, 128, M, 256, 256, M, 512, 512, M, 512, 512, M>;
using cfg_d = Cfg<64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M>;
using cfg_e = Cfg<64, 64, M, 128, 128, M, 256, 256, 256, 256, M, 512, 512, 512, 512, M, 512, 512, 512, 512, M>;

}  // namespace vgg_detail

/// VGG-11 (configuration A): 132,863,336 parameters, 7.61 G MACs at 3x224x224.
struct VGG11 final : Net<Input<Shape{3, 224, 224}>, vgg_detail::imagenet_body_t<false, vgg_detail::cfg_a>, 1000> {};
/// VGG-13 (configuration B): 133,047,848 parameters, 11.31 G MACs.
struct VGG13 final : Net<Input<Shape{3, 224, 224}>, vgg_detail::imagenet_body_t<false, vgg_detail::cfg_b>, 1000> {};
/// VGG-16 (configuration D): 138,357,544 parameters, 15.47 G MACs.
struct VGG16 final : Net<Input<Shape{3, 224, 224}>, vgg_detail::imagenet_body_t<false, vgg_detail::cfg_d>, 1000> {};
/// VGG-19 (configuration E): 143,667,240 parameters, 19.63 G MACs.
struct VGG19 final : Net<Input<Shape{3, 224, 224}>, vgg_detail::imagenet_body_t<false, vgg_detail::cfg_e>, 1000> {};
/// VGG-11 with batch normalization after every convolution (torchvision `vgg11_bn`).
struct VGG11BN final : Net<Input<Shape{3, 224, 224}>, vgg_detail::imagenet_body_t<true, vgg_detail::cfg_a>, 1000> {};
/// VGG-13 with batch normalization (torchvision `vgg13_bn`).
struct VGG13BN final : Net<Input<Shape{3, 224, 224}>, vgg_detail::imagenet_body_t<true, vgg_detail::cfg_b>, 1000> {};
/// VGG-16 with batch normalization (torchvision `vgg16_bn`): 138,365,992 parameters.
struct VGG16BN final : Net<Input<Shape{3, 224, 224}>, vgg_detail::imagenet_body_t<true, vgg_detail::cfg_d>, 1000> {};
/// VGG-19 with batch normalization (torchvision `vgg19_bn`).
struct VGG19BN final : Net<Input<Shape{3, 224, 224}>, vgg_detail::imagenet_body_t<true, vgg_detail::cfg_e>, 1000> {};

/// VGG-16 with BN for 3x32x32 CIFAR images: the 13 convolutions of configuration D (the
/// five poolings leave 512x1x1) and a 512 -> 4096 -> 4096 -> 10 head. 33,646,666 parameters.
struct VGG16Cifar final
    : Net<Input<Shape{3, 32, 32}>,
          Seq<vgg_detail::features_t<true, vgg_detail::cfg_d>, Flatten,
              Named<"classifier", Seq<Linear<4096>, ReLU, Dropout<0.5>, Linear<4096>, ReLU,
                                      Dropout<0.5>, Linear<10>>>>,
          10> {};

// torchvision's parameter counts and "GFLOPS" column (MACs: 7.61, 11.31, 15.47, 19.63).
template <>
inline constexpr Published published_v<VGG11>{
    .params = 132'863'336, .macs = 7'610'000'000, .source = "torchvision"};
template <>
inline constexpr Published published_v<VGG13>{
    .params = 133'047'848, .macs = 11'310'000'000, .source = "torchvision"};
template <>
inline constexpr Published published_v<VGG16>{
    .params = 138'357'544, .macs = 15'470'000'000, .source = "torchvision"};
template <>
inline constexpr Published published_v<VGG19>{
    .params = 143'667'240, .macs = 19'630'000'000, .source = "torchvision"};
template <>
inline constexpr Published published_v<VGG11BN>{.params = 132'868'840, .source = "torchvision"};
template <>
inline constexpr Published published_v<VGG13BN>{.params = 133'053'736, .source = "torchvision"};
template <>
inline constexpr Published published_v<VGG16BN>{.params = 138'365'992, .source = "torchvision"};
template <>
inline constexpr Published published_v<VGG19BN>{.params = 143'678'248, .source = "torchvision"};
template <>
inline constexpr Published published_v<VGG16Cifar>{
    .params = 33'646'666, .source = "the PyTorch port of the same layers"};
static_assert(matches_published_v<VGG11>);
static_assert(matches_published_v<VGG13>);
static_assert(matches_published_v<VGG16>);
static_assert(matches_published_v<VGG19>);
static_assert(matches_published_v<VGG11BN>);
static_assert(matches_published_v<VGG13BN>);
static_assert(matches_published_v<VGG16BN>);
static_assert(matches_published_v<VGG19BN>);
static_assert(matches_published_v<VGG16Cifar>);


}  // namespace archetype::architectures

#pragma once
/// \file
/// \brief The CIFAR-10 ResNets of He et al. 2016, Section 4.2: 6n+2 layers, 16-32-64
/// filters, parameter-free option-A shortcuts; and their plain counterparts.

#include <archetype/architectures/resnet.hpp>

namespace archetype::architectures {

namespace cifar_resnet_detail {
template <int Planes, int Stride, class Shortcut>
using block_t = BasicBlock<Planes, Stride, Shortcut>;

template <int InChannels, int Planes, int Blocks, int Stride>
struct Stage {
  using first = block_t<Planes, Stride,
                        std::conditional_t<InChannels == Planes && Stride == 1, Identity,
                                           Named<"shortcut", ZeroPadShortcut<Planes, Stride>>>>;
  using type = std::conditional_t<(Blocks > 1), Seq<first, Repeat<Blocks - 1, block_t<Planes, 1, Identity>>>,
                                  Seq<first>>;
};

template <int Depth>
struct DepthError {
  static_assert(Depth >= 8 && (Depth - 2) % 6 == 0,
                "archetype: CifarResNet depth must be 6n+2 with n >= 1 (20, 32, 44, 56, 110, ...)");
};
template <int Depth>
struct Checked {
  static constexpr bool valid = Depth >= 8 && (Depth - 2) % 6 == 0;
  static constexpr int n = valid ? (Depth - 2) / 6 : 1;
};

template <int Depth, int N = Checked<Depth>::n>
using body_t = std::conditional_t<
    Checked<Depth>::valid,
    Seq<Named<"conv1", Conv3x3<16>>, Named<"bn1", BatchNorm>, Named<"relu", ReLU>,
        Named<"layer1", typename Stage<16, 16, N, 1>::type>,
        Named<"layer2", typename Stage<16, 32, N, 2>::type>,
        Named<"layer3", typename Stage<32, 64, N, 2>::type>, Named<"avgpool", GlobalAvgPool>,
        Named<"fc", Linear<10>>>,
    detail::Rejected>;  // already reported: nothing more to say about this net
}  // namespace cifar_resnet_detail

/// `CifarResNet<6n+2>`: 3x3 conv (16) + BN + ReLU, three stages of n basic blocks with 16,
/// 32, 64 filters on 32x32, 16x16, 8x8 maps (the first block of stages 2 and 3 has stride
/// 2 and an option-A shortcut), global average pooling, a 10-way linear layer.
/// He et al. Table 6: ResNet-20 0.27M, -32 0.46M, -44 0.66M, -56 0.85M, -110 1.7M.
template <int Depth>
struct CifarResNet final : Net<Input<Shape{3, 32, 32}>, cifar_resnet_detail::body_t<Depth>, 10> {
  // The error is raised in a type of its own: clang marks a class whose static_assert
  // failed as invalid, and every use of CifarResNet<Depth> would then add an error.
  static_assert(sizeof(cifar_resnet_detail::DepthError<Depth>) > 0);
};

/// `PlainCifarNet<6n+2>`: `CifarResNet<6n+2>` without shortcuts (He et al. Fig. 6 left).
/// Option-A shortcuts have no parameters, so both have the same parameter count.
template <int Depth>
struct PlainCifarNet final : Plain<CifarResNet<Depth>> {};

// He et al. 2016, Table 6, as exact counts (the table prints 0.27M … 1.7M; checked below).
template <>
inline constexpr Published published_v<CifarResNet<20>>{
    .params = 269'722, .source = "He et al. 2016, Table 6: 0.27M"};
template <>
inline constexpr Published published_v<CifarResNet<32>>{
    .params = 464'154, .source = "He et al. 2016, Table 6: 0.46M"};
template <>
inline constexpr Published published_v<CifarResNet<44>>{
    .params = 658'586, .source = "He et al. 2016, Table 6: 0.66M"};
template <>
inline constexpr Published published_v<CifarResNet<56>>{
    .params = 853'018, .source = "He et al. 2016, Table 6: 0.85M"};
template <>
inline constexpr Published published_v<CifarResNet<110>>{
    .params = 1'727'962, .source = "He et al. 2016, Table 6: 1.7M"};
// Option-A shortcuts have no parameters: a plain net has its residual twin's count.
template <>
inline constexpr Published published_v<PlainCifarNet<20>>{
    .params = published_v<CifarResNet<20>>.params, .source = "ResNet-20 without its shortcuts"};
template <>
inline constexpr Published published_v<PlainCifarNet<32>>{
    .params = published_v<CifarResNet<32>>.params, .source = "ResNet-32 without its shortcuts"};
template <>
inline constexpr Published published_v<PlainCifarNet<44>>{
    .params = published_v<CifarResNet<44>>.params, .source = "ResNet-44 without its shortcuts"};
template <>
inline constexpr Published published_v<PlainCifarNet<56>>{
    .params = published_v<CifarResNet<56>>.params, .source = "ResNet-56 without its shortcuts"};
template <>
inline constexpr Published published_v<PlainCifarNet<110>>{
    .params = published_v<CifarResNet<110>>.params, .source = "ResNet-110 without its shortcuts"};
static_assert(matches_published_v<CifarResNet<20>>);
static_assert(matches_published_v<CifarResNet<32>>);
static_assert(matches_published_v<CifarResNet<44>>);
static_assert(matches_published_v<CifarResNet<56>>);
static_assert(matches_published_v<CifarResNet<110>>);
static_assert(matches_published_v<PlainCifarNet<20>>);
static_assert(matches_published_v<PlainCifarNet<32>>);
static_assert(matches_published_v<PlainCifarNet<44>>);
static_assert(matches_published_v<PlainCifarNet<56>>);
static_assert(matches_published_v<PlainCifarNet<110>>);
// He et al. 2016, Table 6, at its printed precision.
static_assert((params_v<CifarResNet<20>> + 5'000) / 10'000 == 27);
static_assert((params_v<CifarResNet<32>> + 5'000) / 10'000 == 46);
static_assert((params_v<CifarResNet<44>> + 5'000) / 10'000 == 66);
static_assert((params_v<CifarResNet<56>> + 5'000) / 10'000 == 85);
static_assert((params_v<CifarResNet<110>> + 50'000) / 100'000 == 17);

}  // namespace archetype::architectures

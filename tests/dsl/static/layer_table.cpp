// The per-layer table: paths (torchvision style), kinds, attributes, shapes and figures,
// row by row.
#include "support.hpp"

#include <string_view>

namespace archetype::static_tests {
namespace {

/// True when the rows' paths are exactly `expected`, in order.
template <Network N, std::size_t M>
constexpr bool paths_are(const std::string_view (&expected)[M]) {
  const auto& rows = layers_v<N>;
  if (rows.size() != M) return false;
  for (std::size_t i = 0; i < M; ++i) {
    if (rows[i].path.view() != expected[i]) return false;
  }
  return true;
}
/// True when the rows' kinds are exactly `expected`, in order.
template <Network N, std::size_t M>
constexpr bool kinds_are(const std::string_view (&expected)[M]) {
  const auto& rows = layers_v<N>;
  if (rows.size() != M) return false;
  for (std::size_t i = 0; i < M; ++i) {
    if (rows[i].kind.view() != expected[i]) return false;
  }
  return true;
}

// --- Seq numbering; an unnamed Repeat continues it ----------------------------------------
struct Numbered final : Net<Input<Shape{3, 8, 8}>, Seq<Conv3x3<8>, Repeat<2, ReLU>>> {};
static_assert(paths_are<Numbered>({"0", "1", "2"}));
static_assert(kinds_are<Numbered>({"Conv", "ReLU", "ReLU"}));

// `Seq<First, Repeat<2, B>, …>`: First is 0, the copies 1 and 2, what follows 3 (torchvision's
// `_make_layer`); a copy that is itself a Seq numbers its own children
struct Stage final
    : Net<Input<Shape{3, 8, 8}>,
          Seq<Conv3x3<8>, Repeat<2, Seq<Conv3x3<8>, ReLU>>, GlobalAvgPool, Linear<10>>, 10> {};
static_assert(paths_are<Stage>({"0", "1.0", "1.1", "2.0", "2.1", "3", "4"}));
static_assert(kinds_are<Stage>({"Conv", "Conv", "ReLU", "Conv", "ReLU", "GlobalAvgPool",
                                "Linear"}));

// --- Named ------------------------------------------------------------------------------------
struct NamedNet final
    : Net<Input<Shape{3, 8, 8}>,
          Seq<Named<"stem", Seq<Conv3x3<8>, BatchNorm>>,
              Named<"layer1", Seq<Conv3x3<8>, Repeat<2, ReLU>>>,
              Named<"layer2", Repeat<2, Seq<Named<"conv", Conv3x3<8>>, Named<"relu", ReLU>>>>, ReLU,
              Named<"pool", GlobalAvgPool>, Named<"fc", Linear<10>>>,
          10> {};
static_assert(paths_are<NamedNet>({"stem.0", "stem.1", "layer1.0", "layer1.1", "layer1.2",
                                   "layer2.0.conv", "layer2.0.relu", "layer2.1.conv",
                                   "layer2.1.relu", "3", "pool", "fc"}));
// names nest: Named<"a", Named<"b", L>> is a.b
static_assert(paths_are<On<Shape{3, 8, 8}, Named<"a", Named<"b", Conv3x3<8>>>>>({"a.b"}));

// --- Residual: body rows under the block's path, then `shortcut`, `add`, `post` --------------
struct Blocks final
    : Net<Input<Shape{8, 8, 8}>,
          Seq<Named<"block", Residual<Seq<Named<"conv1", Conv3x3<16, 2>>, Named<"bn1", BatchNorm>>,
                                      Seq<Conv1x1<16, 2>, BatchNorm>, ReLU>>,
              Named<"down", Residual<Seq<Conv3x3<16>, BatchNorm>,
                                     Named<"downsample", Seq<Conv1x1<16>, BatchNorm>>,
                                     Named<"relu", ReLU>>>,
              Residual<Conv3x3<16>>>> {};
static_assert(paths_are<Blocks>({"block.conv1", "block.bn1", "block.shortcut.0", "block.shortcut.1",
                                 "block.add", "block.post", "down.0", "down.1", "down.downsample.0",
                                 "down.downsample.1", "down.add", "down.relu", "2", "2.add"}));
// an unnamed Residual in a Seq is numbered (`2`); its identity shortcut has no row
static_assert(kinds_are<Blocks>({"Conv", "BatchNorm", "Conv", "BatchNorm", "Add", "ReLU", "Conv",
                                 "BatchNorm", "Conv", "BatchNorm", "Add", "ReLU", "Conv", "Add"}));
// the shortcut's rows see the block's input; the join sees the body's output
static_assert(layers_v<Blocks>[2].in == Shape{8, 8, 8} &&
              layers_v<Blocks>[2].out == Shape{16, 4, 4});
static_assert(layers_v<Blocks>[4].in == Shape{16, 4, 4} &&
              layers_v<Blocks>[4].out == Shape{16, 4, 4});
static_assert(layers_v<Blocks>[4].params == 0 && layers_v<Blocks>[4].macs == 0);
// a Residual at the root: `add`, `shortcut`, `post` at the top level
// (a body that is a single unnamed layer sits at the block's own path)
static_assert(paths_are<On<Shape{8, 4, 4}, Residual<Conv3x3<8>, Conv1x1<8>, ReLU>>>(
    {"0", "0.shortcut", "0.add", "0.post"}));
static_assert(
    paths_are<Net<Input<Shape{8, 4, 4}>, Residual<Named<"conv", Conv3x3<8>>, Conv1x1<8>, ReLU>>>(
        {"conv", "shortcut", "add", "post"}));

// --- Concat: unnamed branches are branch1, branch2, …; the join is `concat` ----------------
struct Mixed final
    : Net<Input<Shape{8, 8, 8}>,
          Named<"mixed", Concat<Conv1x1<4>, Seq<Conv1x1<2>, Conv3x3<4>>,
                                Named<"pool", Seq<MaxPool<3, 1, 1>, Conv1x1<2>>>, Conv<2, 5>>>> {};
static_assert(paths_are<Mixed>({"mixed.branch1", "mixed.branch2.0", "mixed.branch2.1",
                                "mixed.pool.0", "mixed.pool.1", "mixed.branch4", "mixed.concat"}));
static_assert(layers_v<Mixed>[6].kind.view() == "Concat");
static_assert(layers_v<Mixed>[6].in == Shape{8, 8, 8} && layers_v<Mixed>[6].out == Shape{12, 8, 8});
// every branch starts from the block's input
static_assert(layers_v<Mixed>[0].in == Shape{8, 8, 8} && layers_v<Mixed>[1].in == Shape{8, 8, 8} &&
              layers_v<Mixed>[3].in == Shape{8, 8, 8} && layers_v<Mixed>[5].in == Shape{8, 8, 8});

// --- Adapted: the adapter's row comes first, at `adapter` --------------------------------------
struct Small32 final
    : Net<Input<Shape{1, 32, 32}>, Seq<Named<"conv", Conv<6, 5, 1, 0>>, GlobalAvgPool>> {};
using Small28 = Adapted<Small32, Shape{1, 28, 28}>;
static_assert(paths_are<Small28>({"adapter", "conv", "1"}));
static_assert(kinds_are<Small28>({"PadTo", "Conv", "GlobalAvgPool"}));
static_assert(layers_v<Small28>[0].in == Shape{1, 28, 28} &&
              layers_v<Small28>[0].out == Shape{1, 32, 32});
static_assert(layers_v<Small28>[0].attributes.view() == "32x32");
static_assert(layers_v<Adapted<Small32, Shape{1, 16, 16}>>[0].kind.view() == "Resize");

// --- Attributes ---------------------------------------------------------------------------------
template <Shape In, class L>
constexpr std::string_view attributes_of = layers_v<On<In, L>>[0].attributes.view();
static_assert(attributes_of<Shape{3, 32, 32}, Conv3x3<16>> == "3x3 s1 p1");
static_assert(attributes_of<Shape{3, 32, 32}, Conv<6, 5, 1, 0, 1, true>> == "5x5 s1 p0 +bias");
static_assert(attributes_of<Shape{16, 32, 32}, Conv<32, 3, 2, same, 4>> == "3x3 s2 p1 g4");
static_assert(attributes_of<Shape{4, 17, 17}, ConvKxL<8, 1, 7>> == "1x7 s1 p0x3");
static_assert(attributes_of<Shape{8, 32, 32}, MaxPool<3, 2, 1>> == "3x3 s2 p1");
static_assert(attributes_of<Shape{8, 32, 32}, MaxPool<3, 2, 0, true>> == "3x3 s2 p0 ceil");
static_assert(attributes_of<Shape{8, 32, 32}, AvgPool<2>> == "2x2 s2 p0");
static_assert(attributes_of<Shape{16, 32, 32}, ZeroPadShortcut<32, 2>> == "s2 pad+16");
static_assert(attributes_of<Shape{8, 1, 1}, Dropout<0.5>> == "p 50%");
static_assert(attributes_of<Shape{8, 1, 1}, Linear<4>> == "+bias");
static_assert(attributes_of<Shape{8, 1, 1}, Linear<4, false>>.empty());
static_assert(attributes_of<Shape{8, 13, 13}, AdaptiveAvgPool<6>> == "6x6");
static_assert(attributes_of<Shape{96, 13, 13}, LocalResponseNorm<>> == "size 5");

// --- Figures per row
// ------------------------------------------------------------------------------- conv 3x3 3->16 on
// 32x32 (432 params, 442,368 MACs), BN (32 + 32), pool
struct Rows final : Net<Input<Shape{3, 32, 32}>, Seq<Conv3x3<16>, BatchNorm, MaxPool<2>>> {};
static_assert(layers_v<Rows>.size() == 3);
static_assert(layers_v<Rows>[0].in == Shape{3, 32, 32} &&
              layers_v<Rows>[0].out == Shape{16, 32, 32});
static_assert(layers_v<Rows>[0].params == 432 && layers_v<Rows>[0].macs == 442'368 &&
              layers_v<Rows>[0].buffers == 0);
static_assert(layers_v<Rows>[1].params == 32 && layers_v<Rows>[1].buffers == 32 &&
              layers_v<Rows>[1].macs == 0);
static_assert(layers_v<Rows>[2].in == Shape{16, 32, 32} &&
              layers_v<Rows>[2].out == Shape{16, 16, 16});
static_assert(layers_v<Rows>[0].kernel_h == 3 && layers_v<Rows>[2].stride_w == 2);
static_assert(!layers_v<Rows>[2].global && !layers_v<Rows>[2].view);
// global and view flags
static_assert(layers_v<On<Shape{8, 4, 4}, Flatten>>[0].global &&
              layers_v<On<Shape{8, 4, 4}, Flatten>>[0].view);
static_assert(layers_v<On<Shape{8, 4, 4}, GlobalAvgPool>>[0].global);
static_assert(layers_v<On<Shape{8, 1, 1}, Dropout<0.5>>>[0].view);

}  // namespace
}  // namespace archetype::static_tests

// runtime::train<N> and evaluate<N> (train_net.hpp): the program entry of the trainer with
// the lowering and the normalisation done for the caller, and nothing else different.
#include <archetype/archetype.hpp>
#include <archetype/codegen/program.hpp>
#include <archetype/dsl/type_name.hpp>
#include <archetype/runtime/synthetic.hpp>
#include <archetype/runtime/train_net.hpp>
#include <archetype/runtime/trainer.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <stdexcept>
#include <string>

namespace archetype::runtime {
namespace {

// A net of one's own, as a user writes it.
struct Tiny final : Net<Input<Shape{1, 8, 8}>,
                        Seq<Conv3x3<4>, BatchNorm, ReLU, GlobalAvgPool, Flatten, Linear<10>>, 10> {
};

TrainOptions small_run() {
  TrainOptions o;
  o.epochs = 2;
  o.batch = 32;
  o.eval_batch = 64;
  o.lr = 0.05;
  o.seed = 5;
  o.threads = 1;
  return o;
}

// Raw images (pixels in [0, 1]): train<N> normalises both sets with the training set's
// statistics and returns them; the run is bit for bit the program entry's on data
// normalised by hand, and evaluate<N> is runtime::evaluate on the normalised test set.
TEST(TrainNet, IsTheProgramEntryOnDataNormalisedWithTheTrainingStatistics) {
  const Dataset train_raw = make_synthetic({256, {1, 8, 8}, 10, 1, 0.3f});
  const Dataset test_raw = make_synthetic({96, {1, 8, 8}, 10, 2, 0.3f});
  ASSERT_TRUE(train_raw.mean.empty());
  std::FILE* sink = std::tmpfile();
  Progress quiet(sink, false);
  const TrainOptions o = small_run();

  const TrainResult by_type = train<Tiny>(train_raw, test_raw, o, quiet);

  Dataset train_n = train_raw;
  Dataset test_n = test_raw;
  const Dataset::ChannelStats stats = train_raw.channel_stats();
  train_n.normalize(stats.mean, stats.stddev);
  test_n.normalize(stats.mean, stats.stddev);
  const auto program = codegen::program_v<Tiny>.view();
  const TrainResult by_program = train(program, "tiny", train_n, test_n, o, quiet);

  EXPECT_EQ(by_type.mean, stats.mean);
  EXPECT_EQ(by_type.stddev, stats.stddev);
  EXPECT_EQ(by_program.mean, stats.mean) << "the program entry reports the statistics too";
  EXPECT_EQ(by_type.steps, by_program.steps);
  EXPECT_EQ(by_type.parameters, by_program.parameters);
  EXPECT_EQ(by_type.buffers, by_program.buffers);
  ASSERT_EQ(by_type.epochs.size(), 2u);
  EXPECT_EQ(by_type.epochs.back().test_accuracy, by_program.epochs.back().test_accuracy);

  const Evaluation want =
      evaluate(program, by_program.parameters, by_program.buffers, test_n, o.eval_batch, o.threads);
  // The raw test set is normalised first; the normalised one is taken as it is.
  for (const Dataset* data : {&test_raw, static_cast<const Dataset*>(&test_n)}) {
    const Evaluation e = evaluate<Tiny>(by_type, *data, o);
    EXPECT_EQ(e.images, want.images);
    EXPECT_EQ(e.loss, want.loss) << (data == &test_raw ? "raw" : "normalised") << " test set";
    EXPECT_EQ(e.accuracy, want.accuracy);
    EXPECT_EQ(e.top5, want.top5);
  }
  std::fclose(sink);
}

// Images of another shape: the error names the data's shape, the net's and the net's type.
TEST(TrainNet, NamesTheNetTypeWhenTheImagesDoNotFit) {
  const Dataset rgb = make_synthetic({64, {3, 32, 32}, 10, 1, 0.3f});
  std::FILE* sink = std::tmpfile();
  Progress quiet(sink, false);
  try {
    (void)train<Tiny>(rgb, rgb, small_run(), quiet);
    ADD_FAILURE() << "3x32x32 images were taken by a 1x8x8 net";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("has 3x32x32 images"), std::string::npos) << what;
    EXPECT_NE(what.find(std::string(type_name<Tiny>()) + " takes 1x8x8"), std::string::npos)
        << what;
  }
  std::fclose(sink);
}

}  // namespace
}  // namespace archetype::runtime

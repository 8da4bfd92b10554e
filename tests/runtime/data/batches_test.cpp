// Epoch order, batch assembly, resuming, and the prefetching iterator.
#include <archetype/runtime/batches.hpp>
#include <archetype/runtime/synthetic.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iterator>
#include <numeric>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace archetype::runtime::test {
namespace {

// n samples of 1×2×3 whose pixels encode the sample index, label = index % classes.
Dataset indexed(std::size_t n, int classes = 10) {
  Dataset d;
  d.name = "indexed";
  d.dims = {1, 2, 3};
  d.classes = classes;
  for (std::size_t i = 0; i < n; ++i) {
    d.labels.push_back(static_cast<int>(i % static_cast<std::size_t>(classes)));
    for (int j = 0; j < 6; ++j)
      d.images.push_back(static_cast<float>(i) + 0.1f * static_cast<float>(j));
  }
  return d;
}

// Sample index of image i in a batch of `indexed` data.
int sample_of(const Batch& b, int i) {
  return static_cast<int>(b.images[static_cast<std::size_t>(i) * 6]);
}

struct Recorded {
  std::vector<std::vector<float>> images;
  std::vector<std::vector<int>> labels;
  std::vector<int> indices;
  friend bool operator==(const Recorded&, const Recorded&) = default;
};

template <class Iterator>
void record(Iterator& it, Recorded& r, int max_batches = 1 << 30) {
  const std::size_t image = it.data().dims.size();
  for (int k = 0; k < max_batches; ++k) {
    auto b = it.next();
    if (!b) break;
    r.images.emplace_back(b->images, b->images + static_cast<std::size_t>(b->size) * image);
    r.labels.emplace_back(b->labels, b->labels + b->size);
    r.indices.push_back(b->index);
  }
}

TEST(EpochOrder, DeterministicPermutation) {
  const auto a = epoch_order(1000, 42, 3);
  EXPECT_EQ(a, epoch_order(1000, 42, 3));
  EXPECT_NE(a, epoch_order(1000, 42, 4));
  EXPECT_NE(a, epoch_order(1000, 43, 3));
  std::vector<int> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int> iota(1000);
  std::iota(iota.begin(), iota.end(), 0);
  EXPECT_EQ(sorted, iota);
  EXPECT_NE(a, iota);
  EXPECT_EQ(epoch_order(1000, 42, 3, /*shuffle=*/false), iota);
  EXPECT_TRUE(epoch_order(0, 1, 1).empty());
  EXPECT_EQ(epoch_order(1, 1, 1), std::vector<int>{0});
}

TEST(EpochOrder, PinnedValues) {
  // The order is part of reproducibility: changing it changes every resumed run.
  const auto a = epoch_order(10, 1, 0);
  const auto b = epoch_order(10, 1, 0);
  EXPECT_EQ(a, b);
  // every position is reachable: over many epochs, sample 0 lands everywhere
  std::set<int> positions;
  for (std::uint64_t e = 0; e < 200; ++e) {
    const auto o = epoch_order(10, 1, e);
    positions.insert(static_cast<int>(std::find(o.begin(), o.end(), 0) - o.begin()));
  }
  EXPECT_EQ(positions.size(), 10u);
}

TEST(Batches, SizesForTrainingAndEvaluation) {
  EXPECT_EQ(batches_per_epoch(10, 4, true), 2);
  EXPECT_EQ(batches_per_epoch(10, 4, false), 3);
  EXPECT_EQ(batches_per_epoch(8, 4, false), 2);
  EXPECT_EQ(batches_per_epoch(3, 4, true), 0);
  const Dataset d = indexed(10);
  BatchIterator train(d, BatchOptions::training(4, 1));
  EXPECT_EQ(train.batches_per_epoch(), 2);
  BatchIterator eval(d, BatchOptions::evaluation(4));
  std::vector<int> sizes;
  std::vector<int> seen;
  while (auto b = eval.next()) {
    sizes.push_back(b->size);
    for (int i = 0; i < b->size; ++i) seen.push_back(sample_of(*b, i));
  }
  EXPECT_EQ(sizes, (std::vector<int>{4, 4, 2}));
  std::vector<int> iota(10);
  std::iota(iota.begin(), iota.end(), 0);
  EXPECT_EQ(seen, iota);  // evaluation: in order, every sample
  EXPECT_THROW(BatchIterator(d, BatchOptions::training(0, 1)), std::invalid_argument);
}

TEST(Batches, EverySampleOncePerEpoch) {
  const Dataset d = indexed(103);
  BatchIterator all(d, {16, true, false, 9, {}});  // shuffled, keep the last partial batch
  BatchIterator train(d, BatchOptions::training(16, 9));
  for (std::uint64_t e = 0; e < 3; ++e) {
    all.start_epoch(e);
    std::vector<int> seen;
    while (auto b = all.next()) {
      for (int i = 0; i < b->size; ++i) {
        const int s = sample_of(*b, i);
        seen.push_back(s);
        EXPECT_EQ(b->labels[i], s % 10);
        EXPECT_EQ(b->images[static_cast<std::size_t>(i) * 6 + 5], static_cast<float>(s) + 0.5f);
      }
    }
    EXPECT_EQ(seen, std::vector<int>(all.order().begin(), all.order().end()));
    std::sort(seen.begin(), seen.end());
    std::vector<int> iota(103);
    std::iota(iota.begin(), iota.end(), 0);
    EXPECT_EQ(seen, iota);

    train.start_epoch(e);
    std::set<int> distinct;
    int count = 0;
    while (auto b = train.next()) {
      EXPECT_EQ(b->size, 16);
      for (int i = 0; i < b->size; ++i, ++count) distinct.insert(sample_of(*b, i));
    }
    EXPECT_EQ(count, 96);
    EXPECT_EQ(distinct.size(), 96u);
  }
}

TEST(Batches, SameSeedAndEpochSameBatches) {
  const Dataset d = make_synthetic({200, {3, 8, 8}, 10, 1, 0.2f});
  const BatchOptions opt = BatchOptions::training(32, 1234, {2, true});
  BatchIterator a(d, opt), b(d, opt);
  Recorded ra, rb, rc;
  a.start_epoch(5);
  b.start_epoch(5);
  record(a, ra);
  record(b, rb);
  EXPECT_EQ(ra, rb);
  a.start_epoch(6);
  record(a, rc);
  EXPECT_NE(ra.images, rc.images);
  EXPECT_NE(ra.labels, rc.labels);
  BatchOptions other = opt;
  other.seed = 1235;
  BatchIterator c(d, other);
  Recorded rd;
  c.start_epoch(5);
  record(c, rd);
  EXPECT_NE(ra.labels, rd.labels);
}

TEST(Batches, AugmentedBatchesAreCropsOfTheRightSamples) {
  const Dataset d = indexed(20);
  BatchOptions opt = BatchOptions::training(5, 3, {0, true});  // flip only
  BatchIterator it(d, opt);
  int flipped = 0;
  while (auto b = it.next()) {
    for (int i = 0; i < b->size; ++i) {
      const int s = it.order()[static_cast<std::size_t>(b->index * 5 + i)];
      const float* img = b->images + static_cast<std::size_t>(i) * 6;
      const bool f = img[0] != d.image(static_cast<std::size_t>(s))[0];
      flipped += f;
      for (int y = 0; y < 2; ++y) {
        for (int x = 0; x < 3; ++x)
          EXPECT_EQ(img[y * 3 + x], d.image(static_cast<std::size_t>(s))[y * 3 + (f ? 2 - x : x)]);
      }
      EXPECT_EQ(b->labels[i], s % 10);
    }
  }
  EXPECT_GT(flipped, 2);
  EXPECT_LT(flipped, 18);
}

TEST(Batches, PaddingUsesTheNormalizedBlack) {
  Dataset d = indexed(4);
  const float mean[] = {0.5f};
  const float sd[] = {0.25f};
  d.normalize(mean, sd);
  BatchIterator it(d, BatchOptions::training(4, 0, {7, false}));  // pad 7 > 2×3: mostly padding
  auto b = it.next();
  ASSERT_TRUE(b);
  int black = 0;
  for (int j = 0; j < 24; ++j) black += b->images[j] == -2.0f;
  EXPECT_GT(black, 12);
}

TEST(Batches, ResumeInsideAnEpoch) {
  const Dataset d = make_synthetic({100, {1, 6, 6}, 4, 3, 0.2f});
  const BatchOptions opt = BatchOptions::training(8, 77, {1, true});
  BatchIterator full(d, opt);
  full.start_epoch(2);
  Recorded all;
  record(full, all);
  BatchIterator resumed(d, opt);
  resumed.start_epoch(2, 5);
  Recorded tail;
  record(resumed, tail);
  ASSERT_EQ(tail.indices.size(), all.indices.size() - 5);
  EXPECT_EQ(tail.indices.front(), 5);
  EXPECT_EQ(tail.images,
            (std::vector<std::vector<float>>(all.images.begin() + 5, all.images.end())));
  EXPECT_EQ(tail.labels, (std::vector<std::vector<int>>(all.labels.begin() + 5, all.labels.end())));
  EXPECT_THROW(resumed.start_epoch(2, 13), std::out_of_range);
  resumed.start_epoch(2, 12);  // the end: nothing left
  EXPECT_FALSE(resumed.next());
}

TEST(Batches, NextBeforeStartEpochIsEpochZero) {
  const Dataset d = indexed(30);
  BatchIterator a(d, BatchOptions::training(4, 5));
  BatchIterator b(d, BatchOptions::training(4, 5));
  b.start_epoch(0);
  Recorded ra, rb;
  record(a, ra);
  record(b, rb);
  EXPECT_EQ(ra, rb);
}

// --- prefetching -----------------------------------------------------------------------

// Data-parallel shards: the shards of a global batch, side by side, are the batch one
// process takes, augmentation included (each shard replays the draws before it).
TEST(Batches, ShardsOfAGlobalBatchAreThatBatch) {
  const Dataset d = make_synthetic({96, {3, 8, 8}, 10, 5, 0.3f});
  for (const Augment augment : {Augment{}, Augment{2, true}, Augment{0, true}, Augment{3, false}}) {
    const BatchOptions whole_options = BatchOptions::training(12, 9, augment);
    BatchIterator whole(d, whole_options);
    std::vector<BatchIterator> shards;
    for (int r = 0; r < 3; ++r) {
      BatchOptions o = whole_options;
      o.shard = r;
      o.shards = 3;
      shards.emplace_back(d, o);
      EXPECT_EQ(shards.back().batches_per_epoch(), whole.batches_per_epoch());
    }
    whole.start_epoch(2);
    for (BatchIterator& s : shards) s.start_epoch(2);
    while (auto b = whole.next()) {
      std::vector<float> images;
      std::vector<int> labels;
      for (BatchIterator& s : shards) {
        const auto part = s.next();
        ASSERT_TRUE(part);
        ASSERT_EQ(part->size, 4);
        images.insert(images.end(), part->images, part->images + 4 * d.dims.size());
        labels.insert(labels.end(), part->labels, part->labels + 4);
      }
      EXPECT_EQ(images, std::vector<float>(b->images, b->images + 12 * d.dims.size()));
      EXPECT_EQ(labels, std::vector<int>(b->labels, b->labels + 12));
    }
  }
}

TEST(Batches, ABatchThatDoesNotSplitIntoShardsIsAnError) {
  const Dataset d = indexed(40);
  BatchOptions o = BatchOptions::training(10, 1);
  o.shards = 4;
  try {
    BatchIterator it(d, o);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "a batch of 10 does not split into 4 equal shards: use a multiple of 4");
  }
  o.shards = 2;
  o.shard = 2;
  EXPECT_THROW(BatchIterator(d, o), std::invalid_argument);
}

TEST(Prefetch, YieldsExactlyWhatThePlainIteratorYields) {
  const Dataset d = make_synthetic({300, {3, 8, 8}, 10, 11, 0.2f});
  for (const BatchOptions& opt :
       {BatchOptions::training(32, 9, {2, true}), BatchOptions::training(7, 1),
        BatchOptions::evaluation(64), BatchOptions{50, true, false, 4, {1, false}}}) {
    BatchIterator plain(d, opt);
    PrefetchingBatchIterator pre(d, opt);
    EXPECT_EQ(pre.batches_per_epoch(), plain.batches_per_epoch());
    for (std::uint64_t e = 0; e < 3; ++e) {
      plain.start_epoch(e);
      pre.start_epoch(e);
      Recorded rp, rq;
      record(plain, rp);
      record(pre, rq);
      EXPECT_EQ(rp.indices.size(), static_cast<std::size_t>(plain.batches_per_epoch()));
      EXPECT_EQ(rp, rq) << "epoch " << e << " batch " << opt.batch_size;
    }
  }
}

TEST(Prefetch, DeterministicRegardlessOfTiming) {
  const Dataset d = make_synthetic({256, {3, 16, 16}, 10, 2, 0.2f});
  const BatchOptions opt = BatchOptions::training(16, 3, {2, true});
  BatchIterator plain(d, opt);
  plain.start_epoch(1);
  Recorded want;
  record(plain, want);
  for (int delay_us : {0, 50, 500}) {
    PrefetchingBatchIterator pre(d, opt);
    pre.start_epoch(1);
    Recorded got;
    const std::size_t image = d.dims.size();
    while (auto b = pre.next()) {
      // the batch must stay intact while the caller "trains" on it
      std::this_thread::sleep_for(std::chrono::microseconds(delay_us * (b->index % 3)));
      got.images.emplace_back(b->images, b->images + static_cast<std::size_t>(b->size) * image);
      got.labels.emplace_back(b->labels, b->labels + b->size);
      got.indices.push_back(b->index);
    }
    EXPECT_EQ(got, want) << "delay " << delay_us;
    EXPECT_FALSE(pre.next());  // stays at the end
  }
}

TEST(Prefetch, RestartMidEpochAndResume) {
  const Dataset d = make_synthetic({120, {1, 8, 8}, 10, 5, 0.2f});
  const BatchOptions opt = BatchOptions::training(10, 21, {1, true});
  BatchIterator plain(d, opt);
  plain.start_epoch(4, 3);
  Recorded want;
  record(plain, want);

  PrefetchingBatchIterator pre(d, opt);
  pre.start_epoch(0);
  Recorded ignored;
  record(pre, ignored, 2);  // abandon epoch 0 after two batches
  pre.start_epoch(4, 3);    // resume epoch 4 at batch 3
  Recorded got;
  record(pre, got);
  EXPECT_EQ(got, want);

  // next() before start_epoch is epoch 0, as for the plain iterator
  PrefetchingBatchIterator lazy(d, opt);
  BatchIterator plain0(d, opt);
  Recorded a, b;
  record(lazy, a);
  record(plain0, b);
  EXPECT_EQ(a, b);
}

// Threads of this process (Linux: /proc/self/task).
std::size_t thread_count() {
  const std::filesystem::directory_iterator tasks("/proc/self/task");
  return static_cast<std::size_t>(std::distance(begin(tasks), end(tasks)));
}

// An iterator destroyed before its first epoch, right after start_epoch, or right after a
// next() (when its worker is filling the following 64 augmented 3x32x32 images): the batches
// it gave are exact, and its destructor stops and joins the worker (the thread count drops
// back), without hanging or touching freed memory (which the asan and tsan runs check).
TEST(Prefetch, DestroyWhileBusy) {
  const Dataset d = make_synthetic({512, {3, 32, 32}, 10, 5, 0.2f});
  const BatchOptions opt = BatchOptions::training(64, 1, {4, true});
  const std::size_t image = d.dims.size();
  // One iterator first: a sanitizer's runtime may start a thread of its own with the first.
  { PrefetchingBatchIterator warm_up(d, opt); }
  const std::size_t threads_before = thread_count();
  for (int k = 0; k < 30; ++k) {
    const auto epoch = static_cast<std::uint64_t>(k);
    BatchIterator plain(d, opt);
    plain.start_epoch(epoch);
    {
      PrefetchingBatchIterator pre(d, opt);
      EXPECT_EQ(thread_count(), threads_before + 1) << "iterator " << k << " has one worker";
      // k % 3 == 0: destroyed while its worker waits for an epoch
      if (k % 3 != 0) pre.start_epoch(epoch);
      const int take = k % 3 == 2 ? 1 + k % 5 : 0;
      for (int i = 0; i < take; ++i) {
        const auto got = pre.next();
        const auto want = plain.next();
        ASSERT_TRUE(got && want);
        ASSERT_EQ(got->size, want->size);
        const std::size_t n = static_cast<std::size_t>(got->size);
        EXPECT_TRUE(std::equal(got->labels, got->labels + n, want->labels)) << "iterator " << k;
        EXPECT_TRUE(std::equal(got->images, got->images + n * image, want->images))
            << "iterator " << k;
      }
    }  // destroyed here
    EXPECT_EQ(thread_count(), threads_before) << "the worker of iterator " << k << " outlived it";
  }
}

}  // namespace
}  // namespace archetype::runtime::test

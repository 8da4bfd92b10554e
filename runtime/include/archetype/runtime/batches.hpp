// Epochs of mini-batches: a seeded shuffle per epoch, fixed-size batches copied (and
// optionally augmented) into the iterator's own buffers.
//
// Determinism: the order of epoch e is a pure function of (seed, e), and the augmentation of
// batch b of epoch e a pure function of (seed, e, b) — independent of how earlier batches
// were consumed — so a run resumed at (epoch, batch) sees exactly the batches it would have
// seen, and PrefetchingBatchIterator yields exactly what BatchIterator yields.
#pragma once

#include <archetype/runtime/augment.hpp>
#include <archetype/runtime/dataset.hpp>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

namespace archetype::runtime {

struct BatchOptions {
  int batch_size = 128;
  bool shuffle = true;
  bool drop_last = true;  // training: only full batches; evaluation: false, last one smaller
  std::uint64_t seed = 0;
  Augment augment{};      // none by default
  // Data sets with a source: a sample that cannot be read is replaced by the next readable
  // one of the epoch's order (training), or else left as zeros with the label -1 (evaluation:
  // not scored).
  bool replace_unreadable = true;
  // Data-parallel training: batch_size is the global batch, and this process takes shard
  // `shard` of `shards` equal parts of each: images [shard·B/shards, (shard+1)·B/shards) of
  // the global batch, augmented exactly as one process would augment them (the same order,
  // the same draws). batch_size must divide by shards, and drop_last be set.
  int shard = 0;
  int shards = 1;
  [[nodiscard]] int shard_size() const noexcept { return shards > 0 ? batch_size / shards : 0; }

  // Shuffled, full batches, augmented as given.
  [[nodiscard]] static BatchOptions training(int batch_size, std::uint64_t seed, Augment augment = {}) {
    return {batch_size, true, true, seed, augment, true};
  }
  // In order, every sample, no augmentation.
  [[nodiscard]] static BatchOptions evaluation(int batch_size) {
    return {batch_size, false, false, 0, {}, false};
  }
};

// One batch, a view into the iterator's buffers: valid until the iterator's next call to
// next() or start_epoch(), or its destruction.
struct Batch {
  const float* images = nullptr;  // size × dims.size() floats, NCHW
  const int* labels = nullptr;    // size labels
  int size = 0;
  int index = 0;                  // within the epoch
};

// The sample order of an epoch: 0..n-1, Fisher-Yates-shuffled when shuffle is set, with a
// std::mt19937_64 seeded with mix_seed(seed, epoch) and an unbiased bounded draw of its own
// (std::shuffle and std::uniform_int_distribution differ between standard libraries; this
// does not). Same seed and epoch, same order, on every platform.
[[nodiscard]] std::vector<int> epoch_order(std::size_t n, std::uint64_t seed, std::uint64_t epoch,
                                           bool shuffle = true);

// Batches in an epoch of n samples.
[[nodiscard]] int batches_per_epoch(std::size_t n, int batch_size, bool drop_last);

// Writes batch `batch_index` of an epoch (samples order[batch_index·B …]) into images
// (B × dims.size() floats) and labels, augmented with mix_seed(seed, epoch, batch_index)
// when options.augment is enabled (padding with data.black()). Returns the batch's size.
// With data.source, the source's threads load the batch's samples together, sample k of the
// epoch's order augmented from mix_seed(seed, epoch, k): the same images whatever the threads.
// With options.shards > 1, only this process's shard of it (shard_size() images).
int fill_batch(const Dataset& data, std::span<const int> order, int batch_index, const BatchOptions& options,
               std::uint64_t epoch, float* images, int* labels);

// Usage:
//   BatchIterator it(train, BatchOptions::training(128, seed, {4, true}));
//   for (int e = 0; e < epochs; ++e) {
//     it.start_epoch(e);
//     while (auto b = it.next()) step(b->images, b->labels, b->size);
//   }
// The data set must outlive the iterator. next() before any start_epoch() starts epoch 0.
class BatchIterator {
 public:
  BatchIterator(const Dataset& data, const BatchOptions& options);

  // Starts `epoch` at batch `first_batch` (to resume inside an epoch).
  void start_epoch(std::uint64_t epoch, int first_batch = 0);
  // The next batch of the epoch, or nothing at its end.
  [[nodiscard]] std::optional<Batch> next();

  [[nodiscard]] int batches_per_epoch() const noexcept { return batches_; }
  [[nodiscard]] std::uint64_t epoch() const noexcept { return epoch_; }
  [[nodiscard]] std::span<const int> order() const noexcept { return order_; }
  [[nodiscard]] const BatchOptions& options() const noexcept { return options_; }
  [[nodiscard]] const Dataset& data() const noexcept { return data_; }

 private:
  const Dataset& data_;
  BatchOptions options_;
  int batches_ = 0;
  std::uint64_t epoch_ = 0;
  bool started_ = false;
  int next_ = 0;
  std::vector<int> order_;
  std::vector<float> images_;
  std::vector<int> labels_;
};

// The same batches as BatchIterator, prepared on a background thread one batch ahead (double
// buffering): while the caller trains on batch b, batch b+1 is being filled. Errors thrown
// while filling are rethrown by next().
class PrefetchingBatchIterator {
 public:
  PrefetchingBatchIterator(const Dataset& data, const BatchOptions& options);
  ~PrefetchingBatchIterator();
  PrefetchingBatchIterator(const PrefetchingBatchIterator&) = delete;
  PrefetchingBatchIterator& operator=(const PrefetchingBatchIterator&) = delete;

  void start_epoch(std::uint64_t epoch, int first_batch = 0);
  [[nodiscard]] std::optional<Batch> next();

  [[nodiscard]] int batches_per_epoch() const noexcept { return batches_; }
  [[nodiscard]] std::uint64_t epoch() const noexcept { return epoch_; }
  [[nodiscard]] const BatchOptions& options() const noexcept { return options_; }
  [[nodiscard]] const Dataset& data() const noexcept { return data_; }

 private:
  struct Slot {
    std::vector<float> images;
    std::vector<int> labels;
    int size = 0;
  };
  void work();

  const Dataset& data_;
  BatchOptions options_;
  int batches_ = 0;

  // Guarded by mutex_ (the worker reads order_/epoch_ unlocked only while busy_, and
  // start_epoch waits for !busy_ before changing them).
  std::mutex mutex_;
  std::condition_variable changed_;
  std::uint64_t epoch_ = 0;
  bool started_ = false;
  bool stop_ = false;
  bool busy_ = false;   // the worker is filling a slot
  int next_fill_ = 0;   // the next batch the worker fills
  int next_take_ = 0;   // the next batch next() returns
  int held_ = -1;       // the batch the caller holds, -1 for none
  std::exception_ptr error_;
  std::vector<int> order_;
  Slot slots_[2];       // batch b lives in slots_[b % 2]
  bool restarting_ = false;  // start_epoch is waiting for the worker: start no new fill
  std::thread worker_;  // last: started after everything above is initialised
};

}  // namespace archetype::runtime

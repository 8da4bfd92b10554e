// Epoch order, batch assembly, and the plain and prefetching batch iterators.
#include <archetype/runtime/batches.hpp>

#include <atomic>
#include <cstring>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>

namespace archetype::runtime {

namespace {

constexpr std::uint64_t augment_salt = 0xA7C3'0001'0000'0000ULL;
constexpr std::uint64_t source_salt = 0xA7C3'0002'0000'0000ULL;

// Uniform in [0, n), n > 0, unbiased (rejection of the lowest 2^64 mod n values).
std::uint64_t below(std::mt19937_64& rng, std::uint64_t n) {
  const std::uint64_t threshold = (0 - n) % n;
  for (;;) {
    const std::uint64_t r = rng();
    if (r >= threshold) return r % n;
  }
}

void check_options(const Dataset& data, const BatchOptions& options) {
  if (options.batch_size <= 0) {
    throw std::invalid_argument("batch size must be positive, got " + std::to_string(options.batch_size));
  }
  if (options.augment.pad < 0) {
    throw std::invalid_argument("augmentation padding must not be negative, got " +
                                std::to_string(options.augment.pad));
  }
  if (options.shards < 1 || options.shard < 0 || options.shard >= options.shards) {
    throw std::invalid_argument("batch shard " + std::to_string(options.shard) + " of " +
                                std::to_string(options.shards) + " does not exist");
  }
  if (options.shards > 1 && (options.batch_size % options.shards != 0 || !options.drop_last)) {
    throw std::invalid_argument("a batch of " + std::to_string(options.batch_size) +
                                " does not split into " + std::to_string(options.shards) +
                                " equal shards: use a multiple of " +
                                std::to_string(options.shards));
  }
  if (data.source) {
    if (options.augment.pad > 0) {
      throw std::invalid_argument(data.name +
                                  ": the padded random crop is for small in-memory images (CIFAR); "
                                  "images read from files take the random resized crop");
    }
  } else {
    if (options.augment.resized_crop) {
      throw std::invalid_argument(data.name +
                                  ": the random resized crop is for images read from files "
                                  "(image folders); in-memory images take the padded crop");
    }
    if (data.images.size() != data.size() * data.dims.size()) {
      throw std::invalid_argument(data.name + ": images and labels do not match in size");
    }
  }
}

/// fill_batch for a data set with a source: samples order[start …] loaded by the source's
/// threads (each takes the next sample not yet taken), then the unreadable ones replaced.
void fill_from_source(const Dataset& data, std::span<const int> order, std::size_t start,
                      std::size_t size, const BatchOptions& options, std::uint64_t epoch,
                      float* images, int* labels) {
  const SampleSource& source = *data.source;
  const std::size_t stride = data.dims.size();
  const Augment& a = options.augment;
  const std::uint64_t base = options.seed ^ source_salt;
  std::vector<char> ok(size, 0);
  std::vector<std::exception_ptr> errors(size);
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i = next.fetch_add(1); i < size; i = next.fetch_add(1)) {
      const auto sample = static_cast<std::size_t>(order[start + i]);
      labels[i] = data.labels[sample];
      try {
        ok[i] = source.load(sample, a.resized_crop, a.flip, mix_seed(base, epoch, start + i),
                            images + i * stride);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
  };
  {
    const auto threads = std::min<std::size_t>(std::size_t(std::max(source.threads(), 1)), size);
    std::vector<std::jthread> pool;
    for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
  }  // joined
  for (const std::exception_ptr& e : errors) {
    if (e) std::rethrow_exception(e);  // the first in the batch's order: deterministic
  }
  for (std::size_t i = 0; i < size; ++i) {
    if (ok[i]) continue;
    float* out = images + i * stride;
    if (!options.replace_unreadable) {
      std::fill(out, out + stride, 0.0f);
      labels[i] = -1;
      continue;
    }
    // The next readable sample of the epoch's order, with this position's randomness.
    bool found = false;
    for (std::size_t k = 1; k < order.size() && !found; ++k) {
      const auto sample = static_cast<std::size_t>(order[(start + i + k) % order.size()]);
      found = source.load(sample, a.resized_crop, a.flip, mix_seed(base, epoch, start + i), out);
      labels[i] = data.labels[sample];
    }
    if (!found)
      throw DataError(data.name + ": none of its " + std::to_string(order.size()) +
                      " images can be read");
  }
}

void check_first_batch(int first_batch, int batches) {
  if (first_batch < 0 || first_batch > batches) {
    throw std::out_of_range("start_epoch: first batch " + std::to_string(first_batch) + " is outside 0.." +
                            std::to_string(batches));
  }
}

}  // namespace

std::vector<int> epoch_order(std::size_t n, std::uint64_t seed, std::uint64_t epoch, bool shuffle) {
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  if (shuffle && n > 1) {
    std::mt19937_64 rng(mix_seed(seed, epoch));
    for (std::size_t i = n - 1; i > 0; --i) {
      const auto j = static_cast<std::size_t>(below(rng, i + 1));
      std::swap(order[i], order[j]);
    }
  }
  return order;
}

int batches_per_epoch(std::size_t n, int batch_size, bool drop_last) {
  if (batch_size <= 0) throw std::invalid_argument("batch size must be positive");
  const std::size_t b = static_cast<std::size_t>(batch_size);
  return static_cast<int>(drop_last ? n / b : (n + b - 1) / b);
}

int fill_batch(const Dataset& data, std::span<const int> order, int batch_index, const BatchOptions& options,
               std::uint64_t epoch, float* images, int* labels) {
  const std::size_t b = static_cast<std::size_t>(options.batch_size);
  const std::size_t start = static_cast<std::size_t>(batch_index) * b;
  if (batch_index < 0 || start >= order.size()) {
    throw std::out_of_range("fill_batch: batch " + std::to_string(batch_index) + " is past the end of an epoch of " +
                            std::to_string(order.size()) + " samples");
  }
  std::size_t size = std::min(b, order.size() - start);
  if (data.source) {
    // A shard: its images of the global batch, each augmented from its position in the epoch's
    // order, as one process draws it.
    const std::size_t first =
        options.shards > 1 ? static_cast<std::size_t>(options.shard * options.shard_size()) : 0;
    if (options.shards > 1) size = static_cast<std::size_t>(options.shard_size());
    fill_from_source(data, order, start + first, size, options, epoch, images, labels);
    return static_cast<int>(size);
  }
  const std::size_t stride = data.dims.size();
  const bool augment = options.augment.enabled();
  const std::vector<float> fill = augment ? data.black() : std::vector<float>{};
  SplitMix64 rng(mix_seed(options.seed ^ augment_salt, epoch, static_cast<std::uint64_t>(batch_index)));
  std::size_t first = 0;  // of the global batch, this shard's first image
  if (options.shards > 1) {
    size = static_cast<std::size_t>(options.shard_size());
    first = static_cast<std::size_t>(options.shard) * size;
    // The draws augment_image makes for the images of the shards before this one.
    const auto range = static_cast<std::uint64_t>(2 * options.augment.pad + 1);
    for (std::size_t i = 0; augment && i < first; ++i) {
      if (options.augment.pad > 0) {
        (void)rng.below(range);
        (void)rng.below(range);
      }
      if (options.augment.flip) (void)rng();
    }
  }
  for (std::size_t i = 0; i < size; ++i) {
    const auto sample = static_cast<std::size_t>(order[start + first + i]);
    labels[i] = data.labels[sample];
    const float* src = data.image(sample);
    float* dst = images + i * stride;
    if (augment) {
      augment_image(src, dst, data.dims, options.augment, rng, fill);
    } else {
      std::memcpy(dst, src, stride * sizeof(float));
    }
  }
  return static_cast<int>(size);
}

// --- BatchIterator ---------------------------------------------------------------------------

BatchIterator::BatchIterator(const Dataset& data, const BatchOptions& options)
    : data_(data), options_(options) {
  check_options(data_, options_);
  batches_ = runtime::batches_per_epoch(data_.size(), options_.batch_size, options_.drop_last);
  images_.resize(static_cast<std::size_t>(options_.shard_size()) * data_.dims.size());
  labels_.resize(static_cast<std::size_t>(options_.shard_size()));
}

void BatchIterator::start_epoch(std::uint64_t epoch, int first_batch) {
  check_first_batch(first_batch, batches_);
  epoch_ = epoch;
  order_ = epoch_order(data_.size(), options_.seed, epoch, options_.shuffle);
  next_ = first_batch;
  started_ = true;
}

std::optional<Batch> BatchIterator::next() {
  if (!started_) start_epoch(0);
  if (next_ >= batches_) return std::nullopt;
  const int size = fill_batch(data_, order_, next_, options_, epoch_, images_.data(), labels_.data());
  return Batch{images_.data(), labels_.data(), size, next_++};
}

// --- PrefetchingBatchIterator -----------------------------------------------------------------

PrefetchingBatchIterator::PrefetchingBatchIterator(const Dataset& data, const BatchOptions& options)
    : data_(data), options_(options) {
  check_options(data_, options_);
  batches_ = runtime::batches_per_epoch(data_.size(), options_.batch_size, options_.drop_last);
  for (Slot& s : slots_) {
    s.images.resize(static_cast<std::size_t>(options_.shard_size()) * data_.dims.size());
    s.labels.resize(static_cast<std::size_t>(options_.shard_size()));
  }
  worker_ = std::thread([this] { work(); });
}

PrefetchingBatchIterator::~PrefetchingBatchIterator() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  worker_.join();
}

void PrefetchingBatchIterator::start_epoch(std::uint64_t epoch, int first_batch) {
  check_first_batch(first_batch, batches_);
  std::vector<int> order = epoch_order(data_.size(), options_.seed, epoch, options_.shuffle);
  std::unique_lock<std::mutex> lock(mutex_);
  restarting_ = true;
  changed_.wait(lock, [this] { return !busy_; });
  restarting_ = false;
  epoch_ = epoch;
  order_ = std::move(order);
  next_fill_ = first_batch;
  next_take_ = first_batch;
  held_ = -1;
  error_ = nullptr;
  started_ = true;
  lock.unlock();
  changed_.notify_all();
}

std::optional<Batch> PrefetchingBatchIterator::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!started_) {
    lock.unlock();
    start_epoch(0);
    lock.lock();
  }
  if (held_ >= 0) {  // the caller is done with the previous batch: its slot may be refilled
    held_ = -1;
    changed_.notify_all();
  }
  if (next_take_ >= batches_) return std::nullopt;
  changed_.wait(lock, [this] { return next_fill_ > next_take_ || error_ != nullptr; });
  if (next_fill_ <= next_take_) std::rethrow_exception(error_);
  const int b = next_take_++;
  held_ = b;
  const Slot& s = slots_[b % 2];
  return Batch{s.images.data(), s.labels.data(), s.size, b};
}

void PrefetchingBatchIterator::work() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] {
      if (stop_) return true;
      if (!started_ || restarting_ || error_ != nullptr || next_fill_ >= batches_) return false;
      const int lowest_in_use = held_ >= 0 ? held_ : next_take_;
      return next_fill_ < lowest_in_use + 2;  // two slots: the caller's and the one being filled
    });
    if (stop_) return;
    const int b = next_fill_;
    busy_ = true;
    lock.unlock();
    // order_, epoch_ and slot b % 2 are not touched by anyone else while busy_.
    Slot& slot = slots_[b % 2];
    std::exception_ptr error;
    try {
      slot.size = fill_batch(data_, order_, b, options_, epoch_, slot.images.data(), slot.labels.data());
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    busy_ = false;
    if (error) {
      error_ = error;
    } else {
      next_fill_ = b + 1;
    }
    changed_.notify_all();
  }
}

}  // namespace archetype::runtime

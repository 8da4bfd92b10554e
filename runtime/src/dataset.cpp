// Dataset: subset, normalization, statistics, validation.
#include <archetype/runtime/dataset.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace archetype::runtime {

const char* to_string(Split split) noexcept { return split == Split::train ? "train" : "test"; }

Dataset Dataset::subset(std::size_t first, std::size_t n) const {
  first = std::min(first, size());
  n = std::min(n, size() - first);
  Dataset out;
  out.name = name;
  out.dims = dims;
  out.classes = classes;
  out.mean = mean;
  out.stddev = stddev;
  const auto image = [&](std::size_t i) {
    return images.begin() + std::ptrdiff_t(i * dims.size());
  };
  out.images.assign(image(first), image(first + n));
  out.labels.assign(labels.begin() + std::ptrdiff_t(first),
                    labels.begin() + std::ptrdiff_t(first + n));
  return out;
}

void Dataset::normalize(std::span<const float> m, std::span<const float> s) {
  const auto channels = static_cast<std::size_t>(dims.c);
  if (m.size() != channels || s.size() != channels) {
    throw std::invalid_argument(name + ": normalize needs " + std::to_string(channels) +
                                " means and standard deviations, got " + std::to_string(m.size()) + " and " +
                                std::to_string(s.size()));
  }
  for (std::size_t c = 0; c < channels; ++c) {
    if (!(s[c] > 0.0f) || !std::isfinite(s[c]) || !std::isfinite(m[c])) {
      throw std::invalid_argument(name + ": normalize: channel " + std::to_string(c) +
                                  " needs a finite mean and a positive, finite standard deviation");
    }
  }
  const std::size_t plane = static_cast<std::size_t>(dims.h) * static_cast<std::size_t>(dims.w);
  for (std::size_t i = 0; i < size(); ++i) {
    float* img = image(i);
    for (std::size_t c = 0; c < channels; ++c) {
      const float mc = m[c];
      const float inv = 1.0f / s[c];
      float* p = img + c * plane;
      for (std::size_t k = 0; k < plane; ++k) p[k] = (p[k] - mc) * inv;
    }
  }
  // Compose with an earlier normalization: ((x - m1)/s1 - m2)/s2 = (x - (m1 + m2·s1)) / (s1·s2).
  if (mean.empty()) {
    mean.assign(m.begin(), m.end());
    stddev.assign(s.begin(), s.end());
  } else {
    for (std::size_t c = 0; c < channels; ++c) {
      mean[c] += m[c] * stddev[c];
      stddev[c] *= s[c];
    }
  }
}

std::vector<float> Dataset::black() const {
  std::vector<float> v(static_cast<std::size_t>(std::max(dims.c, 0)), 0.0f);
  if (!mean.empty()) {
    for (std::size_t c = 0; c < v.size(); ++c) v[c] = -mean[c] / stddev[c];
  }
  return v;
}

Dataset::ChannelStats Dataset::channel_stats() const {
  const auto channels = static_cast<std::size_t>(std::max(dims.c, 0));
  const std::size_t plane = static_cast<std::size_t>(dims.h) * static_cast<std::size_t>(dims.w);
  std::vector<double> sum(channels, 0.0), sq(channels, 0.0);
  for (std::size_t i = 0; i < size(); ++i) {
    const float* img = image(i);
    for (std::size_t c = 0; c < channels; ++c) {
      double s = 0.0, q = 0.0;
      for (std::size_t k = 0; k < plane; ++k) {
        const double x = img[c * plane + k];
        s += x;
        q += x * x;
      }
      sum[c] += s;
      sq[c] += q;
    }
  }
  ChannelStats stats{std::vector<float>(channels, 0.0f), std::vector<float>(channels, 0.0f)};
  const double count = static_cast<double>(size()) * static_cast<double>(plane);
  if (count == 0) return stats;
  for (std::size_t c = 0; c < channels; ++c) {
    const double mu = sum[c] / count;
    stats.mean[c] = static_cast<float>(mu);
    stats.stddev[c] = static_cast<float>(std::sqrt(std::max(0.0, sq[c] / count - mu * mu)));
  }
  return stats;
}

void Dataset::validate() const {
  if (dims.c <= 0 || dims.h <= 0 || dims.w <= 0) {
    throw DataError(name + ": image dimensions " + std::to_string(dims.c) + "x" + std::to_string(dims.h) + "x" +
                    std::to_string(dims.w) + " are not all positive");
  }
  if (classes <= 0) throw DataError(name + ": classes is " + std::to_string(classes) + ", must be positive");
  if (images.size() != labels.size() * dims.size()) {
    throw DataError(name + ": " + std::to_string(images.size()) + " floats of images for " +
                    std::to_string(labels.size()) + " labels of " + std::to_string(dims.size()) +
                    "-float images");
  }
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= classes) {
      throw DataError(name + ": label " + std::to_string(labels[i]) + " at index " + std::to_string(i) +
                      " is out of range (expected 0.." + std::to_string(classes - 1) + ")");
    }
  }
  if (!mean.empty() && (mean.size() != static_cast<std::size_t>(dims.c) || stddev.size() != mean.size())) {
    throw DataError(name + ": normalization has " + std::to_string(mean.size()) + " means and " +
                    std::to_string(stddev.size()) + " standard deviations for " + std::to_string(dims.c) +
                    " channels");
  }
}

}  // namespace archetype::runtime

// Writes the seed corpus of one fuzz target into a directory: small real files in each
// format, prefixed with the target's mode byte. IDX seeds are slices of Debian's
// Fashion-MNIST (the first 3 test images and labels) when it is installed, else generated
// images; the other formats are written by the project's own writers, the images by
// libjpeg-turbo and libpng (image_files.hpp).
//
// Usage: fuzz_seeds TARGET DIR   (TARGET: idx, cifar, checkpoint, parameters, metrics, image)
#include "image_files.hpp"
#include "tiny_net.hpp"

#include <archetype/runtime/checkpoint.hpp>
#include <archetype/runtime/idx.hpp>
#include <archetype/runtime/metrics.hpp>
#include <archetype/runtime/parameters_file.hpp>

#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace archetype;
using Bytes = std::vector<unsigned char>;

namespace {

void write(const fs::path& path, unsigned char mode, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.put(char(mode));
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

Bytes read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

Bytes gzip(const Bytes& bytes, const fs::path& scratch) {
  gzFile f = gzopen(scratch.c_str(), "wb9");
  gzwrite(f, bytes.data(), unsigned(bytes.size()));
  gzclose(f);
  Bytes out = read(scratch);
  fs::remove(scratch);
  return out;
}

void be32(Bytes& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<unsigned char>(v >> s));
}

// The first `n` items of an IDX file (header rewritten to say n), or generated ones.
Bytes idx_slice(const char* file, bool images, std::uint32_t n) {
  Bytes out;
  const std::size_t item = images ? 28 * 28 : 1;
  be32(out, images ? 0x803 : 0x801);
  be32(out, n);
  if (images) {
    be32(out, 28);
    be32(out, 28);
  }
  const auto dir = runtime::find_fashion_mnist_dir();
  Bytes all;
  if (dir) {
    try {
      all = runtime::read_file_bytes(runtime::find_idx_file(*dir, file));
    } catch (const runtime::DataError&) {
    }
  }
  const std::size_t header = images ? 16 : 8;
  if (all.size() >= header + n * item) {
    out.insert(out.end(), all.begin() + std::ptrdiff_t(header),
               all.begin() + std::ptrdiff_t(header + n * item));
  } else {
    for (std::size_t i = 0; i < n * item; ++i) out.push_back(images ? (i * 7) % 256 : i % 10);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: fuzz_seeds idx|cifar|checkpoint|parameters|metrics|image DIR\n");
    return 2;
  }
  const std::string target = argv[1];
  const fs::path dir = argv[2];
  fs::create_directories(dir);
  if (target == "idx") {
    const Bytes images = idx_slice("t10k-images-idx3-ubyte", true, 3);
    const Bytes labels = idx_slice("t10k-labels-idx1-ubyte", false, 3);
    write(dir / "images", 0, images);
    write(dir / "labels", 1, labels);
    const Bytes one_image(images.begin(), images.begin() + 16 + 784);
    Bytes header_one = one_image;
    header_one[7] = 1;  // count 1
    write(dir / "image-file", 2, header_one);
    write(dir / "image-file.gz", 2, gzip(header_one, dir / "scratch.gz"));
    Bytes one_label(labels.begin(), labels.begin() + 9);
    one_label[7] = 1;
    one_label[8] = 0;
    write(dir / "label-file", 3, one_label);
    write(dir / "label-file.gz", 3, gzip(one_label, dir / "scratch.gz"));
  } else if (target == "cifar") {
    // Two records of each kind: label byte(s), then 3072 pixels (a Fashion-MNIST image
    // repeated over the three channels where it is installed).
    const Bytes images = idx_slice("t10k-images-idx3-ubyte", true, 2);
    for (int kind = 0; kind < 2; ++kind) {
      Bytes records;
      for (int r = 0; r < 2; ++r) {
        if (kind == 1) records.push_back(static_cast<unsigned char>(3 + r));  // coarse label
        records.push_back(static_cast<unsigned char>(7 + r));
        for (std::size_t p = 0; p < 3072; ++p)
          records.push_back(images[16 + std::size_t(r) * 784 + p % 784]);
      }
      write(dir / (kind == 0 ? "cifar10" : "cifar100"), static_cast<unsigned char>(kind), records);
    }
  } else if (target == "checkpoint") {
    runtime::Checkpoint c;
    c.fingerprint = runtime::fingerprint(fuzz::tiny_program());
    c.epochs_done = 2;
    c.steps_done = 40;
    c.seed = 1;
    c.params = {0.5f, -1.0f, 2.0f};
    c.buffers = {0.0f, 1.0f};
    c.optimizer_state = {0.25f, 0.125f, 0.0f};
    runtime::save_checkpoint(dir / "scratch", c);
    const Bytes bytes = read(dir / "scratch");
    write(dir / "memory", 0, bytes);
    write(dir / "memory-crc", 1, bytes);
    write(dir / "file", 2, bytes);
    write(dir / "file-crc", 3, bytes);
    c.buffers.clear();  // as LeNet-5's: a net without BatchNorm has no buffers
    runtime::save_checkpoint(dir / "scratch", c);
    write(dir / "memory-no-buffers", 1, read(dir / "scratch"));
    fs::remove(dir / "scratch");
  } else if (target == "parameters") {
    const auto program = fuzz::tiny_program();
    std::vector<float> params(std::size_t(program.params)), buffers(std::size_t(program.buffers));
    std::iota(params.begin(), params.end(), -4.0f);
    std::iota(buffers.begin(), buffers.end(), 1.0f);
    runtime::save_parameters(dir / "scratch", program, params, buffers);
    const Bytes bytes = read(dir / "scratch");
    write(dir / "memory", 0, bytes);
    write(dir / "file", 1, bytes);
    fs::remove(dir / "scratch");
  } else if (target == "metrics") {
    std::vector<runtime::EpochMetrics> epochs(2);
    for (int i = 0; i < 2; ++i) {
      epochs[std::size_t(i)] = {i + 1, 1.5 / (i + 1), 0.4 + 0.2 * i, 1.2,    0.7,
                                0.95,  0.05,          3.2,           1200.0, "f32"};
    }
    runtime::write_metrics(dir / "scratch.json", "lenet5", epochs);
    const Bytes bytes = read(dir / "scratch.json");
    std::ofstream(dir / "metrics.json", std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    fs::remove(dir / "scratch.json");
    fs::remove(dir / "scratch.csv");
  } else if (target == "image") {
    // Small real files of each kind the decoder handles, each under every mode byte's
    // channel count (bit 0) and path (bits 1-2: decode, crop+resize, flipped, file).
    using namespace archetype::test;
    Bytes rgb, grey;
    for (int y = 0; y < 12; ++y)
      for (int x = 0; x < 16; ++x) {
        rgb.insert(rgb.end(),
                   {static_cast<unsigned char>(x * 16), static_cast<unsigned char>(y * 20), 90});
        grey.push_back(static_cast<unsigned char>(x * 8 + y * 4));
      }
    Bytes rgba, grey16;
    for (std::size_t i = 0; i < grey.size(); ++i) {
      rgba.insert(rgba.end(), {rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2], grey[i]});
      grey16.insert(grey16.end(), {grey[i], static_cast<unsigned char>(255 - grey[i])});
    }
    const std::vector<png_color> palette = {{0, 0, 0}, {255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
    Bytes indices;
    for (unsigned char g : grey) indices.push_back(g % 4);
    const std::pair<const char*, Bytes> files[] = {
        {"baseline.jpg", jpeg_bytes(16, 12, 3, rgb, 75)},
        {"progressive.jpg", jpeg_bytes(16, 12, 3, rgb, 75, true)},
        {"grey.jpg", jpeg_bytes(16, 12, 1, grey, 75)},
        {"rgb.png", png_bytes(16, 12, PNG_COLOR_TYPE_RGB, 8, rgb)},
        {"rgba.png", png_bytes(16, 12, PNG_COLOR_TYPE_RGB_ALPHA, 8, rgba)},
        {"grey16.png", png_bytes(16, 12, PNG_COLOR_TYPE_GRAY, 16, grey16)},
        {"palette.png", png_bytes(16, 12, PNG_COLOR_TYPE_PALETTE, 8, indices, &palette)},
        {"interlaced.png", png_bytes(16, 12, PNG_COLOR_TYPE_GRAY, 8, grey, nullptr, true)}};
    for (const auto& [name, bytes] : files) {
      if (bytes.empty()) {
        std::fprintf(stderr, "fuzz_seeds: could not write %s\n", name);
        return 1;
      }
      for (unsigned char mode = 0; mode < 8; ++mode) {
        write(dir / (std::to_string(mode) + "-" + name),
              static_cast<unsigned char>(mode | 8 * (mode + 3)), bytes);
      }
    }
  } else {
    std::fprintf(stderr, "fuzz_seeds: unknown target '%s'\n", target.c_str());
    return 2;
  }
  return 0;
}

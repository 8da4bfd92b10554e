// JPEG (libjpeg-turbo's libjpeg API) and PNG (libpng) decoding, channel conversion, the
// antialiased bilinear resize and torchvision's random resized crop.
//
// Both libraries report errors by longjmp. Each setjmp lives in a function (run_jpeg,
// run_png) whose locals are plain data: everything that outlives the jump is reached through
// a pointer, and C++ exceptions are thrown only after the library's state is destroyed.
#include <archetype/runtime/image.hpp>

#include <cstdio>
// jpeglib.h needs size_t and FILE declared first.
#include <jerror.h>
#include <jpeglib.h>
#include <png.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csetjmp>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <new>
#include <stdexcept>

namespace archetype::runtime {
namespace {

constexpr int max_jpeg_scans = 500;  // a progressive JPEG has about 10; fuzzed ones 100,000s

std::string dims_text(std::int64_t w, std::int64_t h) {
  return std::to_string(w) + "x" + std::to_string(h);
}

/// "" when a w × h image is within `limits`, else why not.
std::string check_dims(std::int64_t w, std::int64_t h, const ImageLimits& limits) {
  if (w <= 0 || h <= 0) return "the header announces an empty image (" + dims_text(w, h) + ")";
  if (w > limits.max_side || h > limits.max_side) {
    return "the header announces " + dims_text(w, h) + " pixels, over the limit of " +
           std::to_string(limits.max_side) + " pixels a side";
  }
  if (w * h > limits.max_pixels) {
    return "the header announces " + dims_text(w, h) + " pixels, over the limit of " +
           std::to_string(limits.max_pixels) + " pixels";
  }
  return {};
}

// --- JPEG ------------------------------------------------------------------------------------

struct JpegErrors {
  jpeg_error_mgr mgr;  // first: libjpeg hands back a pointer to it
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX + 64];
};

[[noreturn]] void jpeg_fail(j_common_ptr cinfo) {
  auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, errors->message);
  std::longjmp(errors->jump, 1);
}

/// Warnings (level −1: corrupt or missing data, which libjpeg would fill with grey) are errors,
/// except extraneous bytes before a marker; trace messages (level ≥ 0) are dropped.
void jpeg_message(j_common_ptr cinfo, int level) {
  if (level < 0 && cinfo->err->msg_code != JWRN_EXTRANEOUS_DATA) jpeg_fail(cinfo);
}

/// Stops a progressive file with absurdly many scans (each rereads the whole image).
void jpeg_progress(j_common_ptr cinfo) {
  if (!cinfo->is_decompressor) return;
  const auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (d->input_scan_number > max_jpeg_scans) {
    auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
    std::snprintf(errors->message, sizeof errors->message, "more than %d scans", max_jpeg_scans);
    std::longjmp(errors->jump, 1);
  }
}

struct JpegJob {
  jpeg_decompress_struct cinfo;
  JpegErrors errors;
  jpeg_progress_mgr progress;
  const unsigned char* data = nullptr;
  unsigned long size = 0;
  const ImageLimits* limits = nullptr;
  Image* image = nullptr;
  std::string problem;  // set when the file is refused without a libjpeg error
};

/// Decodes job->data into *job->image (1 or 3 channels); false with the reason in
/// job->errors.message or job->problem.
bool run_jpeg(JpegJob* job) {
  j_decompress_ptr cinfo = &job->cinfo;
  cinfo->err = jpeg_std_error(&job->errors.mgr);
  job->errors.mgr.error_exit = jpeg_fail;
  job->errors.mgr.emit_message = jpeg_message;
  job->errors.message[0] = '\0';
  if (setjmp(job->errors.jump)) {
    jpeg_destroy_decompress(cinfo);
    return false;
  }
  jpeg_create_decompress(cinfo);
  cinfo->mem->max_memory_to_use = 1L << 30;
  job->progress.progress_monitor = jpeg_progress;
  cinfo->progress = &job->progress;
  jpeg_mem_src(cinfo, job->data, job->size);
  (void)jpeg_read_header(cinfo, TRUE);
  job->problem = check_dims(cinfo->image_width, cinfo->image_height, *job->limits);
  if (job->problem.empty() &&
      (cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK)) {
    job->problem = "a CMYK JPEG (only greyscale and colour YCbCr/RGB JPEGs are read)";
  }
  if (!job->problem.empty()) {
    jpeg_destroy_decompress(cinfo);
    return false;
  }
  cinfo->out_color_space = cinfo->num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  (void)jpeg_start_decompress(cinfo);
  Image& image = *job->image;
  image.width = int(cinfo->output_width);
  image.height = int(cinfo->output_height);
  image.channels = cinfo->output_components;
  const std::size_t stride = std::size_t(image.width) * std::size_t(image.channels);
  try {
    image.pixels.resize(stride * std::size_t(image.height));
  } catch (const std::bad_alloc&) {
    job->problem = "out of memory for " + dims_text(image.width, image.height) + " pixels";
    jpeg_destroy_decompress(cinfo);
    return false;
  }
  while (cinfo->output_scanline < cinfo->output_height) {
    JSAMPROW row = image.pixels.data() + std::size_t(cinfo->output_scanline) * stride;
    (void)jpeg_read_scanlines(cinfo, &row, 1);
  }
  (void)jpeg_finish_decompress(cinfo);
  jpeg_destroy_decompress(cinfo);
  return true;
}

// --- PNG -------------------------------------------------------------------------------------

struct PngJob {
  png_structp png = nullptr;
  png_infop info = nullptr;
  const unsigned char* data = nullptr;
  std::size_t size = 0;
  std::size_t position = 0;
  const ImageLimits* limits = nullptr;
  Image* image = nullptr;
  std::vector<png_bytep> rows;
  char message[256] = {};
  std::string problem;
};

[[noreturn]] void png_fail(png_structp png, png_const_charp message) {
  auto* job = static_cast<PngJob*>(png_get_error_ptr(png));
  std::snprintf(job->message, sizeof job->message, "%s", message);
  png_longjmp(png, 1);
}

void png_warn(png_structp, png_const_charp) {}  // e.g. a known-incorrect sRGB profile

// libpng allocates a chunk's buffer from its declared length before reading its bytes, and
// its own length check (png_set_chunk_malloc_max) is only a warning on reading: an 82-byte
// file whose zTXt chunk claimed 2,048,806,468 bytes made it allocate and touch 2 GB (found
// by cpu.fuzz.image). So every allocation of libpng's goes through this cap: no chunk is
// longer than the file, and 8 MB (libpng's usual chunk cap) leaves room for a decompressed
// text or colour profile; its other buffers (a row, zlib's state) are far smaller. A refused
// allocation becomes libpng's "out of memory" error, or a skipped ancillary chunk.
png_voidp png_capped_malloc(png_structp png, png_alloc_size_t bytes) {
  const auto* job = static_cast<const PngJob*>(png_get_mem_ptr(png));
  if (bytes > std::max<png_alloc_size_t>(job->size, 8000000)) return nullptr;
  return std::malloc(bytes);
}

void png_capped_free(png_structp, png_voidp p) { std::free(p); }

void png_read_bytes(png_structp png, png_bytep out, png_size_t length) {
  auto* job = static_cast<PngJob*>(png_get_io_ptr(png));
  if (length > job->size - job->position) png_error(png, "the file ends early (truncated)");
  std::memcpy(out, job->data + job->position, length);
  job->position += length;
}

/// Decodes job->data into *job->image with 1 to 4 channels (grey, grey+alpha, RGB, RGBA) of
/// 8 bits; false with the reason in job->message or job->problem.
bool run_png(PngJob* job) {
  job->png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, job, png_fail, png_warn, job,
                                      png_capped_malloc, png_capped_free);
  if (job->png == nullptr) {
    job->problem = "libpng could not start";
    return false;
  }
  job->info = png_create_info_struct(job->png);
  if (job->info == nullptr || setjmp(png_jmpbuf(job->png))) {
    png_destroy_read_struct(&job->png, &job->info, nullptr);
    return false;
  }
  png_structp png = job->png;
  png_set_read_fn(png, job, png_read_bytes);
  png_set_user_limits(png, png_uint_32(job->limits->max_side), png_uint_32(job->limits->max_side));
  png_read_info(png, job->info);
  png_uint_32 w = 0, h = 0;
  int depth = 0, colour = 0;
  png_get_IHDR(png, job->info, &w, &h, &depth, &colour, nullptr, nullptr, nullptr);
  job->problem = check_dims(w, h, *job->limits);
  if (!job->problem.empty()) {
    png_destroy_read_struct(&job->png, &job->info, nullptr);
    return false;
  }
  if (colour == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (colour == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (depth == 16) png_set_scale_16(png);
  (void)png_set_interlace_handling(png);
  png_read_update_info(png, job->info);
  Image& image = *job->image;
  image.width = int(w);
  image.height = int(h);
  image.channels = png_get_channels(png, job->info);
  const std::size_t stride = std::size_t(image.width) * std::size_t(image.channels);
  if (png_get_rowbytes(png, job->info) != stride || image.channels < 1 || image.channels > 4) {
    job->problem = "unexpected row layout after conversion to 8 bits";
    png_destroy_read_struct(&job->png, &job->info, nullptr);
    return false;
  }
  try {
    image.pixels.resize(stride * std::size_t(image.height));
    job->rows.resize(std::size_t(image.height));
  } catch (const std::bad_alloc&) {
    job->problem = "out of memory for " + dims_text(w, h) + " pixels";
    png_destroy_read_struct(&job->png, &job->info, nullptr);
    return false;
  }
  for (std::size_t y = 0; y < job->rows.size(); ++y)
    job->rows[y] = image.pixels.data() + y * stride;
  png_read_image(png, job->rows.data());
  png_destroy_read_struct(&job->png, &job->info, nullptr);
  return true;
}

/// `image` (1 to 4 channels; a 2nd or 4th is alpha, dropped) as `channels` (1 or 3) channels.
Image convert(Image image, int channels) {
  const int from = image.channels;
  const bool grey = from <= 2;
  if ((from == 1 && channels == 1) || (from == 3 && channels == 3)) return image;
  Image out;
  out.width = image.width;
  out.height = image.height;
  out.channels = channels;
  const std::size_t n = std::size_t(image.width) * std::size_t(image.height);
  out.pixels.resize(n * std::size_t(channels));
  const unsigned char* src = image.pixels.data();
  unsigned char* dst = out.pixels.data();
  for (std::size_t i = 0; i < n; ++i, src += from) {
    if (channels == 3) {
      for (int c = 0; c < 3; ++c) *dst++ = grey ? src[0] : src[c];
    } else if (grey) {
      *dst++ = src[0];
    } else {
      // PIL's convert("L"): L = R·299/1000 + G·587/1000 + B·114/1000, rounded.
      const float l = 0.299f * float(src[0]) + 0.587f * float(src[1]) + 0.114f * float(src[2]);
      *dst++ = static_cast<unsigned char>(std::min(255.0f, std::nearbyint(l)));
    }
  }
  return out;
}

// --- Resizing --------------------------------------------------------------------------------

/// The taps of one axis: output i reads `count[i]` source pixels from first[i] with weights
/// weights[i·max_taps …].
struct Taps {
  std::vector<int> first;
  std::vector<int> count;
  std::vector<float> weights;
  int max_taps = 0;
};

/// PIL's precompute_coeffs for the bilinear (triangle) filter, over the source pixels
/// [start, start + size) resized to `out`: the filter's support is scaled by the shrink factor
/// (antialiasing), each output's weights sum to 1.
Taps make_taps(int start, int size, int out) {
  const double scale = double(size) / double(out);
  const double filter_scale = std::max(scale, 1.0);
  const double support = filter_scale;  // the triangle's support is 1
  Taps t;
  t.max_taps = int(std::ceil(support)) * 2 + 1;
  t.first.resize(std::size_t(out));
  t.count.resize(std::size_t(out));
  t.weights.assign(std::size_t(out) * std::size_t(t.max_taps), 0.0f);
  for (int i = 0; i < out; ++i) {
    const double centre = (i + 0.5) * scale;
    const int lo = std::max(int(std::floor(centre - support + 0.5)), 0);
    const int hi = std::min(int(std::floor(centre + support + 0.5)), size);
    const int n = std::clamp(hi - lo, 0, t.max_taps);
    float* w = t.weights.data() + std::size_t(i) * std::size_t(t.max_taps);
    double sum = 0;
    for (int k = 0; k < n; ++k) {
      const double x = std::abs((lo + k - centre + 0.5) / filter_scale);
      w[k] = float(x < 1.0 ? 1.0 - x : 0.0);
      sum += x < 1.0 ? 1.0 - x : 0.0;
    }
    for (int k = 0; k < n; ++k) w[k] = sum > 0 ? float(w[k] / sum) : 0.0f;
    t.first[std::size_t(i)] = start + lo;
    t.count[std::size_t(i)] = n;
  }
  return t;
}

}  // namespace

ImageFormat sniff_image_format(std::span<const unsigned char> b) noexcept {
  static constexpr unsigned char png_signature[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return ImageFormat::jpeg;
  if (b.size() >= 8 && std::equal(std::begin(png_signature), std::end(png_signature), b.begin())) {
    return ImageFormat::png;
  }
  return ImageFormat::unknown;
}

Image decode_image(std::span<const unsigned char> bytes, const std::string& origin, int channels,
                   const ImageLimits& limits) {
  if (channels != 1 && channels != 3) {
    throw std::invalid_argument("decode_image: channels must be 1 or 3, not " +
                                std::to_string(channels));
  }
  if (bytes.empty()) throw DataError(origin + ": an empty file (0 bytes)");
  Image image;
  switch (sniff_image_format(bytes)) {
    case ImageFormat::jpeg: {
      auto job = std::make_unique<JpegJob>();
      job->data = bytes.data();
      job->size = static_cast<unsigned long>(bytes.size());
      job->limits = &limits;
      job->image = &image;
      if (!run_jpeg(job.get())) {
        throw DataError(origin + ": not a readable JPEG: " +
                        (job->problem.empty() ? std::string(job->errors.message) : job->problem));
      }
      break;
    }
    case ImageFormat::png: {
      auto job = std::make_unique<PngJob>();
      job->data = bytes.data();
      job->size = bytes.size();
      job->limits = &limits;
      job->image = &image;
      if (!run_png(job.get())) {
        throw DataError(origin + ": not a readable PNG: " +
                        (job->problem.empty() ? std::string(job->message) : job->problem));
      }
      break;
    }
    case ImageFormat::unknown: {
      std::string start;
      for (std::size_t i = 0; i < std::min<std::size_t>(bytes.size(), 4); ++i) {
        char hex[4];
        std::snprintf(hex, sizeof hex, "%02X", bytes[i]);
        start += (i ? " " : "") + std::string(hex);
      }
      throw DataError(origin + ": neither a JPEG nor a PNG file (it starts with " + start + ")");
    }
  }
  return convert(std::move(image), channels);
}

Image read_image(const std::filesystem::path& path, int channels, const ImageLimits& limits) {
  const std::string origin = path.string();
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw DataError(origin + ": a directory, not an image file");
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) throw DataError(origin + ": cannot read: " + ec.message());
  if (size > limits.max_file_bytes) {
    throw DataError(origin + ": " + std::to_string(size) + " bytes, over the limit of " +
                    std::to_string(limits.max_file_bytes) + " bytes for an image file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(origin + ": cannot open: " + std::strerror(errno));
  std::vector<unsigned char> bytes(static_cast<std::size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(bytes.size()));
  if (std::size_t(in.gcount()) != bytes.size()) {
    throw DataError(origin + ": read " + std::to_string(in.gcount()) + " of its " +
                    std::to_string(size) + " bytes");
  }
  return decode_image(bytes, origin, channels, limits);
}

namespace {
/// Uniform in [a, b): 53 random bits.
double uniform(SplitMix64& rng, double a, double b) {
  return a + (b - a) * double(rng() >> 11) * 0x1.0p-53;
}
/// Python's round(): half to even (the default rounding mode).
int round_even(double x) { return int(std::nearbyint(x)); }
}  // namespace

CropBox random_resized_crop(int width, int height, SplitMix64& rng, double min_scale,
                            double max_scale, double min_ratio, double max_ratio) {
  const double area = double(width) * double(height);
  const double log_min = std::log(min_ratio);
  const double log_max = std::log(max_ratio);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target = area * uniform(rng, min_scale, max_scale);
    const double ratio = std::exp(uniform(rng, log_min, log_max));
    const int w = round_even(std::sqrt(target * ratio));
    const int h = round_even(std::sqrt(target / ratio));
    if (0 < w && w <= width && 0 < h && h <= height) {
      const int y = int(rng.below(std::uint64_t(height - h + 1)));
      const int x = int(rng.below(std::uint64_t(width - w + 1)));
      return {x, y, w, h};
    }
  }
  // The fallback: a centre crop of the whole image at the nearest allowed aspect ratio.
  const double in_ratio = double(width) / double(height);
  int w = width, h = height;
  if (in_ratio < min_ratio) {
    h = std::clamp(round_even(w / min_ratio), 1, height);
  } else if (in_ratio > max_ratio) {
    w = std::clamp(round_even(h * max_ratio), 1, width);
  }
  return {(width - w) / 2, (height - h) / 2, w, h};
}

Normalization Normalization::imagenet(int channels) {
  if (channels == 1) return {{0.449f}, {0.226f}};
  return {{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};
}

void resize_into(const Image& image, CropBox box, int out_h, int out_w, bool flip,
                 const Normalization& normalization, float* out) {
  if (box.width <= 0 || box.height <= 0 || box.x < 0 || box.y < 0 ||
      box.x + box.width > image.width || box.y + box.height > image.height || out_h <= 0 ||
      out_w <= 0) {
    throw std::invalid_argument("resize_into: the box " + dims_text(box.width, box.height) + "+" +
                                std::to_string(box.x) + "+" + std::to_string(box.y) +
                                " is not inside the " + dims_text(image.width, image.height) +
                                " image");
  }
  const int ch = image.channels;
  const Taps tx = make_taps(box.x, box.width, out_w);
  const Taps ty = make_taps(box.y, box.height, out_h);
  // Horizontal pass over the box's rows: rows[y][x][c], y relative to box.y.
  std::vector<float> rows(std::size_t(box.height) * std::size_t(out_w) * std::size_t(ch));
  for (int y = 0; y < box.height; ++y) {
    const unsigned char* src =
        image.pixels.data() + std::size_t(box.y + y) * std::size_t(image.width) * std::size_t(ch);
    float* dst = rows.data() + std::size_t(y) * std::size_t(out_w) * std::size_t(ch);
    for (int x = 0; x < out_w; ++x) {
      const float* w = tx.weights.data() + std::size_t(x) * std::size_t(tx.max_taps);
      const unsigned char* p = src + std::size_t(tx.first[std::size_t(x)]) * std::size_t(ch);
      for (int c = 0; c < ch; ++c) {
        float sum = 0;
        for (int k = 0; k < tx.count[std::size_t(x)]; ++k)
          sum += w[k] * float(p[std::size_t(k * ch + c)]);
        dst[std::size_t(x * ch + c)] = sum;
      }
    }
  }
  // Vertical pass (row by row, so the reads are contiguous), normalization, planar output.
  const std::size_t plane = std::size_t(out_h) * std::size_t(out_w);
  const std::size_t row_floats = std::size_t(out_w) * std::size_t(ch);
  std::vector<float> sum(row_floats);
  for (int y = 0; y < out_h; ++y) {
    const float* w = ty.weights.data() + std::size_t(y) * std::size_t(ty.max_taps);
    const int first = ty.first[std::size_t(y)] - box.y;
    std::fill(sum.begin(), sum.end(), 0.0f);
    for (int k = 0; k < ty.count[std::size_t(y)]; ++k) {
      const float* src = rows.data() + std::size_t(first + k) * row_floats;
      for (std::size_t i = 0; i < row_floats; ++i) sum[i] += w[k] * src[i];
    }
    for (int c = 0; c < ch; ++c) {
      const float mean = normalization.mean.empty() ? 0.0f : normalization.mean[std::size_t(c)];
      const float inv =
          normalization.stddev.empty() ? 1.0f : 1.0f / normalization.stddev[std::size_t(c)];
      float* dst = out + std::size_t(c) * plane + std::size_t(y) * std::size_t(out_w);
      for (int x = 0; x < out_w; ++x) {
        dst[flip ? out_w - 1 - x : x] = (sum[std::size_t(x * ch + c)] / 255.0f - mean) * inv;
      }
    }
  }
}

void write_png(const std::filesystem::path& path, const Image& image) {
  if ((image.channels != 1 && image.channels != 3) || image.width <= 0 || image.height <= 0 ||
      image.pixels.size() !=
          std::size_t(image.width) * std::size_t(image.height) * std::size_t(image.channels)) {
    throw DataError(path.string() + ": cannot write a PNG of " + std::to_string(image.width) + "x" +
                    std::to_string(image.height) + "x" + std::to_string(image.channels) + " from " +
                    std::to_string(image.pixels.size()) + " samples");
  }
  // libpng's simplified API (1.6): one call, errors reported in `message`.
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  png.width = png_uint_32(image.width);
  png.height = png_uint_32(image.height);
  png.format = image.channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
  std::filesystem::path temporary = path;
  temporary += ".tmp";
  const int ok =
      png_image_write_to_file(&png, temporary.c_str(), 0, image.pixels.data(), 0, nullptr);
  const std::string message = png.message;
  png_image_free(&png);
  std::error_code error;
  if (ok != 0) std::filesystem::rename(temporary, path, error);
  if (ok == 0 || error) {
    std::filesystem::remove(temporary, error);
    throw DataError(path.string() + ": cannot write the PNG file" +
                    (message.empty() ? "" : " (" + message + ")"));
  }
}

}  // namespace archetype::runtime

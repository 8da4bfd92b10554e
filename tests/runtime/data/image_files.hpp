// Writes real JPEG (libjpeg-turbo) and PNG (libpng) files in memory for the tests and the
// fuzz seeds. Pixels are interleaved rows; PNG samples of 16 bits are big-endian, as the file
// stores them. Any library error returns an empty vector (the callers check).
#pragma once

#include <cstdio>
// jpeglib.h needs size_t and FILE declared first.
#include <jpeglib.h>
#include <png.h>

#include <csetjmp>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

namespace archetype::test {

using Bytes = std::vector<unsigned char>;

namespace detail {
struct JpegErrors {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
};
[[noreturn]] inline void jpeg_fail(j_common_ptr cinfo) {
  std::longjmp(reinterpret_cast<JpegErrors*>(cinfo->err)->jump, 1);
}
struct JpegJob {
  jpeg_compress_struct cinfo;
  JpegErrors errors;
  unsigned char* out = nullptr;
  unsigned long size = 0;
};
inline bool run_jpeg(JpegJob* job, int w, int h, int channels, const unsigned char* pixels,
                     int quality, bool progressive) {
  job->cinfo.err = jpeg_std_error(&job->errors.mgr);
  job->errors.mgr.error_exit = jpeg_fail;
  if (setjmp(job->errors.jump)) {
    jpeg_destroy_compress(&job->cinfo);
    return false;
  }
  jpeg_create_compress(&job->cinfo);
  jpeg_mem_dest(&job->cinfo, &job->out, &job->size);
  job->cinfo.image_width = JDIMENSION(w);
  job->cinfo.image_height = JDIMENSION(h);
  job->cinfo.input_components = channels;
  job->cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&job->cinfo);
  jpeg_set_quality(&job->cinfo, quality, TRUE);
  if (progressive) jpeg_simple_progression(&job->cinfo);
  jpeg_start_compress(&job->cinfo, TRUE);
  while (job->cinfo.next_scanline < job->cinfo.image_height) {
    JSAMPROW row = const_cast<unsigned char*>(pixels) +
                   std::size_t(job->cinfo.next_scanline) * std::size_t(w * channels);
    jpeg_write_scanlines(&job->cinfo, &row, 1);
  }
  jpeg_finish_compress(&job->cinfo);
  jpeg_destroy_compress(&job->cinfo);
  return true;
}

struct PngJob {
  png_structp png = nullptr;
  png_infop info = nullptr;
  Bytes out;
  std::vector<png_bytep> rows;
};
inline void png_write_bytes(png_structp png, png_bytep data, png_size_t n) {
  auto* job = static_cast<PngJob*>(png_get_io_ptr(png));
  job->out.insert(job->out.end(), data, data + n);
}
inline void png_flush_nothing(png_structp) {}
inline bool run_png(PngJob* job, int w, int h, int colour_type, int depth,
                    const unsigned char* samples, const std::vector<png_color>* palette,
                    bool interlaced) {
  job->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  if (job->png == nullptr) return false;
  job->info = png_create_info_struct(job->png);
  if (job->info == nullptr || setjmp(png_jmpbuf(job->png))) {
    png_destroy_write_struct(&job->png, &job->info);
    return false;
  }
  png_set_write_fn(job->png, job, png_write_bytes, png_flush_nothing);
  png_set_IHDR(job->png, job->info, png_uint_32(w), png_uint_32(h), depth, colour_type,
               interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (palette != nullptr) png_set_PLTE(job->png, job->info, palette->data(), int(palette->size()));
  png_write_info(job->png, job->info);
  const int channels = colour_type == PNG_COLOR_TYPE_GRAY || colour_type == PNG_COLOR_TYPE_PALETTE
                           ? 1
                       : colour_type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
                       : colour_type == PNG_COLOR_TYPE_RGB        ? 3
                                                                  : 4;
  const std::size_t stride =
      std::size_t(w) * std::size_t(channels) * std::size_t(depth == 16 ? 2 : 1);
  for (int y = 0; y < h; ++y)
    job->rows.push_back(const_cast<unsigned char*>(samples) + std::size_t(y) * stride);
  png_write_image(job->png, job->rows.data());
  png_write_end(job->png, nullptr);
  png_destroy_write_struct(&job->png, &job->info);
  return true;
}
}  // namespace detail

/// A baseline (or progressive) JPEG of w × h pixels, 1 (grey) or 3 (RGB) channels.
inline Bytes jpeg_bytes(int w, int h, int channels, const Bytes& pixels, int quality = 95,
                        bool progressive = false) {
  detail::JpegJob job;
  if (!detail::run_jpeg(&job, w, h, channels, pixels.data(), quality, progressive)) {
    std::free(job.out);
    return {};
  }
  Bytes out(job.out, job.out + job.size);
  std::free(job.out);
  return out;
}

/// A PNG of w × h pixels: colour_type PNG_COLOR_TYPE_GRAY, _GRAY_ALPHA, _RGB, _RGB_ALPHA (8 or 16
/// bits) or _PALETTE (8 bits, with `palette`).
inline Bytes png_bytes(int w, int h, int colour_type, int depth, const Bytes& samples,
                       const std::vector<png_color>* palette = nullptr, bool interlaced = false) {
  detail::PngJob job;
  if (!detail::run_png(&job, w, h, colour_type, depth, samples.data(), palette, interlaced))
    return {};
  return job.out;
}

inline void write_file(const std::filesystem::path& path, const Bytes& bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

/// w × h pixels of `channels` samples, each pixel `value` (one per channel).
inline Bytes solid(int w, int h, const std::vector<unsigned char>& value) {
  Bytes out;
  for (int i = 0; i < w * h; ++i) out.insert(out.end(), value.begin(), value.end());
  return out;
}

}  // namespace archetype::test

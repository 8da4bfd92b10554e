// The image folder: the scan of DIR/train and DIR/val and the source that decodes a sample.
#include <archetype/runtime/image_folder.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace archetype::runtime {
namespace {

namespace fs = std::filesystem;

/// Decodes sample i of one split: the file, then the training or evaluation transform.
class FolderSource final : public SampleSource {
 public:
  FolderSource(std::vector<fs::path> files, const ImageFolderOptions& options,
               std::shared_ptr<std::atomic<std::size_t>> skipped)
      : files_(std::move(files)),
        options_(options),
        bad_(std::make_unique<std::atomic<bool>[]>(files_.size())),
        skipped_(std::move(skipped)) {}

  bool load(std::size_t i, bool resized_crop, bool flip, std::uint64_t seed,
            float* out) const override {
    if (bad_[i].load(std::memory_order_relaxed)) return false;
    Image image;
    try {
      image = read_image(files_[i], options_.dims.c, options_.limits);
    } catch (const DataError& e) {
      if (options_.strict) throw;
      if (!bad_[i].exchange(true)) {
        ++*skipped_;
        if (options_.log != nullptr) std::fprintf(options_.log, "skipped %s\n", e.what());
      }
      return false;
    }
    SplitMix64 rng(seed);
    const CropBox box = resized_crop ? random_resized_crop(image.width, image.height, rng)
                                     : CropBox{0, 0, image.width, image.height};
    const bool mirror = flip && (rng() >> 63) != 0;
    resize_into(image, box, options_.dims.h, options_.dims.w, mirror, options_.normalization, out);
    return true;
  }

  int threads() const noexcept override { return options_.threads; }

 private:
  std::vector<fs::path> files_;
  ImageFolderOptions options_;
  std::unique_ptr<std::atomic<bool>[]> bad_;  // found unreadable: skipped at once next time
  std::shared_ptr<std::atomic<std::size_t>> skipped_;
};

bool hidden(const fs::path& p) { return p.filename().string().starts_with('.'); }

bool image_extension(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return e == ".jpg" || e == ".jpeg" || e == ".png";
}

/// The class folders of a split, sorted by name.
std::vector<std::string> class_folders(const fs::path& split) {
  std::error_code ec;
  std::vector<std::string> names;
  fs::directory_iterator it(split, ec);
  if (ec) throw DataError(split.string() + ": cannot list: " + ec.message());
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) throw DataError(split.string() + ": cannot list: " + ec.message());
    if (!hidden(it->path()) && it->is_directory(ec))
      names.push_back(it->path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

/// Regular files with an image extension under `dir` (recursively, directory links not
/// followed), sorted by path; `ignored` counts the other files.
std::vector<fs::path> image_files(const fs::path& dir, std::size_t& ignored) {
  std::vector<fs::path> files;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  if (ec) throw DataError(dir.string() + ": cannot list: " + ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) throw DataError(dir.string() + ": cannot list: " + ec.message());
    if (hidden(it->path())) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    if (image_extension(it->path())) {
      files.push_back(it->path());
    } else {
      ++ignored;
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

/// "" when the file may be an image (not empty, JPEG or PNG by its first bytes), else why not.
std::string quick_check(const fs::path& file) {
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(file, ec);
  if (ec) return file.string() + ": cannot read: " + ec.message();
  if (size == 0) return file.string() + ": an empty file (0 bytes)";
  unsigned char head[8] = {};
  std::ifstream in(file, std::ios::binary);
  in.read(reinterpret_cast<char*>(head), sizeof head);
  if (!in && in.gcount() == 0) return file.string() + ": cannot open";
  const std::span<const unsigned char> got(head, std::size_t(in.gcount()));
  if (sniff_image_format(got) == ImageFormat::unknown) {
    char start[16];
    std::snprintf(start, sizeof start, "%02X %02X %02X %02X", head[0], head[1], head[2], head[3]);
    return file.string() + ": neither a JPEG nor a PNG file (it starts with " + start + ")";
  }
  return {};
}

struct Listed {
  std::vector<fs::path> files;
  std::vector<int> labels;
  std::vector<std::size_t> per_class;  // readable files found per class
};

/// Lists the split's files of each class in `classes` that it has, checked quickly.
Listed list_split(const fs::path& split, const std::vector<std::string>& present,
                  const std::map<std::string, int>& label_of, const ImageFolderOptions& options,
                  std::atomic<std::size_t>& skipped, std::size_t& ignored) {
  Listed out;
  out.per_class.assign(label_of.size(), 0);
  for (const std::string& name : present) {
    const int label = label_of.at(name);
    for (fs::path& file : image_files(split / name, ignored)) {
      if (const std::string problem = quick_check(file); !problem.empty()) {
        if (options.strict) throw DataError(problem);
        ++skipped;
        if (options.log != nullptr) std::fprintf(options.log, "skipped %s\n", problem.c_str());
        continue;
      }
      out.files.push_back(std::move(file));
      out.labels.push_back(label);
      ++out.per_class[std::size_t(label)];
    }
  }
  return out;
}

Dataset make_split(const fs::path& split, Listed listed, const std::vector<std::string>& classes,
                   const ImageFolderOptions& options,
                   std::shared_ptr<std::atomic<std::size_t>> skipped) {
  Dataset d;
  d.name = split.string();
  d.dims = options.dims;
  d.classes = int(classes.size());
  d.labels = std::move(listed.labels);
  d.mean = options.normalization.mean;
  d.stddev = options.normalization.stddev;
  d.source = std::make_shared<FolderSource>(std::move(listed.files), options, std::move(skipped));
  return d;
}

}  // namespace

ImageFolder load_image_folder(const fs::path& root, const ImageFolderOptions& given) {
  ImageFolderOptions options = given;
  if (options.dims.c != 1 && options.dims.c != 3) {
    throw std::invalid_argument("an image folder feeds models of 1 or 3 input channels, not " +
                                std::to_string(options.dims.c));
  }
  if (options.dims.h <= 0 || options.dims.w <= 0)
    throw std::invalid_argument("image folder: empty input size");
  if (options.normalization.mean.empty())
    options.normalization = Normalization::imagenet(options.dims.c);
  const auto channels = std::size_t(options.dims.c);
  if (options.normalization.mean.size() != channels ||
      options.normalization.stddev.size() != channels) {
    throw std::invalid_argument("image folder: the normalization needs " +
                                std::to_string(channels) +
                                " means and deviations (one per input channel)");
  }
  for (float s : options.normalization.stddev) {
    if (!(s > 0.0f) || !std::isfinite(s))
      throw std::invalid_argument("image folder: a deviation must be positive");
  }
  if (options.threads <= 0)
    options.threads = int(std::max(1u, std::thread::hardware_concurrency()));

  const std::string layout = " (an image folder holds train/CLASS/* and val/CLASS/*)";
  std::error_code ec;
  if (!fs::is_directory(root, ec)) throw DataError(root.string() + ": not a directory" + layout);
  const fs::path train_dir = root / "train";
  const fs::path val_dir = root / "val";
  for (const fs::path& dir : {train_dir, val_dir}) {
    if (!fs::is_directory(dir, ec)) throw DataError(dir.string() + ": missing" + layout);
  }

  ImageFolder folder;
  folder.root = root;
  folder.skipped_ = std::make_shared<std::atomic<std::size_t>>(0);
  folder.classes = class_folders(train_dir);
  if (folder.classes.empty()) throw DataError(train_dir.string() + ": no class folders" + layout);
  std::map<std::string, int> label_of;
  for (std::size_t i = 0; i < folder.classes.size(); ++i) label_of[folder.classes[i]] = int(i);
  const std::vector<std::string> val_classes = class_folders(val_dir);
  for (const std::string& name : val_classes) {
    if (!label_of.contains(name)) {
      throw DataError((val_dir / name).string() + ": a class that " + train_dir.string() +
                      " does not have (the classes are train's folders)");
    }
  }

  Listed train =
      list_split(train_dir, folder.classes, label_of, options, *folder.skipped_, folder.ignored);
  for (std::size_t c = 0; c < folder.classes.size(); ++c) {
    if (train.per_class[c] == 0) {
      throw DataError((train_dir / folder.classes[c]).string() +
                      ": no readable .jpg, .jpeg or .png file");
    }
  }
  Listed val =
      list_split(val_dir, val_classes, label_of, options, *folder.skipped_, folder.ignored);
  if (val.files.empty())
    throw DataError(val_dir.string() + ": no readable .jpg, .jpeg or .png file" + layout);

  folder.train = make_split(train_dir, std::move(train), folder.classes, options, folder.skipped_);
  folder.val = make_split(val_dir, std::move(val), folder.classes, options, folder.skipped_);
  return folder;
}

}  // namespace archetype::runtime

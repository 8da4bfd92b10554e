#pragma once
/// \file
/// \brief What a study's report is made of: Markdown text with tables, plots drawn by
/// gnuplot (PNG, `pngcairo`), and the facts every report states (the exact command, the
/// machine, the source commit).

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace archetype::experiments {

/// A Markdown document built in order and written atomically.
class Markdown {
 public:
  void heading(int level, std::string_view text);
  void paragraph(std::string_view text);
  /// A table; `right` marks the columns aligned right (numbers), by index.
  void table(const std::vector<std::string>& header,
             const std::vector<std::vector<std::string>>& rows,
             const std::vector<bool>& right = {});
  void code(std::string_view text, std::string_view language = "");
  /// An image, `path` relative to the document.
  void image(std::string_view alt, std::string_view path);
  /// An image not drawn yet (no gnuplot here): a marker, then `note` in italics.
  /// `draw_pending_plots` draws it later and puts the image in their place.
  void pending_image(std::string_view alt, std::string_view path, std::string_view note);
  [[nodiscard]] const std::string& text() const { return text_; }
  /// Writes the document to `path` (temp file + rename). Throws std::runtime_error.
  void write(const std::filesystem::path& path) const;

 private:
  std::string text_;
};

/// One series of a plot: points (x, y), optionally a text label per point.
struct Series {
  std::string title;
  std::vector<double> x, y;
  std::vector<std::string> labels;  ///< empty, or one per point (drawn next to it)
  bool y2 = false;                  ///< against the right-hand axis
  std::string style =
      "linespoints";  ///< gnuplot's `with` (lines, points, linespoints, boxes, impulses)
  std::string label_offset = "0.6,0.3";  ///< where the labels go, in characters from the point
};

/// A plot of series against numeric axes, or a clustered bar chart when `categories` is
/// set (then each series has one y per category and no x).
struct Plot {
  // Every member has a default, so `Plot{.title = ..., .x_label = ..., .y_label = ...}` names
  // only what differs.
  std::string title{}, x_label{}, y_label{}, y2_label{};
  bool log_x = false, log_y = false;
  std::vector<Series> series{};
  std::vector<std::string> categories{};
  int width = 900, height = 520;
};

/// Whether `gnuplot` runs (it is looked up on PATH once).
[[nodiscard]] bool gnuplot_available();

/// Draws `plot` into `png` (PNG, gnuplot's pngcairo terminal), leaving the data
/// (`STEM.dat`) and the script (`STEM.gp`) next to it so the figure can be redrawn.
/// Throws std::runtime_error when gnuplot fails or writes no valid PNG.
void draw(const Plot& plot, const std::filesystem::path& png);

/// The first half of `draw`: writes `STEM.dat` and `STEM.gp` next to `png`, draws nothing.
void write_plot(const Plot& plot, const std::filesystem::path& png);

/// The second half of `draw`: runs `STEM.gp` (from `write_plot`) to draw `png`.
/// Throws std::runtime_error when the script is missing, gnuplot fails or the PNG is not valid.
void render_plot(const std::filesystem::path& png);

/// Draws every plot the Markdown report at `report` left pending (`Markdown::pending_image`,
/// e.g. a run on a machine without gnuplot) from its `.gp` script, and rewrites the report
/// with the images in their place (atomically, once all are drawn). Returns the drawn
/// paths as the report names them (relative to its folder); none when nothing is pending.
/// Throws std::runtime_error (naming the file) when the report cannot be read, gnuplot is
/// not installed, or a plot cannot be drawn; the report is then left as it was.
std::vector<std::string> draw_pending_plots(const std::filesystem::path& report);

/// Whether `path` is a PNG file: the 8-byte signature, an IHDR chunk with a non-zero size
/// first and an IEND chunk last.
[[nodiscard]] bool is_valid_png(const std::filesystem::path& path);

/// "CPU model, N cores (this run: T threads), M GiB, OS, compiler, oneDNN version".
[[nodiscard]] std::string machine_description(int threads);

/// The source tree's commit (`git rev-parse HEAD`, "+ uncommitted changes" when the tree
/// is dirty), or "unknown" when git or the tree is not at hand.
[[nodiscard]] std::string source_commit();

/// `argv` as one shell command line (arguments quoted where the shell would need it).
[[nodiscard]] std::string command_line(int argc, const char* const* argv);

/// Number formatting for tables: "11,173,962"; "555.4"; "91.23%".
[[nodiscard]] std::string grouped(long long value);
[[nodiscard]] std::string fixed(double value, int decimals);
[[nodiscard]] std::string percent(double fraction, int decimals = 2);

}  // namespace archetype::experiments

#include <archetype/experiments/report.hpp>

#include <oneapi/dnnl/dnnl.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace archetype::experiments {
namespace {

std::string escape_cell(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n')
      out += ' ';
    else
      out += c;
  }
  return out;
}

/// A gnuplot single-quoted string: no escapes but '' for '.
std::string gnuplot_string(std::string_view s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

/// Runs `args` (args[0] looked up on PATH) in `directory` (empty: this process's), with
/// stdout and stderr to `log`; returns its exit status, or -1 when it could not be started.
int spawn(const std::vector<std::string>& args, const std::string& log,
          const std::string& directory = {}) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!directory.empty()) posix_spawn_file_actions_addchdir_np(&actions, directory.c_str());
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// The first line of `command`'s standard output (through the shell), trimmed.
std::string first_line(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) return {};
  std::array<char, 256> buffer{};
  std::string line;
  if (std::fgets(buffer.data(), int(buffer.size()), pipe.get()) != nullptr) line = buffer.data();
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r' || line.back() == ' '))
    line.pop_back();
  return line;
}

std::string shell_quoted(std::string_view s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

void Markdown::heading(int level, std::string_view text) {
  if (!text_.empty()) text_ += "\n";
  text_ += std::string(std::size_t(level), '#') + " " + std::string(text) + "\n";
}

void Markdown::paragraph(std::string_view text) { text_ += "\n" + std::string(text) + "\n"; }

void Markdown::table(const std::vector<std::string>& header,
                     const std::vector<std::vector<std::string>>& rows,
                     const std::vector<bool>& right) {
  text_ += "\n|";
  for (const std::string& h : header) text_ += " " + escape_cell(h) + " |";
  text_ += "\n|";
  for (std::size_t i = 0; i < header.size(); ++i)
    text_ += i < right.size() && right[i] ? "---:|" : "---|";
  text_ += "\n";
  for (const auto& row : rows) {
    text_ += "|";
    for (std::size_t i = 0; i < header.size(); ++i)
      text_ += " " + escape_cell(i < row.size() ? row[i] : "") + " |";
    text_ += "\n";
  }
}

void Markdown::code(std::string_view text, std::string_view language) {
  text_ += "\n```" + std::string(language) + "\n" + std::string(text) + "\n```\n";
}

void Markdown::image(std::string_view alt, std::string_view path) {
  text_ += "\n![" + std::string(alt) + "](" + std::string(path) + ")\n";
}

namespace {
constexpr std::string_view pending_marker = "<!-- archetype:undrawn ";
}

void Markdown::pending_image(std::string_view alt, std::string_view path, std::string_view note) {
  // One line: the marker (the path has no spaces: the studies name their files), then the note.
  std::string a(alt);
  for (std::size_t at; (at = a.find("--")) != std::string::npos;) a.replace(at, 2, "-");
  text_ += "\n" + std::string(pending_marker) + std::string(path) + " " + a + " -->\n*(" +
           std::string(note) + ")*\n";
}

void Markdown::write(const std::filesystem::path& path) const {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  std::filesystem::path temp = path;
  temp += ".tmp";
  {
    std::ofstream out(temp, std::ios::binary);
    out << text_;
    if (!out) throw std::runtime_error("cannot write " + temp.string());
  }
  std::filesystem::rename(temp, path);
}

bool gnuplot_available() {
  static const bool available = spawn({"gnuplot", "--version"}, "/dev/null") == 0;
  return available;
}

void draw(const Plot& plot, const std::filesystem::path& png) {
  write_plot(plot, png);
  render_plot(png);
}

void write_plot(const Plot& plot, const std::filesystem::path& png) {
  if (png.has_parent_path()) std::filesystem::create_directories(png.parent_path());
  std::filesystem::path data = png, script = png;
  data.replace_extension(".dat");
  script.replace_extension(".gp");
  const bool bars = !plot.categories.empty();
  {
    std::ofstream d(data);
    d.precision(10);
    if (bars) {
      // One row per category: the name, then each series' value.
      d << "# category";
      for (const Series& s : plot.series) d << "\t" << s.title;
      d << "\n";
      for (std::size_t c = 0; c < plot.categories.size(); ++c) {
        d << '"' << plot.categories[c] << '"';
        for (const Series& s : plot.series) d << "\t" << (c < s.y.size() ? s.y[c] : NAN);
        d << "\n";
      }
    } else {
      // One block per series (gnuplot's `index`), separated by two blank lines.
      for (std::size_t i = 0; i < plot.series.size(); ++i) {
        const Series& s = plot.series[i];
        d << "# " << s.title << "\n";
        for (std::size_t k = 0; k < s.x.size() && k < s.y.size(); ++k) {
          d << s.x[k] << "\t" << s.y[k];
          if (!s.labels.empty()) d << "\t\"" << (k < s.labels.size() ? s.labels[k] : "") << '"';
          d << "\n";
        }
        // An empty series would shift every later `index`: keep one blank point.
        if (s.x.empty()) d << "NaN\tNaN\n";
        d << "\n\n";
      }
    }
  }
  {
    std::ofstream g(script);
    g << "# " << plot.title << " (drawn by archetype's study report; `gnuplot "
      << script.filename().string() << "` redraws it)\n";
    g << "set terminal pngcairo noenhanced size " << plot.width << "," << plot.height
      << " font 'sans,10'\n";
    g << "set output " << gnuplot_string(png.filename().string()) << "\n";
    g << "set title " << gnuplot_string(plot.title) << "\n";
    g << "set xlabel " << gnuplot_string(plot.x_label) << "\nset ylabel "
      << gnuplot_string(plot.y_label) << "\n";
    if (!plot.y2_label.empty())
      g << "set y2label " << gnuplot_string(plot.y2_label) << "\nset y2tics\nset ytics nomirror\n";
    g << "set grid\nset key outside right top\nset datafile missing 'NaN'\n";
    if (plot.log_x) g << "set logscale x\n";
    if (plot.log_y) g << "set logscale y\n";
    // Point labels are drawn to the right of their points: room for the rightmost ones.
    const bool labelled =
        std::any_of(plot.series.begin(), plot.series.end(), [](const Series& s) { return !s.labels.empty(); });
    if (labelled && !bars) g << "set offsets graph 0, graph 0.15, graph 0.05, graph 0.05\n";
    const std::string file = gnuplot_string(data.filename().string());
    if (bars) {
      g << "set style data histograms\nset style histogram clustered gap 1\nset style fill solid "
           "0.8 border -1\n"
           "set boxwidth 0.9\nset xtics rotate by -30\nset yrange [0:*]\n";
    }
    g << "plot ";
    if (bars) {
      g << "\\\n  ";
      // Clustered bars: column 1 is the category, columns 2… the series.
      for (std::size_t i = 0; i < plot.series.size(); ++i) {
        if (i > 0) g << ", \\\n  ";
        g << (i == 0 ? file : "''") << " using " << i + 2 << (i == 0 ? ":xtic(1)" : "") << " title "
          << gnuplot_string(plot.series[i].title);
      }
      g << "\n";
    } else {
      for (std::size_t i = 0; i < plot.series.size(); ++i) {
        const Series& s = plot.series[i];
        if (i > 0) g << ", \\\n  ";
        g << file << " index " << i << " using 1:2 with " << s.style << (s.y2 ? " axes x1y2" : "")
          << " title " << gnuplot_string(s.title);
        if (!s.labels.empty()) {
          g << ", " << file << " index " << i << " using 1:2:3 with labels left offset "
            << s.label_offset << " notitle" << (s.y2 ? " axes x1y2" : "");
        }
      }
      g << "\n";
    }
    if (!g) throw std::runtime_error("cannot write " + script.string());
  }
}

void render_plot(const std::filesystem::path& png) {
  std::filesystem::path script = png, log = png;
  script.replace_extension(".gp");
  log.replace_extension(".log");
  if (!std::filesystem::is_regular_file(script)) {
    throw std::runtime_error("cannot draw " + png.string() + ": its script " + script.string() +
                             " is missing");
  }
  std::error_code ignored;
  std::filesystem::remove(png, ignored);
  // The script names its files relative to itself: gnuplot runs where they are.
  const std::filesystem::path directory = std::filesystem::absolute(png).parent_path();
  const int rc = spawn({"gnuplot", script.filename().string()},
                       std::filesystem::absolute(log).string(), directory.string());
  if (rc != 0 || !is_valid_png(png)) {
    throw std::runtime_error("gnuplot did not draw " + png.string() + ": " + read_text(log));
  }
  std::filesystem::remove(log, ignored);
}

bool is_valid_png(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  static constexpr unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (bytes.size() < 8 + 25 + 12) return false;
  for (int i = 0; i < 8; ++i) {
    if (static_cast<unsigned char>(bytes[std::size_t(i)]) != signature[i]) return false;
  }
  auto be32 = [&](std::size_t at) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[at + i]);
    return v;
  };
  if (bytes.compare(12, 4, "IHDR") != 0 || be32(16) == 0 || be32(20) == 0) return false;
  return bytes.compare(bytes.size() - 8, 4, "IEND") == 0;
}

std::vector<std::string> draw_pending_plots(const std::filesystem::path& report) {
  std::ifstream in(report, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read the report " + report.string());
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  const std::filesystem::path folder = report.parent_path();
  std::vector<std::string> drawn;
  std::string text;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (line.rfind(pending_marker, 0) != 0 || line.size() < pending_marker.size() + 4 ||
        line.compare(line.size() - 4, 4, " -->") != 0) {
      text += line + "\n";
      continue;
    }
    const std::string body =
        line.substr(pending_marker.size(), line.size() - pending_marker.size() - 4);
    const std::size_t space = body.find(' ');
    const std::string path = body.substr(0, space);
    const std::string alt = space == std::string::npos ? path : body.substr(space + 1);
    if (const std::filesystem::path p(path);
        p.empty() || p.is_absolute() || path.find("..") != std::string::npos ||
        p.extension() != ".png") {
      throw std::runtime_error(report.string() + ": '" + path +
                               "' is not a plot inside the report's folder");
    }
    if (drawn.empty() && !gnuplot_available()) {
      throw std::runtime_error(report.string() + " has plots to draw (the first: " + path +
                               "), but gnuplot is not installed: apt-get install gnuplot-nox");
    }
    render_plot(folder / path);
    drawn.push_back(path);
    text += "![" + alt + "](" + path + ")\n";
    // The note that said why it was not drawn goes with the marker.
    if (i + 1 < lines.size() && lines[i + 1].rfind("*(", 0) == 0) ++i;
  }
  if (drawn.empty()) return drawn;
  const std::filesystem::path temp = report.string() + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + temp.string());
  }
  std::filesystem::rename(temp, report);
  return drawn;
}

std::string machine_description(int threads) {
  std::string cpu;
  {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("model name", 0) == 0) {
        cpu = line.substr(line.find(':') + 2);
        break;
      }
    }
  }
  double gib = 0;
  {
    std::ifstream in("/proc/meminfo");
    std::string key;
    long long kib = 0;
    if (in >> key >> kib) gib = double(kib) / (1024.0 * 1024.0);
  }
  std::string os;
  {
    std::ifstream in("/etc/os-release");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("PRETTY_NAME=", 0) == 0) {
        os = line.substr(12);
        if (os.size() >= 2 && os.front() == '"') os = os.substr(1, os.size() - 2);
      }
    }
  }
  const dnnl_version_t* v = dnnl_version();
  std::ostringstream s;
  s << (cpu.empty() ? "unknown CPU" : cpu) << ", " << std::thread::hardware_concurrency()
    << " logical cores (this run: " << threads << (threads == 1 ? " thread), " : " threads), ")
    << fixed(gib, 1) << " GiB; " << (os.empty() ? "unknown OS" : os) << "; g++ " << __VERSION__
    << "; oneDNN " << v->major << "." << v->minor << "." << v->patch;
  return s.str();
}

std::string source_commit() {
#ifdef ARCHETYPE_SOURCE_DIR
  const std::string dir = shell_quoted(ARCHETYPE_SOURCE_DIR);
  const std::string head = first_line("git -C " + dir + " rev-parse HEAD 2>/dev/null");
  if (head.empty()) return "unknown";
  const std::string dirty =
      first_line("git -C " + dir + " status --porcelain --untracked-files=no 2>/dev/null");
  return dirty.empty() ? head : head + " + uncommitted changes";
#else
  return "unknown";
#endif
}

std::string command_line(int argc, const char* const* argv) {
  std::string out;
  for (int i = 0; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (i > 0) out += ' ';
    const bool plain = !a.empty() && a.find_first_not_of(
                                         "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789-_./:=,+@%") == std::string_view::npos;
    out += plain ? std::string(a) : shell_quoted(a);
  }
  return out;
}

std::string grouped(long long value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return value < 0 ? "-" + out : out;
}

std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string percent(double fraction, int decimals) {
  return fixed(100.0 * fraction, decimals) + "%";
}

}  // namespace archetype::experiments

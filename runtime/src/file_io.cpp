#include "file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

namespace archetype::runtime::detail {
namespace fs = std::filesystem;

namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string read_file(const fs::path& path, std::uint64_t max_bytes, const std::string& what,
                      std::vector<unsigned char>& out) {
  const std::string p = path.string();
  Fd f{::open(p.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) return p + ": cannot open: " + std::strerror(errno);
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) return p + ": cannot read: " + std::strerror(errno);
  if (S_ISDIR(st.st_mode)) return p + ": is a directory, expected a file";
  if (S_ISREG(st.st_mode) && std::uint64_t(st.st_size) > max_bytes) {
    return p + ": " + std::to_string(st.st_size) + " bytes, larger than " + what + " (" +
           std::to_string(max_bytes) + " bytes)";
  }
  out.clear();
  if (S_ISREG(st.st_mode)) out.reserve(std::size_t(st.st_size));
  unsigned char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(f.fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return p + ": cannot read: " + std::strerror(errno);
    if (n == 0) break;
    if (out.size() + std::size_t(n) > max_bytes) {  // a pipe or a file that grows as we read
      return p + ": larger than " + what + " (" + std::to_string(max_bytes) + " bytes)";
    }
    out.insert(out.end(), buffer, buffer + n);
  }
  return {};
}

std::string replace_file(const fs::path& path, std::span<const unsigned char> bytes) {
  std::error_code ec;
  if (path.has_parent_path()) {
    fs::create_directories(path.parent_path(), ec);
    if (ec) return path.parent_path().string() + ": cannot create the directory: " + ec.message();
  }
  const fs::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return tmp.string() + ": cannot create: " + std::strerror(errno);
  auto fail = [&](const std::string& why) {
    if (fd >= 0) ::close(fd);
    fs::remove(tmp, ec);
    return tmp.string() + ": " + why + " (" + path.string() + " is left as it was)";
  };
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    // write() returns 0 or fails with ENOSPC on a full disk, EFBIG past RLIMIT_FSIZE.
    if (n <= 0) {
      return fail("write failed after " + std::to_string(written) + " of " +
                  std::to_string(bytes.size()) +
                  " bytes: " + (n < 0 ? std::strerror(errno) : "no progress"));
    }
    written += std::size_t(n);
  }
  if (::fsync(fd) != 0) return fail(std::string("cannot flush to disk: ") + std::strerror(errno));
  const int closed = ::close(fd);
  if (closed != 0) {
    const std::string why = std::strerror(errno);
    fs::remove(tmp, ec);
    return tmp.string() + ": cannot close: " + why + " (" + path.string() + " is left as it was)";
  }
  // rename() is atomic on POSIX: a reader sees the old file or the new one.
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    fs::remove(tmp, ec);
    return path.string() + ": cannot replace it by " + tmp.string() + ": " + why;
  }
  // The rename is durable once the directory is flushed too (after a power loss, not only a
  // crash of the process). Best effort: the file itself is complete either way.
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

std::string printable(std::string_view text, std::size_t max_chars) {
  std::string out;
  for (const char ch : text.substr(0, max_chars)) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += ch;
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02X", unsigned{c});
      out += hex;
    }
  }
  if (text.size() > max_chars) out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

}  // namespace archetype::runtime::detail

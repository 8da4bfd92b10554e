// An LD_PRELOAD fault injector for the crash-safety test (crash_test.cpp). It counts the
// file events of the process under $ARCHETYPE_KILL_DIR — each write(), fsync() and rename()
// on a file there — and at event number $ARCHETYPE_KILL_AT (from 1) kills the process with
// SIGKILL. A write is cut first: half its bytes reach the file, then the process dies, as
// when a machine is stopped in the middle of a write. With ARCHETYPE_KILL_AT=0 it only
// counts, and writes the count to $ARCHETYPE_KILL_COUNT at exit.
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

std::atomic<long> events{0};

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

bool under_dir(const char* path) {
  const char* dir = env("ARCHETYPE_KILL_DIR");
  return dir != nullptr && path != nullptr && std::strncmp(path, dir, std::strlen(dir)) == 0;
}

bool fd_under_dir(int fd) {
  if (fd <= 2) return false;
  char link[64], target[4096];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t n = ::readlink(link, target, sizeof target - 1);
  if (n <= 0) return false;
  target[n] = '\0';
  return under_dir(target);
}

/// Counts one event; true when this is the one to die at.
bool is_fatal() {
  const long n = ++events;
  const char* at = env("ARCHETYPE_KILL_AT");
  return at != nullptr && std::atol(at) == n;
}

template <class F>
F next(const char* name) {
  return reinterpret_cast<F>(::dlsym(RTLD_NEXT, name));
}

__attribute__((destructor)) void report() {
  if (const char* out = env("ARCHETYPE_KILL_COUNT")) {
    if (FILE* f = std::fopen(out, "w")) {
      std::fprintf(f, "%ld\n", events.load());
      std::fclose(f);
    }
  }
}

}  // namespace

extern "C" {

ssize_t write(int fd, const void* buffer, size_t count) {
  static const auto real = next<ssize_t (*)(int, const void*, size_t)>("write");
  if (fd_under_dir(fd) && is_fatal()) {
    if (count > 1) (void)real(fd, buffer, count / 2);
    ::raise(SIGKILL);
  }
  return real(fd, buffer, count);
}

int fsync(int fd) {
  static const auto real = next<int (*)(int)>("fsync");
  if (fd_under_dir(fd) && is_fatal()) ::raise(SIGKILL);
  return real(fd);
}

int rename(const char* from, const char* to) {
  static const auto real = next<int (*)(const char*, const char*)>("rename");
  if (under_dir(to) && is_fatal()) ::raise(SIGKILL);
  return real(from, to);
}

}  // extern "C"

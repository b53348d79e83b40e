#include "atomic_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>

namespace blasnet {

namespace {

const std::string temporary_mark = ".blasnet-";
const std::string temporary_end = ".tmp";
constexpr std::size_t tag_digits = 16;

std::string errno_text() { return std::strerror(errno); }

std::string directory_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

bool process_runs(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

}  // namespace

std::string temporary_name(const std::string& target, pid_t pid, std::uint64_t tag) {
  static const char hex[] = "0123456789abcdef";
  std::string digits(tag_digits, '0');
  for (std::size_t i = 0; i < tag_digits; ++i) digits[tag_digits - 1 - i] = hex[(tag >> (4 * i)) & 0xf];
  return target + temporary_mark + std::to_string(pid) + "-" + digits + temporary_end;
}

std::optional<pid_t> temporary_writer(const std::string& name) {
  // Read from the end: "<anything>.blasnet-<pid>-<16 hex>.tmp".
  std::size_t at = name.size();
  if (at < temporary_end.size() || name.compare(at - temporary_end.size(), temporary_end.size(),
                                                temporary_end) != 0) {
    return std::nullopt;
  }
  at -= temporary_end.size();
  if (at < tag_digits + 1) return std::nullopt;
  for (std::size_t i = at - tag_digits; i < at; ++i) {
    const char c = name[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  at -= tag_digits;
  if (name[--at] != '-') return std::nullopt;
  const std::size_t pid_end = at;
  while (at > 0 && name[at - 1] >= '0' && name[at - 1] <= '9') --at;
  if (at == pid_end || pid_end - at > 10) return std::nullopt;
  const long long pid = std::stoll(name.substr(at, pid_end - at));
  if (pid <= 0 || pid > INT_MAX) return std::nullopt;
  if (at < temporary_mark.size() ||
      name.compare(at - temporary_mark.size(), temporary_mark.size(), temporary_mark) != 0) {
    return std::nullopt;
  }
  return static_cast<pid_t>(pid);
}

bool is_stale_temporary(std::int64_t seconds_since_written, bool writer_runs) {
  constexpr std::int64_t minute = 60, day = 24 * 60 * 60;
  return seconds_since_written > day || (seconds_since_written > minute && !writer_runs);
}

void remove_stale_temporaries(const std::string& folder) {
  DIR* dir = ::opendir(folder.c_str());
  if (dir == nullptr) return;  // opening the new file there reports why
  const int fd = ::dirfd(dir);
  const std::time_t now = std::time(nullptr);
  while (const dirent* entry = ::readdir(dir)) {
    const std::optional<pid_t> writer = temporary_writer(entry->d_name);
    if (!writer) continue;
    struct stat info {};
    if (::fstatat(fd, entry->d_name, &info, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(info.st_mode)) {
      continue;
    }
    if (is_stale_temporary(static_cast<std::int64_t>(now - info.st_mtime), process_runs(*writer))) {
      ::unlinkat(fd, entry->d_name, 0);
    }
  }
  ::closedir(dir);
}

AtomicFile::Method AtomicFile::default_method() {
  const char* value = std::getenv("BLASNET_NO_O_TMPFILE");
  return value != nullptr && std::strcmp(value, "1") == 0 ? Method::named : Method::unnamed_first;
}

AtomicFile::AtomicFile(const std::string& target, Method method)
    : target_(target), folder_(directory_of(target)) {
  remove_stale_temporaries(folder_);
#ifdef O_TMPFILE
  if (method == Method::unnamed_first) {
    // Fails with EOPNOTSUPP (or EISDIR on kernels before 3.11) where there is no O_TMPFILE,
    // and for any reason the named file below then reports.
    fd_ = ::open(folder_.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
    unnamed_ = fd_ >= 0;
  }
#else
  (void)method;
#endif
  std::random_device device;
  for (int attempt = 0; attempt < 16 && fd_ < 0; ++attempt) {
    path_ = temporary_name(target_, ::getpid(), (std::uint64_t(device()) << 32) ^ device());
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0 && errno != EEXIST) break;
  }
  if (fd_ < 0) {
    const std::string error = errno_text();
    path_.clear();
    fail("cannot create a temporary file next to it: " + error);
  }
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !path_.empty()) ::unlink(path_.c_str());
}

void AtomicFile::write(const void* data, std::size_t size) {
  const char* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t written = ::write(fd_, bytes, std::min<std::size_t>(size, 1 << 30));
    if (written < 0) {
      if (errno == EINTR) continue;
      fail("writing failed: " + errno_text());
    }
    bytes += written;
    size -= static_cast<std::size_t>(written);
  }
}

void AtomicFile::commit() {
  if (::fsync(fd_) != 0) fail("flushing to disk failed: " + errno_text());
  if (unnamed_) {
    // A name for the unnamed file: through /proc, which needs no privilege, else by the
    // descriptor itself (AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH).
    const std::string self = "/proc/self/fd/" + std::to_string(fd_);
    std::random_device device;
    int linked = -1;
    for (int attempt = 0; attempt < 16 && linked != 0; ++attempt) {
      path_ = temporary_name(target_, ::getpid(), (std::uint64_t(device()) << 32) ^ device());
      linked = ::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, path_.c_str(), AT_SYMLINK_FOLLOW);
#ifdef AT_EMPTY_PATH
      if (linked != 0 && errno == ENOENT) {
        linked = ::linkat(fd_, "", AT_FDCWD, path_.c_str(), AT_EMPTY_PATH);
      }
#endif
      if (linked != 0 && errno != EEXIST) break;
    }
    if (linked != 0) {
      const std::string error = errno_text();
      path_.clear();
      fail("cannot give the new file a name next to it: " + error);
    }
  }
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail("closing failed: " + errno_text());
  if (::rename(path_.c_str(), target_.c_str()) != 0) {
    fail("cannot replace it by the new file: " + errno_text());
  }
  committed_ = true;
  const int dir = ::open(folder_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) fail("saved, but its folder cannot be opened to flush it: " + errno_text());
  const int synced = ::fsync(dir);
  const int error = errno;
  ::close(dir);
  if (synced != 0 && error != EINVAL) {
    errno = error;
    fail("saved, but flushing its folder failed: " + errno_text());
  }
}

void AtomicFile::fail(const std::string& problem) { throw AtomicFileError(problem); }

}  // namespace blasnet

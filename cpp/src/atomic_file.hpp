#pragma once
// A file replaced all at once: readers see the old bytes or the new, never a part; nothing
// already there is lost on any failure; and a process killed while writing leaves nothing that
// the next save into the folder does not remove (20 kills during a save used to leave 2.8 GB).
//
// Where the filesystem has Linux's O_TMPFILE (ext4, xfs, btrfs, tmpfs), the bytes go into a
// file with no name in the target's folder, which the kernel frees if the process dies; once
// flushed, it is linked under a temporary name and renamed over the target. Elsewhere the file
// has that temporary name from the start. Either way a kill can leave a temporary file (in the
// first case only between the link and the rename), so each AtomicFile first removes the
// stale ones of its folder: see is_stale_temporary.
//
// The environment variable BLASNET_NO_O_TMPFILE=1 makes every save take the named path, as a
// filesystem without O_TMPFILE does: the tests use it to check that path.

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace blasnet {

// The problem alone ("writing failed: No space left on device"); the caller names the file.
class AtomicFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "<target>.blasnet-<pid>-<16 hex digits>.tmp": the only names the cleanup touches. The pid is
// the writer's, for is_stale_temporary to ask whether it still runs.
std::string temporary_name(const std::string& target, pid_t pid, std::uint64_t tag);
// The writer's pid if name (a file name, without its folder) is one temporary_name makes.
std::optional<pid_t> temporary_writer(const std::string& name);

// A temporary file is stale, and removed, when it was last written more than a minute ago by
// a process that no longer runs on this machine, or more than a day ago whatever its pid (a
// pid may be reused). A writer writes without pause and is done within seconds of its last
// write (flush, link, rename), so the minute spares a live save on another machine sharing the
// folder, whose pid means nothing here, unless it stalls that long: its rename then fails and
// it reports so, leaving its target as it was.
bool is_stale_temporary(std::int64_t seconds_since_written, bool writer_runs);

// Removes the stale temporary files of folder; best effort, as another process may be
// removing them too. Files of any other name are never touched.
void remove_stale_temporaries(const std::string& folder);

class AtomicFile {
 public:
  enum class Method {
    unnamed_first,  // O_TMPFILE if the filesystem has it, else a named temporary file
    named,          // a named temporary file from the start
  };
  // The method BLASNET_NO_O_TMPFILE selects: named if it is "1", else unnamed_first.
  static Method default_method();

  // Removes the folder's stale temporary files and opens the new file there. Throws
  // AtomicFileError.
  explicit AtomicFile(const std::string& target, Method method = default_method());
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  // Without commit, removes the new file; the target stays as it was.
  ~AtomicFile();

  // Whether the bytes are going into a file with no name.
  bool unnamed() const { return unnamed_; }

  void write(const void* data, std::size_t size);
  // Flushes the file to disk, renames it over the target and flushes the folder.
  void commit();

 private:
  [[noreturn]] static void fail(const std::string& problem);

  std::string target_, folder_, path_;  // path_: the temporary name, once it has one
  int fd_ = -1;
  bool unnamed_ = false;
  bool committed_ = false;
};

}  // namespace blasnet

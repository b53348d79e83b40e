// atomic_file.hpp: the target replaced whole or left as it was, by both methods (an unnamed
// O_TMPFILE file and a named temporary file); a writer killed mid-write leaves nothing, or
// nothing that the next AtomicFile in the folder does not remove once stale; and only
// stale files of the library's own pattern are ever removed.

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "atomic_file.hpp"
#include "temp_dir.hpp"

namespace {

using blasnet_test::files_in;
using blasnet_test::read_bytes;
using blasnet_test::TempDir;

using blasnet::AtomicFile;
using blasnet::AtomicFileError;
using Method = AtomicFile::Method;

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// Sets a file's modification time to seconds ago.
void age(const std::string& path, long seconds) {
  timespec times[2];
  times[0].tv_sec = times[1].tv_sec = std::time(nullptr) - seconds;
  times[0].tv_nsec = times[1].tv_nsec = 0;
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
}

// The pid of a process that has ended (and been reaped).
pid_t ended_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
}

TEST(AtomicFileNames, TemporaryNamesCarryTheWritersPid) {
  const std::string name = blasnet::temporary_name("m.safetensors", 4321, 0xabcdef0123456789);
  EXPECT_EQ(name, "m.safetensors.blasnet-4321-abcdef0123456789.tmp");
  EXPECT_EQ(blasnet::temporary_writer(name), 4321);
  EXPECT_EQ(blasnet::temporary_writer(blasnet::temporary_name("", 7, 1)), 7);
  EXPECT_EQ(blasnet::temporary_writer(blasnet::temporary_name("a.b.blasnet-3-x", 2147483647, 0)),
            2147483647);
}

TEST(AtomicFileNames, OtherNamesAreNotOurs) {
  for (const char* name : {
           "m.safetensors", "m.safetensors.tmp-0123456789abcdef",      // another pattern
           "m.blasnet-12-0123456789abcdef.tmp~", "m.blasnet-12-0123456789abcdeg.tmp",
           "m.blasnet-12-0123456789ABCDEF.tmp", "m.blasnet-12-123456789abcdef.tmp",
           "m.blasnet--0123456789abcdef.tmp", "m.blasnet-0-0123456789abcdef.tmp",
           "m.blasnet-2147483648-0123456789abcdef.tmp", "m.blasnet-99999999999-0123456789abcdef.tmp",
           "m.blasnot-12-0123456789abcdef.tmp", "m-12-0123456789abcdef.tmp", ".tmp", ""}) {
    EXPECT_FALSE(blasnet::temporary_writer(name).has_value()) << name;
  }
}

TEST(AtomicFileStaleness, AMinuteOldWithItsWriterGoneOrADayOld) {
  EXPECT_FALSE(blasnet::is_stale_temporary(0, false));
  EXPECT_FALSE(blasnet::is_stale_temporary(60, false));
  EXPECT_TRUE(blasnet::is_stale_temporary(61, false));
  EXPECT_FALSE(blasnet::is_stale_temporary(61, true));
  EXPECT_FALSE(blasnet::is_stale_temporary(24 * 3600, true));
  EXPECT_TRUE(blasnet::is_stale_temporary(24 * 3600 + 1, true));
}

TEST(AtomicFileStaleness, OnlyStaleFilesOfOurPatternAreRemoved) {
  TempDir dir;
  const pid_t gone = ended_pid(), alive = ::getpid();
  const std::string stale = blasnet::temporary_name("a", gone, 1);
  const std::string fresh = blasnet::temporary_name("a", gone, 2);
  const std::string running = blasnet::temporary_name("a", alive, 3);
  const std::string ancient = blasnet::temporary_name("a", alive, 4);
  const std::string folder = blasnet::temporary_name("b", gone, 5);
  const std::string foreign = "a.tmp-0123456789abcdef";
  for (const std::string& name : {stale, fresh, running, ancient, foreign}) {
    write_bytes(dir / name, "x");
  }
  ASSERT_EQ(::mkdir((dir / folder).c_str(), 0755), 0);
  for (const std::string& name : {stale, running, folder, foreign}) age(dir / name, 120);
  age(dir / ancient, 2 * 24 * 3600);
  age(dir / foreign, 2 * 24 * 3600);

  blasnet::remove_stale_temporaries(dir.path());
  std::vector<std::string> kept = {fresh, running, folder, foreign};
  std::sort(kept.begin(), kept.end());
  EXPECT_EQ(files_in(dir.path()), kept);
  EXPECT_NO_THROW(blasnet::remove_stale_temporaries(dir / "missing"));
}

// Both methods: the bytes replace the target whole, and nothing else is left.
class AtomicFileMethods : public ::testing::TestWithParam<Method> {};
INSTANTIATE_TEST_SUITE_P(Both, AtomicFileMethods,
                         ::testing::Values(Method::unnamed_first, Method::named));

TEST_P(AtomicFileMethods, CommitReplacesTheTargetAndLeavesNothingElse) {
  TempDir dir;
  write_bytes(dir / "t", "old");
  {
    AtomicFile file(dir / "t", GetParam());
    file.write("new ", 4);
    file.write("bytes", 5);
    EXPECT_EQ(read_bytes(dir / "t"), "old");  // until commit
    file.commit();
  }
  EXPECT_EQ(read_bytes(dir / "t"), "new bytes");
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"t"});
  // The permissions open(..., O_CREAT, 0644) gives, whichever method.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  struct stat info {};
  ASSERT_EQ(::stat((dir / "t").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0644 & ~mask);
}

TEST_P(AtomicFileMethods, WithoutCommitTheTargetStaysAndNothingIsLeft) {
  TempDir dir;
  write_bytes(dir / "t", "old");
  {
    AtomicFile file(dir / "t", GetParam());
    file.write("new", 3);
  }
  EXPECT_EQ(read_bytes(dir / "t"), "old");
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"t"});
  {
    AtomicFile file(dir / "u", GetParam());
    file.write("new", 3);
  }
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"t"});
}

TEST_P(AtomicFileMethods, FailuresNameTheProblem) {
  TempDir dir;
  try {
    AtomicFile file(dir / "missing/t", GetParam());
    FAIL() << "opened in a missing folder";
  } catch (const AtomicFileError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot create a temporary file next to it"),
              std::string::npos)
        << e.what();
  }
  ASSERT_EQ(::mkdir((dir / "t").c_str(), 0755), 0);
  try {
    AtomicFile file(dir / "t", GetParam());
    file.write("x", 1);
    file.commit();
    FAIL() << "replaced a folder";
  } catch (const AtomicFileError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot replace it by the new file"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"t"});
}

TEST(AtomicFileMethod, UnnamedLeavesNoNameWhileWritingNamedDoes) {
  TempDir dir;
  {
    AtomicFile file(dir / "t", Method::unnamed_first);
    if (!file.unnamed()) GTEST_SKIP() << "this filesystem has no O_TMPFILE";
    file.write("x", 1);
    EXPECT_TRUE(files_in(dir.path()).empty());
  }
  {
    AtomicFile file(dir / "t", Method::named);
    EXPECT_FALSE(file.unnamed());
    file.write("x", 1);
    const std::vector<std::string> names = files_in(dir.path());
    ASSERT_EQ(names.size(), 1u);
    EXPECT_EQ(blasnet::temporary_writer(names[0]), ::getpid()) << names[0];
  }
}

TEST(AtomicFileMethod, TheEnvironmentForcesTheNamedMethod) {
  ASSERT_EQ(::setenv("BLASNET_NO_O_TMPFILE", "1", 1), 0);
  EXPECT_EQ(AtomicFile::default_method(), Method::named);
  ASSERT_EQ(::setenv("BLASNET_NO_O_TMPFILE", "0", 1), 0);
  EXPECT_EQ(AtomicFile::default_method(), Method::unnamed_first);
  ASSERT_EQ(::unsetenv("BLASNET_NO_O_TMPFILE"), 0);
  EXPECT_EQ(AtomicFile::default_method(), Method::unnamed_first);
}

// A writer killed by SIGKILL mid-write: with O_TMPFILE nothing is left at all; with a named
// file, what is left goes with the next AtomicFile in the folder once it is stale. The target
// is the one saved before, whole.
TEST_P(AtomicFileMethods, AKilledWritersFileIsGoneAfterTheNextSave) {
  TempDir dir;
  write_bytes(dir / "t", "saved before");
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    try {
      AtomicFile file(dir / "t", GetParam());
      file.write("half of it", 10);
      ::raise(SIGKILL);
    } catch (...) {
    }
    ::_exit(1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_EQ(read_bytes(dir / "t"), "saved before");

  std::vector<std::string> left = files_in(dir.path());
  left.erase(std::remove(left.begin(), left.end(), "t"), left.end());
  if (GetParam() == Method::named || !AtomicFile(dir / "probe", Method::unnamed_first).unnamed()) {
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(blasnet::temporary_writer(left[0]), child);
    age(dir / left[0], 120);  // the killed writer's last write, a while ago
  } else {
    EXPECT_TRUE(left.empty());
  }
  {
    AtomicFile file(dir / "t", GetParam());
    file.write("saved after", 11);
    file.commit();
  }
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"t"});
  EXPECT_EQ(read_bytes(dir / "t"), "saved after");
}

}  // namespace

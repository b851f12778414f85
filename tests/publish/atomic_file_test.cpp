#include "publish/atomic_file.h"

#include <sys/stat.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "support/support.h"

using namespace stsctl;
using stsctl::test::entries_in;
using stsctl::test::TempDir;

namespace {

struct stat stat_of(const std::string& path) {
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  return info;
}

}  // namespace

TEST_CASE("FileTree writes new files complete, with mode 0644 whatever the umask", "[atomic_file]") {
  TempDir dir("tree");
  mode_t old_umask = ::umask(077);
  {
    FileTree tree(dir.file("out/zones"));  // created, with its parent
    CHECK(tree.write("example.net.zone", "zone text\n", Durability::Deferred, Directories::MustExist));
    CHECK(tree.write("a/b/c.txt", "nested", Durability::Sync, Directories::Create));
    tree.sync();
  }
  ::umask(old_umask);
  CHECK(test::read_file(dir.file("out/zones/example.net.zone")) == "zone text\n");
  CHECK(test::read_file(dir.file("out/zones/a/b/c.txt")) == "nested");
  CHECK((stat_of(dir.file("out/zones/example.net.zone")).st_mode & 07777) == 0644);
  CHECK((stat_of(dir.file("out/zones/a/b/c.txt")).st_mode & 07777) == 0644);
  CHECK((stat_of(dir.file("out/zones/a/b")).st_mode & 07777) == 0755);
  CHECK((stat_of(dir.file("out/zones")).st_mode & 07777) == 0755);
  CHECK(entries_in(dir.file("out/zones")) == 2);  // no temporary files left
}

TEST_CASE("FileTree leaves an unchanged file alone and replaces a changed one by rename", "[atomic_file]") {
  TempDir dir("tree");
  FileTree tree(dir.path());
  REQUIRE(tree.write("f.zone", "one", Durability::Deferred, Directories::MustExist));
  ino_t first = stat_of(dir.file("f.zone")).st_ino;

  CHECK_FALSE(tree.write("f.zone", "one", Durability::Deferred, Directories::MustExist));
  CHECK(stat_of(dir.file("f.zone")).st_ino == first);

  std::string bigger(100000, 'x');  // more than one read
  CHECK(tree.write("f.zone", bigger, Durability::Sync, Directories::MustExist));
  CHECK(test::read_file(dir.file("f.zone")) == bigger);
  ino_t second = stat_of(dir.file("f.zone")).st_ino;
  CHECK(second != first);
  CHECK_FALSE(tree.write("f.zone", bigger, Durability::Deferred, Directories::MustExist));
  CHECK(tree.write("f.zone", "", Durability::Deferred, Directories::MustExist));  // may shrink to nothing
  CHECK(test::read_file(dir.file("f.zone")).empty());
  CHECK(entries_in(dir.path()) == 1);
}

TEST_CASE("FileTree errors name the path and the cause", "[atomic_file]") {
  TempDir dir("tree");
  FileTree tree(dir.path());
  try {
    tree.write("missing/f.zone", "x", Durability::Deferred, Directories::MustExist);
    FAIL("expected an exception");
  } catch (const std::runtime_error& error) {
    std::string message = error.what();
    CHECK(message.find(dir.file("missing")) != std::string::npos);
    CHECK(message.find("No such file or directory") != std::string::npos);
  }
  test::write_file(dir.file("plain"), "a file where a directory must go");
  try {
    tree.write("plain/sub/f.txt", "x", Durability::Deferred, Directories::Create);
    FAIL("expected an exception");
  } catch (const std::runtime_error& error) {
    std::string message = error.what();
    CHECK(message.find(dir.file("plain/sub")) != std::string::npos);
    CHECK(message.find("Not a directory") != std::string::npos);
  }
  CHECK_THROWS_WITH(FileTree(dir.file("plain")),
                    Catch::Contains(dir.file("plain")) && Catch::Contains("Not a directory"));
}

TEST_CASE("FileTree takes writes from several threads at once", "[atomic_file]") {
  TempDir dir("tree");
  FileTree tree(dir.path());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&tree, t] {
      for (int i = 0; i < 50; ++i) {
        std::string name = "mta-sts.d" + std::to_string(t) + "-" + std::to_string(i) + ".example";
        tree.write(name + "/.well-known/mta-sts.txt", name, Durability::Deferred, Directories::Create);
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  CHECK(entries_in(dir.path()) == 200);
  CHECK(test::read_file(dir.file("mta-sts.d3-49.example/.well-known/mta-sts.txt")) ==
        "mta-sts.d3-49.example");
}

TEST_CASE("write_file_atomically and read_file_if_exists", "[atomic_file]") {
  TempDir dir("tree");
  std::string path = dir.file("web.conf");
  std::string text;
  CHECK_FALSE(read_file_if_exists(path, text));
  CHECK(write_file_atomically(path, "server {}\n"));
  CHECK(read_file_if_exists(path, text));
  CHECK(text == "server {}\n");
  CHECK_FALSE(write_file_atomically(path, "server {}\n"));
  CHECK_THROWS_WITH(write_file_atomically(dir.file("no/such/dir/web.conf"), "x"),
                    Catch::Contains(dir.file("no/such/dir/web.conf")));
  CHECK(write_file_atomically(dir.file("made/web.conf"), "y", Durability::Sync, Directories::Create));
  CHECK(test::read_file(dir.file("made/web.conf")) == "y");
}

TEST_CASE("FileTree on a root it created writes without probing, also twice to one name", "[atomic_file]") {
  TempDir dir("tree");
  FileTree tree(dir.file("new/www"));
  CHECK(tree.write("mta-sts.a.example/.well-known/mta-sts.txt", "a", Durability::Deferred,
                   Directories::Create));
  CHECK(tree.write("mta-sts.a.example/other.txt", "b", Durability::Deferred, Directories::Create));
  CHECK(tree.write("mta-sts.a.example/.well-known/mta-sts.txt", "c", Durability::Deferred,
                   Directories::Create));
  CHECK(test::read_file(dir.file("new/www/mta-sts.a.example/.well-known/mta-sts.txt")) == "c");
  CHECK(test::read_file(dir.file("new/www/mta-sts.a.example/other.txt")) == "b");
  CHECK(entries_in(dir.file("new/www/mta-sts.a.example/.well-known")) == 1);
  CHECK((stat_of(dir.file("new/www/mta-sts.a.example")).st_mode & 07777) == 0755);
}

TEST_CASE("FileTree stages a new root and moves it into place whole", "[atomic_file]") {
  TempDir dir("tree");
  std::string root = dir.file("out/zones");
  {
    FileTree tree(root, FileTree::NewRoot::Stage);
    CHECK(tree.write("a.zone", "a", Durability::Deferred, Directories::MustExist));
    CHECK(tree.write("mta-sts.b/.well-known/mta-sts.txt", "b", Durability::Deferred, Directories::Create));
    CHECK(tree.write("a.zone", "a2", Durability::Deferred, Directories::MustExist));  // twice: replaced
    CHECK_FALSE(test::file_exists(root));     // nothing visible before publish
    CHECK(entries_in(dir.file("out")) == 1);  // the hidden staging directory
    tree.publish();
  }
  CHECK(test::read_file(root + "/a.zone") == "a2");
  CHECK(test::read_file(root + "/mta-sts.b/.well-known/mta-sts.txt") == "b");
  CHECK((stat_of(root).st_mode & 07777) == 0755);
  CHECK(entries_in(dir.file("out")) == 1);  // just the root

  // An existing root is written in place; publish() has nothing to do.
  {
    FileTree tree(root, FileTree::NewRoot::Stage);
    CHECK(tree.write("c.zone", "c", Durability::Deferred, Directories::MustExist));
    CHECK(test::read_file(root + "/c.zone") == "c");
    tree.publish();
  }
}

TEST_CASE("FileTree removes an unpublished staging root and keeps one it cannot move", "[atomic_file]") {
  TempDir dir("tree");
  {
    FileTree tree(dir.file("www"), FileTree::NewRoot::Stage);
    tree.write("x.txt", "x", Durability::Deferred, Directories::MustExist);
    // a failure before publish: nothing is left
  }
  CHECK(entries_in(dir.path()) == 0);

  FileTree tree(dir.file("www"), FileTree::NewRoot::Stage);
  tree.write("x.txt", "x", Durability::Deferred, Directories::MustExist);
  test::write_file(dir.file("www/other.txt"), "someone else was quicker");
  try {
    tree.publish();
    FAIL("expected an exception");
  } catch (const std::runtime_error& error) {
    std::string message = error.what();
    CHECK(message.find(dir.file("www")) != std::string::npos);
    CHECK(message.find("appeared while stsctl was writing") != std::string::npos);
  }
  CHECK(test::read_file(dir.file("www/other.txt")) == "someone else was quicker");
  CHECK(entries_in(dir.path()) == 2);  // www and the kept staging directory with x.txt
}

// Issue 15: a component swapped for a symlink between the walk and the write.
// open_directory is the walk; the swap happens before the write through it.
TEST_CASE("FileTree writes through an opened directory stay inside when its path becomes a symlink",
          "[atomic_file][symlink]") {
  TempDir dir("swap");
  const std::string root = dir.file("www");
  const std::string outside = dir.file("outside");
  std::filesystem::create_directories(root + "/mta-sts.example.com/.well-known");
  std::filesystem::create_directories(outside + "/.well-known");
  const bool existing = GENERATE(false, true);  // a new file (linkat) or a replaced one (renameat)
  const Durability durability = GENERATE(Durability::Deferred, Durability::Sync);
  if (existing) {
    test::write_file(root + "/mta-sts.example.com/.well-known/mta-sts.txt", "old policy");
  }

  FileTree tree(root);
  FileTree::Directory well_known =
      tree.open_directory("mta-sts.example.com/.well-known", Directories::Create);
  CHECK(well_known.relative() == "mta-sts.example.com/.well-known");
  // The swap: the host directory moves away and a symlink to outside takes its name.
  std::filesystem::rename(root + "/mta-sts.example.com", root + "/moved");
  std::filesystem::create_directory_symlink(outside, root + "/mta-sts.example.com");
  // A write by path now lands outside: the swap is real.
  test::write_file(root + "/mta-sts.example.com/.well-known/probe", "x");
  REQUIRE(test::file_exists(outside + "/.well-known/probe"));
  std::filesystem::remove(outside + "/.well-known/probe");

  CHECK(tree.write(well_known, "mta-sts.txt", "new policy", durability));
  CHECK(entries_in(outside + "/.well-known") == 0);
  CHECK(test::read_file(root + "/moved/.well-known/mta-sts.txt") == "new policy");
  CHECK(entries_in(root + "/moved/.well-known") == 1);  // no temporary file left
  CHECK((stat_of(root + "/moved/.well-known/mta-sts.txt").st_mode & 07777) == 0644);
  CHECK_FALSE(tree.write(well_known, "mta-sts.txt", "new policy", durability));

  // A write by its path walks again and refuses the link.
  CHECK_THROWS_WITH(tree.write("mta-sts.example.com/.well-known/mta-sts.txt", "new policy", durability,
                               Directories::Create),
                    "refusing to write '" + root + "/mta-sts.example.com/.well-known/mta-sts.txt': '" + root +
                        "/mta-sts.example.com' is a symbolic link (stsctl writes only inside '" + root +
                        "'; replace the link by a directory or file)");
  CHECK_THROWS_WITH(tree.open_directory("mta-sts.example.com/.well-known", Directories::MustExist),
                    "refusing to write '" + root + "/mta-sts.example.com/.well-known': '" + root +
                        "/mta-sts.example.com' is a symbolic link (stsctl writes only inside '" + root +
                        "'; replace the link by a directory or file)");
  CHECK(entries_in(outside + "/.well-known") == 0);
}

TEST_CASE("FileTree refuses a symlinked root and names outside the tree", "[atomic_file][symlink]") {
  TempDir dir("root-link");
  std::filesystem::create_directories(dir.file("real"));
  std::filesystem::create_directory_symlink(dir.file("real"), dir.file("www"));
  CHECK_THROWS_WITH(FileTree(dir.file("www")),
                    "refusing to write in '" + dir.file("www") +
                        "': it is a symbolic link (stsctl writes only inside a real directory; name the "
                        "directory it points to instead)");
  CHECK_THROWS_WITH(FileTree(dir.file("www/")),
                    Catch::StartsWith("refusing to write in '" + dir.file("www") + "'"));

  FileTree tree(dir.file("real"));
  CHECK_THROWS_WITH(tree.write("../escape.txt", "x", Durability::Deferred, Directories::Create),
                    "refusing to write '" + dir.file("real/../escape.txt") +
                        "': '..' is not a directory name (stsctl writes only inside '" + dir.file("real") +
                        "')");
  CHECK_THROWS_WITH(tree.write("a//b.txt", "x", Durability::Deferred, Directories::Create),
                    "refusing to write '" + dir.file("real/a//b.txt") +
                        "': '' is not a directory name (stsctl writes only inside '" + dir.file("real") +
                        "')");
  CHECK_THROWS_WITH(tree.write("a/..", "x", Durability::Deferred, Directories::Create),
                    "refusing to write '" + dir.file("real/a/..") +
                        "': '..' is not a file name (stsctl writes only inside '" + dir.file("real") + "')");
  CHECK(entries_in(dir.path()) == 2);  // real and www: nothing written
  CHECK(entries_in(dir.file("real")) == 0);
}

TEST_CASE("FileTree directory errors, verbatim", "[atomic_file]") {
  TempDir dir("tree-errors");
  FileTree tree(dir.path());
  CHECK_THROWS_WITH(
      tree.write("missing/deeper/f.zone", "x", Durability::Deferred, Directories::MustExist),
      "failed to open directory '" + dir.file("missing/deeper") + "' (No such file or directory)");
  test::write_file(dir.file("plain"), "a file where a directory must go");
  CHECK_THROWS_WITH(tree.write("plain/sub/f.txt", "x", Durability::Deferred, Directories::Create),
                    "failed to create directory '" + dir.file("plain/sub") + "' (Not a directory)");
  CHECK_THROWS_WITH(tree.open_directory("plain", Directories::MustExist),
                    "failed to open directory '" + dir.file("plain") + "' (Not a directory)");
}

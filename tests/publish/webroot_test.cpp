#include "publish/webroot.h"

#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <functional>

#include "support/support.h"

using namespace stsctl;
using stsctl::test::entries_in;
using stsctl::test::TempDir;

namespace {

mode_t mode_of(const std::string& path) {
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  return info.st_mode & 07777;
}

const std::string k_policy = "version: STSv1\r\nmode: testing\r\nmx: mail.example.net\r\nmax_age: 86400\r\n";

}  // namespace

/// Runs `action` in a child process that is not root (as root: after
/// dropping to uid/gid 65534, "nobody"); returns the message of the
/// std::runtime_error it threw, or "" when it threw none.
std::string failure_as_unprivileged(const std::function<void()>& action) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(fds[0]);
    std::string message;
    if (::geteuid() == 0 && (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0)) {
      message = "could not drop privileges";
    } else {
      try {
        action();
      } catch (const std::runtime_error& error) {
        message = error.what();
      }
    }
    (void)!::write(fds[1], message.data(), message.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string message;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buffer, sizeof buffer)) > 0) {
    message.append(buffer, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  return message;
}

TEST_CASE("policy_path follows the web-root layout", "[webroot]") {
  CHECK(policy_path("/var/www/mta-sts", "example.net") ==
        "/var/www/mta-sts/mta-sts.example.net/.well-known/mta-sts.txt");
  CHECK(policy_path("/var/www/mta-sts/", "Example.NET.") ==
        "/var/www/mta-sts/mta-sts.example.net/.well-known/mta-sts.txt");
  CHECK(policy_path("out", "example.org") == "out/mta-sts.example.org/.well-known/mta-sts.txt");
}

TEST_CASE("write_policy_file creates directories and writes the exact bytes", "[webroot]") {
  TempDir dir("webroot");
  std::string root = dir.file("www");
  // A strict umask must not leave files the web server cannot read.
  mode_t old_umask = ::umask(077);
  bool written = write_policy_file(root, "example.net", k_policy);
  ::umask(old_umask);
  CHECK(written);
  std::string path = root + "/mta-sts.example.net/.well-known/mta-sts.txt";
  CHECK(test::read_file(path) == k_policy);  // CRLFs intact
  CHECK(read_policy_file(root, "example.net") == k_policy);
  CHECK(mode_of(path) == 0644);
  CHECK(mode_of(root + "/mta-sts.example.net/.well-known") == 0755);
  CHECK(mode_of(root + "/mta-sts.example.net") == 0755);
  CHECK(mode_of(root) == 0755);
  // No temp file left behind.
  CHECK(entries_in(root + "/mta-sts.example.net/.well-known") == 1);
}

TEST_CASE("write_policy_file does not rewrite an unchanged file", "[webroot]") {
  TempDir dir("webroot");
  std::string root = dir.path();
  REQUIRE(write_policy_file(root, "example.net", k_policy));
  std::string path = policy_path(root, "example.net");
  struct stat before {};
  REQUIRE(::stat(path.c_str(), &before) == 0);

  CHECK_FALSE(write_policy_file(root, "example.net", k_policy));
  struct stat after {};
  REQUIRE(::stat(path.c_str(), &after) == 0);
  CHECK(after.st_ino == before.st_ino);  // not replaced by a rename

  std::string changed = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.net\r\nmax_age: 604800\r\n";
  CHECK(write_policy_file(root, "example.net", changed));
  CHECK(read_policy_file(root, "example.net") == changed);
  REQUIRE(::stat(path.c_str(), &after) == 0);
  CHECK(after.st_ino != before.st_ino);  // atomically replaced
  CHECK(entries_in(root + "/mta-sts.example.net/.well-known") == 1);
}

TEST_CASE("write_policy_file keeps other domains separate", "[webroot]") {
  TempDir dir("webroot");
  CHECK(write_policy_file(dir.path(), "example.net", k_policy));
  CHECK(write_policy_file(dir.path(), "example.org", k_policy + "x"));
  CHECK(read_policy_file(dir.path(), "example.net") == k_policy);
  CHECK(read_policy_file(dir.path(), "example.org") == k_policy + "x");
}

TEST_CASE("read_policy_file of a missing file is empty", "[webroot]") {
  TempDir dir("webroot");
  CHECK(read_policy_file(dir.path(), "example.net").empty());
  CHECK(read_policy_file(dir.file("absent"), "example.net").empty());
}

TEST_CASE("write_policy_file failures name the path and the cause", "[webroot]") {
  TempDir dir("webroot");
  // A regular file where a directory must go.
  test::write_file(dir.file("www/mta-sts.example.net"), "not a directory");
  try {
    write_policy_file(dir.file("www"), "example.net", k_policy);
    FAIL("expected an exception");
  } catch (const std::runtime_error& error) {
    std::string message = error.what();
    CHECK(message.find(dir.file("www/mta-sts.example.net")) != std::string::npos);
    CHECK(message.find("Not a directory") != std::string::npos);
  }

  // Unwritable directory. Root ignores permissions, so as root (CI) the write
  // runs in a child that dropped to the unprivileged `nobody`.
  std::string locked = dir.file("locked");
  std::filesystem::create_directories(locked + "/mta-sts.example.net/.well-known");
  ::chmod(dir.path().c_str(), 0755);  // mkdtemp makes it 0700: nobody could not even look in
  ::chmod((locked + "/mta-sts.example.net/.well-known").c_str(), 0555);
  std::string message = failure_as_unprivileged([&] { write_policy_file(locked, "example.net", k_policy); });
  ::chmod((locked + "/mta-sts.example.net/.well-known").c_str(), 0755);
  INFO(message);
  CHECK(message.find(locked + "/mta-sts.example.net/.well-known") != std::string::npos);
  CHECK(message.find("Permission denied") != std::string::npos);
}

TEST_CASE("symlinks below the web root are refused, nothing is written outside", "[webroot][symlink]") {
  TempDir dir("symlink");
  const std::string root = dir.file("webroot");
  const std::string outside = dir.file("outside");
  std::filesystem::create_directories(root);
  std::filesystem::create_directories(outside);

  SECTION("the host directory is a symlink") {
    std::filesystem::create_directory_symlink(outside, root + "/mta-sts.example.com");
    CHECK_THROWS_WITH(write_policy_file(root, "example.com", k_policy, Durability::Deferred),
                      "refusing to write '" + root + "/mta-sts.example.com/.well-known/mta-sts.txt': '" +
                          root + "/mta-sts.example.com' is a symbolic link (stsctl writes only inside '" +
                          root + "'; replace the link by a directory or file)");
  }
  SECTION(".well-known is a symlink") {
    std::filesystem::create_directories(root + "/mta-sts.example.com");
    std::filesystem::create_directory_symlink(outside, root + "/mta-sts.example.com/.well-known");
    CHECK_THROWS_WITH(write_policy_file(root, "example.com", k_policy, Durability::Deferred),
                      Catch::Contains("'" + root + "/mta-sts.example.com/.well-known' is a symbolic link"));
  }
  SECTION("the policy file is a symlink") {
    std::filesystem::create_directories(root + "/mta-sts.example.com/.well-known");
    test::write_file(outside + "/target.txt", "old");
    std::filesystem::create_symlink(outside + "/target.txt",
                                    root + "/mta-sts.example.com/.well-known/mta-sts.txt");
    CHECK_THROWS_WITH(write_policy_file(root, "example.com", k_policy, Durability::Deferred),
                      Catch::Contains(".well-known/mta-sts.txt' is a symbolic link"));
    CHECK(test::read_file(outside + "/target.txt") == "old");
    std::filesystem::remove(outside + "/target.txt");
  }
  CHECK(entries_in(outside) == 0);
}

TEST_CASE("render policy -o refuses a symlinked host directory", "[webroot][symlink][cli]") {
  TempDir dir("symlink-cli");
  const std::string out = dir.file("out");
  const std::string outside = dir.file("outside");
  std::filesystem::create_directories(out);
  std::filesystem::create_directories(outside);
  std::filesystem::create_directory_symlink(outside, out + "/mta-sts.example.net");
  test::write_file(dir.file("stsctl.yaml"),
                   "version: 1\ndefaults:\n  policy_host: {ipv4: [192.0.2.40]}\n"
                   "domains:\n  example.net: {mx: [mail.example.net]}\n");
  auto result = test::run_stsctl({"-c", dir.file("stsctl.yaml"), "render", "policy", "-o", out});
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.err, Catch::Contains("'" + out + "/mta-sts.example.net' is a symbolic link"));
  CHECK(entries_in(outside) == 0);
}

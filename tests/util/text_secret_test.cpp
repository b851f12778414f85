#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>

#include "util/secret.h"
#include "util/secrets.h"
#include "util/text.h"

using namespace stsctl;

TEST_CASE("ascii_lower maps only A-Z") {
  CHECK(ascii_lower("MTA-STS.Example.NET") == "mta-sts.example.net");
  CHECK(ascii_lower("\xC3\x89t\xC3\xA9") == "\xC3\x89t\xC3\xA9");
}

TEST_CASE("trim removes blanks at both ends only") {
  CHECK(trim("  a b\r\n") == "a b");
  CHECK(trim("\t\n").empty());
  CHECK(iequals("Mail.Example.net", "mail.example.NET"));
  CHECK_FALSE(iequals("mail", "mail."));
}

TEST_CASE("Secret moves and wipes, never copies") {
  std::string raw = "s3cr3t-value";
  Secret first(std::move(raw));
  CHECK(raw.empty());
  Secret second(std::move(first));
  CHECK(first.empty());
  CHECK(second.reveal() == "s3cr3t-value");
  Secret third;
  third = std::move(second);
  CHECK(second.empty());
  CHECK(third.reveal() == "s3cr3t-value");
}

TEST_CASE("read_secret trims, registers and names the source on failure") {
  std::string path = "read_secret_test.key";
  {
    std::ofstream out(path);
    out << "  file-secret-0123\n\n";
  }
  std::string error;
  Secret secret = read_secret({path, ""}, &error);
  CHECK(error.empty());
  CHECK(secret.reveal() == "file-secret-0123");
  CHECK(scrub("x file-secret-0123 y") == "x [redacted] y");

  Secret missing = read_secret({"no-such-secret-file", ""}, &error);
  CHECK(missing.empty());
  CHECK(error == "cannot read file 'no-such-secret-file' (No such file or directory)");

  ::unsetenv("STSCTL_TEST_UNSET_SECRET");
  read_secret({"", "STSCTL_TEST_UNSET_SECRET"}, &error);
  CHECK(error == "environment variable 'STSCTL_TEST_UNSET_SECRET' is not set");

  ::setenv("STSCTL_TEST_EMPTY_SECRET", " \n", 1);
  read_secret({"", "STSCTL_TEST_EMPTY_SECRET"}, &error);
  CHECK(error == "environment variable 'STSCTL_TEST_EMPTY_SECRET' is empty");
  std::remove(path.c_str());
}

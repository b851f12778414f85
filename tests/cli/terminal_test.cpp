#include "cli/terminal.h"

#include <catch2/catch.hpp>

#include <regex>

#include "support/support.h"

using namespace stsctl;

namespace {

/// `stsctl ARGS check` of the quickstart domain on a pseudo-terminal (script(1)),
/// against a resolver that does not answer, so it fails after about a second.
std::string check_on_terminal(const std::string& extra, const std::map<std::string, std::string>& env = {}) {
  std::string command =
      std::string(STSCTL_BINARY) + " -c " + test::source_path("examples/quickstart/stsctl.yaml") + extra +
      " check --no-smtp --timeout 1 --resolver 127.0.0.1:" + std::to_string(test::free_port(true));
  auto result = test::run_command({"script", "-qec", command, "/dev/null"}, "", env);
  return result.out;
}

bool has_colour(const std::string& text) {
  return text.find("\033[31m") != std::string::npos || text.find("\033[1m") != std::string::npos;
}

}  // namespace

TEST_CASE("format_progress: done/total, rate, time left") {
  CHECK(format_progress("check dns", 0, 1000, 0.5) == "check dns: 0/1000");
  CHECK(format_progress("check dns", 250, 1000, 2.0) == "check dns: 250/1000, 125.0/s, 6s left");
  CHECK(format_progress("waiting for name servers", 4, 4, 1.5) == "waiting for name servers: 4/4, 2.7/s");
}

TEST_CASE("colour only on a terminal, never with NO_COLOR or --no-color; progress line unless --quiet") {
  REQUIRE(test::have_program("script"));
  std::string plain = check_on_terminal("");
  CHECK(has_colour(plain));
  // The run takes more than a second: its 9 lookups (every record check does
  // for one domain) count up on the progress line.
  CHECK(std::regex_search(plain, std::regex("check dns: [0-9]/9")));
  CHECK_FALSE(has_colour(check_on_terminal("", {{"NO_COLOR", "1"}})));
  CHECK_FALSE(has_colour(check_on_terminal(" --no-color")));
  std::string quiet = check_on_terminal(" -q");
  CHECK(quiet.find("check dns") == std::string::npos);
  // Not a terminal: neither colour nor progress.
  auto piped = test::run_stsctl({"-c", test::source_path("examples/quickstart/stsctl.yaml"), "check",
                                 "--no-smtp", "--timeout", "1", "--resolver",
                                 "127.0.0.1:" + std::to_string(test::free_port(true))});
  CHECK_FALSE(has_colour(piped.out));
  CHECK(piped.err.find("check dns") == std::string::npos);
}

TEST_CASE("status table columns stay apart for any content") {
  std::vector<std::vector<std::string>> rows{
      {"DOMAIN", "MODE", "ID", "NOTE"},
      {"a-very-long-subdomain.of-a-mail-domain.example", "enforce", "20260101000000", "ok"},
      {"b.example", "testing", "x", single_line("line one\nline two\ttab")},
      {"alias.example", "alias of b.example"},
  };
  CHECK(format_columns(rows) ==
        "DOMAIN                                          MODE     ID              NOTE\n"
        "a-very-long-subdomain.of-a-mail-domain.example  enforce  20260101000000  ok\n"
        "b.example                                       testing  x               line one line two tab\n"
        "alias.example                                   alias of b.example\n");
}

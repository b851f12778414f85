// Command-line conventions: typos exit 1 with "did you mean", `stsctl help`,
// and counts in words ("1 alias").
#include <catch2/catch.hpp>

#include "support/support.h"

using stsctl::test::run_stsctl;

namespace {
const char* const k_more = "Run 'stsctl help' or 'stsctl COMMAND --help' for more information.\n";
}

TEST_CASE("a mistyped command exits 1 with did you mean") {
  auto result = run_stsctl({"aply"});
  CHECK(result.exit_code == 1);
  CHECK(result.err == std::string("stsctl: unknown command 'aply' (did you mean 'apply'?)\n") + k_more);
  result = run_stsctl({"render", "zon"});
  CHECK(result.exit_code == 1);
  CHECK(result.err == std::string("stsctl: unknown command 'render zon' (did you mean 'zone'?)\n") + k_more);
  result = run_stsctl({"frobnicate"});
  CHECK(result.exit_code == 1);
  CHECK(result.err == std::string("stsctl: unknown command 'frobnicate'\n") + k_more);
}

TEST_CASE("a mistyped option exits 1 with did you mean") {
  auto result = run_stsctl({"plan", "--detailed-exitcod"});
  CHECK(result.exit_code == 1);
  CHECK(result.err ==
        std::string(
            "stsctl: unknown option '--detailed-exitcod' for plan (did you mean '--detailed-exitcode'?)\n") +
            k_more);
  result = run_stsctl({"-c", "x.yaml", "--jsno", "validate"});
  CHECK(result.exit_code == 1);
  CHECK(result.err == std::string("stsctl: unknown option '--jsno' (did you mean '--json'?)\n") + k_more);
  result = run_stsctl({"render", "web", "--server", "lighttpd"});
  CHECK(result.exit_code == 1);
  CHECK(result.err ==
        std::string("stsctl: --server: lighttpd not in {nginx,apache,openbsd-httpd,caddy}\n") + k_more);
  result = run_stsctl({});
  CHECK(result.exit_code == 1);
}

TEST_CASE("stsctl help [COMMAND] prints that command's help") {
  auto top = run_stsctl({"help"});
  CHECK(top.exit_code == 0);
  CHECK(top.out == run_stsctl({"--help"}).out);
  auto plan = run_stsctl({"help", "plan"});
  CHECK(plan.exit_code == 0);
  CHECK(plan.out == run_stsctl({"plan", "--help"}).out);
  CHECK(plan.out.find("--detailed-exitcode") != std::string::npos);
  CHECK(run_stsctl({"help", "render", "web"}).out.find("--http-only") != std::string::npos);
  auto typo = run_stsctl({"help", "stauts"});
  CHECK(typo.exit_code == 1);
  CHECK(typo.err == "stsctl: unknown command 'stauts' (did you mean 'status'?)\n");
}

TEST_CASE("validate counts in words: 1 alias, 2 domains") {
  stsctl::test::TempDir dir("conventions");
  std::string config = dir.file("stsctl.yaml");
  stsctl::test::write_file(config,
                           "version: 1\n"
                           "defaults: {policy_host: {ipv4: [192.0.2.1]}}\n"
                           "domains:\n"
                           "  example.net: {mx: [mail.example.net]}\n"
                           "  example.org: {alias_of: example.net}\n");
  auto result = run_stsctl({"-c", config, "validate"});
  CHECK(result.exit_code == 0);
  CHECK(result.out == config + ": ok (2 domains, 1 alias, 0 providers)\n");
}

TEST_CASE(
    "state locations (--state, state migrate --to) refuse a location they cannot use, never echoing a "
    "password") {
  auto result = run_stsctl({"-c", "none.yaml", "--state", "mysql://db.example/state", "status"});
  CHECK(result.exit_code == 1);
  CHECK(result.err ==
        "stsctl: --state: 'mysql://' is not a state backend: expected a SQLite file path or a postgresql:// "
        "URL\n");
  result = run_stsctl({"-c", "none.yaml", "--state", "postgresql://ops:hunter22@db.example/stsctl", "plan"});
  CHECK(result.exit_code == 1);
  CHECK(result.err ==
        "stsctl: --state: the PostgreSQL URL is not usable: a password in the URL is not allowed; give it in "
        "password_file=/absolute/path, in a ~/.pgpass or PGPASSFILE file, or in PGPASSWORD\n");
  result = run_stsctl(
      {"-c", "none.yaml", "state", "migrate", "--to", "postgres://ops@db.example/s?password=hunter22"});
  CHECK(result.exit_code == 1);
  CHECK(result.err ==
        "stsctl: --to: the PostgreSQL URL is not usable: a password in the URL is not allowed; give it in "
        "password_file=/absolute/path, in a ~/.pgpass or PGPASSFILE file, or in PGPASSWORD\n");
  CHECK(result.out.find("hunter22") == std::string::npos);
}

TEST_CASE("a network step's --timeout is a positive number of seconds") {
  for (const std::string given : {"0", "-1", "abc", "1e9"}) {
    auto result = run_stsctl({"check", "--timeout", given, "example.net"});
    CHECK(result.exit_code == 1);
    CHECK(result.err == "stsctl: --timeout: '" + given +
                            "' is not a positive number of seconds up to 86400 (like 10 or 2.5)\n" + k_more);
  }
  auto result = run_stsctl({"init", "--from-dns", "example.net", "--timeout", "0"});
  CHECK(result.exit_code == 1);
  CHECK(result.err ==
        "stsctl: --timeout: '0' is not a positive number of seconds up to 86400 (like 10 or 2.5)\n" +
            std::string(k_more));
}

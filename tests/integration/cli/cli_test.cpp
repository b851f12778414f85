// End-to-end tests of the stsctl binary without DNS servers: validate, render,
// the id rule across runs, global options, errors.

#include "support/support.h"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <regex>
#include <sstream>

using namespace stsctl::test;

namespace {

const char* k_examples[] = {"quickstart", "powerdns-aliases", "mailcow"};

std::string zone_wrapper(const std::string& zone, const std::string& fragment) {
  return "$TTL 3600\n" + zone + ". IN SOA ns1." + zone + ". hostmaster." + zone +
         ". 1 7200 3600 1209600 3600\n" + zone + ". IN NS ns1." + zone + ".\nns1." + zone +
         ". IN A 192.0.2.53\n" + fragment;
}

std::string extract_id(const std::string& fragment, const std::string& domain) {
  std::regex pattern("_mta-sts\\." + std::regex_replace(domain, std::regex("\\."), "\\.") +
                     "\\.\\s+\\d+\\s+IN\\s+TXT\\s+\"v=STSv1; id=([A-Za-z0-9]+)\"");
  std::smatch match;
  if (std::regex_search(fragment, match, pattern)) {
    return match[1];
  }
  return "";
}

const char* k_simple_config = R"(version: 1
defaults:
  policy_host: {ipv4: [192.0.2.40]}
  tlsrpt: {rua: ["mailto:tlsrpt@example.net"]}
domains:
  example.net:
    mx: [mail.example.net]
    policy: {mode: testing, max_age: 86400}
  example.org: {alias_of: example.net}
)";

}  // namespace

TEST_CASE("every example validates, renders, and its zones pass named-checkzone and ldns-read-zone") {
  for (const char* example : k_examples) {
    INFO(example);
    TempDir dir("cli-example");
    std::string config = source_path(std::string("examples/") + example + "/stsctl.yaml");
    std::string state = dir.file("stsctl.db");
    auto validate = run_stsctl({"-c", config, "--state", state, "validate"});
    // Examples refer to files of a real host (/var/www/mta-sts, pdns.key):
    // validate may warn that they are missing here, and says nothing else.
    std::istringstream lines(validate.err);
    for (std::string line; std::getline(lines, line);) {
      CHECK(line.find(": warning: ") != std::string::npos);
    }
    REQUIRE(validate.exit_code == 0);

    auto render = run_stsctl({"-c", config, "--state", state, "render", "zone", "-o", dir.file("zones")});
    REQUIRE(render.exit_code == 0);
    size_t zones = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir.file("zones"))) {
      ++zones;
      std::string zone = entry.path().stem().string();
      std::string fragment = read_file(entry.path().string());
      write_file(dir.file("check/" + zone), zone_wrapper(zone, fragment));
      auto named = run_command({"named-checkzone", "-q", "-i", "none", zone, dir.file("check/" + zone)});
      CHECK(named.exit_code == 0);
      auto ldns = run_command({"ldns-read-zone", entry.path().string()});
      CHECK(ldns.exit_code == 0);
    }
    CHECK(zones > 0);

    auto policy = run_stsctl({"-c", config, "--state", state, "render", "policy", "-o", dir.file("www")});
    REQUIRE(policy.exit_code == 0);
  }
}

TEST_CASE("render zone keeps the id across runs and bumps it exactly when the policy changes") {
  TempDir dir("cli-ids");
  write_file(dir.file("stsctl.yaml"), k_simple_config);
  auto first = run_stsctl({"-c", dir.file("stsctl.yaml"), "render", "zone", "--now", "2026-01-01T00:00:00Z"});
  REQUIRE(first.exit_code == 0);
  std::string id1 = extract_id(first.out, "example.net");
  CHECK(id1 == "20260101000000");
  CHECK(file_exists(dir.file("stsctl.db")));  // default state beside the config
  CHECK(first.out.find("_mta-sts.example.org.") != std::string::npos);
  CHECK(first.out.find("CNAME") != std::string::npos);

  // Same policy, later time, mx written differently: same id.
  std::string reordered = k_simple_config;
  reordered.replace(reordered.find("[mail.example.net]"), 18, "[MAIL.Example.net.]");
  write_file(dir.file("stsctl.yaml"), reordered);
  auto second =
      run_stsctl({"-c", dir.file("stsctl.yaml"), "render", "zone", "--now", "2026-01-05T00:00:00Z"});
  REQUIRE(second.exit_code == 0);
  CHECK(extract_id(second.out, "example.net") == id1);

  // Mode change: new id from --now.
  std::string enforce = k_simple_config;
  enforce.replace(enforce.find("mode: testing"), 13, "mode: enforce");
  write_file(dir.file("stsctl.yaml"), enforce);
  auto third = run_stsctl({"render", "zone", "-c", dir.file("stsctl.yaml"), "--now", "2026-01-06T12:00:00Z"});
  REQUIRE(third.exit_code == 0);
  std::string id3 = extract_id(third.out, "example.net");
  CHECK(id3 == "20260106120000");

  // A clock that goes backwards still gives an id that sorts after.
  write_file(dir.file("stsctl.yaml"), k_simple_config);
  auto fourth =
      run_stsctl({"render", "zone", "-c", dir.file("stsctl.yaml"), "--now", "2025-01-01T00:00:00Z"});
  REQUIRE(fourth.exit_code == 0);
  std::string id4 = extract_id(fourth.out, "example.net");
  CHECK(id4 > id3);
}

TEST_CASE("render policy writes primaries and aliases with the same CRLF bytes") {
  TempDir dir("cli-policy");
  write_file(dir.file("stsctl.yaml"), k_simple_config);
  auto result = run_stsctl({"-c", dir.file("stsctl.yaml"), "render", "policy", "-o", dir.file("www")});
  REQUIRE(result.exit_code == 0);
  std::string primary = read_file(dir.file("www/mta-sts.example.net/.well-known/mta-sts.txt"));
  std::string alias = read_file(dir.file("www/mta-sts.example.org/.well-known/mta-sts.txt"));
  CHECK(primary == "version: STSv1\r\nmode: testing\r\nmx: mail.example.net\r\nmax_age: 86400\r\n");
  CHECK(alias == primary);
}

TEST_CASE("a bad config exits 1, reports every error with its place, and writes nothing") {
  TempDir dir("cli-bad");
  write_file(dir.file("stsctl.yaml"), R"(version: 1
defaults:
  policy_host: {ipv4: [192.0.2.400]}
domains:
  example.net:
    mx: [mail.example.net]
    policy: {mode: enforced, max_age: 100}
)");
  auto result = run_stsctl({"-c", dir.file("stsctl.yaml"), "render", "zone", "-o", dir.file("zones")});
  CHECK(result.exit_code == 1);
  CHECK(result.err.find("stsctl.yaml:3:") != std::string::npos);
  CHECK(result.err.find("stsctl.yaml:7:") != std::string::npos);
  CHECK(result.err.find("max_age") != std::string::npos);
  CHECK(result.err.find("enforced") != std::string::npos);
  CHECK_FALSE(file_exists(dir.file("zones")));
  CHECK_FALSE(file_exists(dir.file("stsctl.db")));

  auto json = run_stsctl({"validate", "--json", "-c", dir.file("stsctl.yaml")});
  CHECK(json.exit_code == 1);
  auto report = nlohmann::json::parse(json.out);
  CHECK(report["valid"] == false);
  bool line7 = false;
  for (const auto& error : report["errors"]) {
    line7 = line7 ||
            (error["line"] == 7 && error["file"].get<std::string>().find("stsctl.yaml") != std::string::npos);
  }
  CHECK(line7);
}

TEST_CASE("validate --json on a good config, and global options after the subcommand") {
  TempDir dir("cli-json");
  write_file(dir.file("stsctl.yaml"), k_simple_config);
  auto result = run_stsctl({"validate", "--json", "-c", dir.file("stsctl.yaml")});
  REQUIRE(result.exit_code == 0);
  auto report = nlohmann::json::parse(result.out);
  CHECK(report["valid"] == true);
  CHECK(report["domains"] == 2);
}

TEST_CASE("read-only commands do not create the state database") {
  TempDir dir("cli-readonly");
  write_file(dir.file("stsctl.yaml"), k_simple_config);
  auto status = run_stsctl({"-c", dir.file("stsctl.yaml"), "status", "--json"});
  CHECK(status.exit_code == 0);
  INFO(status.out);
  auto rows = nlohmann::json::parse(status.out);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0]["domain"] == "example.net");
  CHECK(rows[0]["published"] == false);
  CHECK(rows[1]["domain"] == "example.org");
  CHECK(rows[1]["alias_of"] == "example.net");
  auto policy = run_stsctl({"-c", dir.file("stsctl.yaml"), "render", "policy"});
  CHECK(policy.exit_code == 0);
  CHECK_FALSE(file_exists(dir.file("stsctl.db")));
}

TEST_CASE("apply refuses to run without --yes when stdin is not a terminal") {
  TempDir dir("cli-apply");
  write_file(dir.file("stsctl.yaml"), k_simple_config);
  auto result = run_stsctl({"-c", dir.file("stsctl.yaml"), "apply"});
  CHECK(result.exit_code == 1);
  CHECK(result.err.find("--yes") != std::string::npos);
}

TEST_CASE("--now must be RFC 3339") {
  TempDir dir("cli-now");
  write_file(dir.file("stsctl.yaml"), k_simple_config);
  auto result = run_stsctl({"-c", dir.file("stsctl.yaml"), "render", "zone", "--now", "tomorrow"});
  CHECK(result.exit_code == 1);
  CHECK(result.err.find("RFC 3339") != std::string::npos);
}

TEST_CASE("every command has --help") {
  for (auto command : {"validate", "render", "plan", "apply", "promote", "status", "check"}) {
    auto result = run_stsctl({command, "--help"});
    CHECK(result.exit_code == 0);
    CHECK(result.out.find("Usage") != std::string::npos);
  }
}

TEST_CASE("render -o into a new directory: it appears whole, and a failed run leaves nothing") {
  TempDir dir("cli-out");
  write_file(dir.file("stsctl.yaml"), k_simple_config);
  auto zones = run_stsctl({"-c", dir.file("stsctl.yaml"), "render", "zone", "-o", dir.file("out/zones")});
  REQUIRE(zones.exit_code == 0);
  CHECK(zones.err.find("(2 written, 0 unchanged)") != std::string::npos);
  CHECK(file_exists(dir.file("out/zones/example.net.zone")));
  CHECK(file_exists(dir.file("out/zones/example.org.zone")));
  auto policies = run_stsctl({"-c", dir.file("stsctl.yaml"), "render", "policy", "-o", dir.file("out/www")});
  REQUIRE(policies.exit_code == 0);
  CHECK(file_exists(dir.file("out/www/mta-sts.example.org/.well-known/mta-sts.txt")));
  CHECK(entries_in(dir.file("out")) == 2);  // zones and www; no staging directory left

  // The state cannot be written (its path is a directory): no output directory either.
  std::filesystem::create_directories(dir.file("state-is-a-directory"));
  auto failed = run_stsctl({"-c", dir.file("stsctl.yaml"), "--state", dir.file("state-is-a-directory"),
                            "render", "zone", "-o", dir.file("out/other")});
  CHECK(failed.exit_code == 1);
  CHECK_FALSE(file_exists(dir.file("out/other")));
  CHECK(entries_in(dir.file("out")) == 2);
}

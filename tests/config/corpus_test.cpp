// Bad configs: each tests/config/corpus/NAME.yaml must produce exactly the
// diagnostics in NAME.expected, one formatted line each, in file order.

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "config/load.h"
#include "support/support.h"

using stsctl::format_diagnostic;
using stsctl::load_config_text;

namespace {

std::string formatted(const stsctl::LoadResult& result) {
  std::string out;
  for (const auto& diagnostic : result.diagnostics) {
    out += format_diagnostic(diagnostic) + "\n";
  }
  return out;
}

std::string corpus_dir() { return stsctl::test::source_path("tests/config/corpus"); }

}  // namespace

TEST_CASE("every corpus config gives exactly its expected diagnostics", "[config][corpus]") {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(corpus_dir())) {
    if (entry.path().extension() == ".yaml") {
      names.push_back(entry.path().stem().string());
    }
  }
  std::sort(names.begin(), names.end());
  REQUIRE(names.size() >= 35);
  for (const std::string& name : names) {
    INFO("corpus case " << name);
    std::string text = stsctl::test::read_file(corpus_dir() + "/" + name + ".yaml");
    std::string expected = stsctl::test::read_file(corpus_dir() + "/" + name + ".expected");
    REQUIRE_FALSE(expected.empty());
    auto result = load_config_text(text, "stsctl.yaml", corpus_dir());
    CHECK_FALSE(result.ok());
    CHECK(formatted(result) == expected);
  }
}

TEST_CASE("all errors of one file are reported in one run, in file order", "[config][corpus]") {
  std::string text = stsctl::test::read_file(corpus_dir() + "/many_errors.yaml");
  auto result = load_config_text(text, "stsctl.yaml", corpus_dir());
  REQUIRE(result.diagnostics.size() == 6);
  CHECK(format_diagnostic(result.diagnostics[0]) ==
        "stsctl.yaml:3:8: defaults.ttl: 1000000 is above 604800 (a TTL must be 60..604800 seconds)");
  CHECK(format_diagnostic(result.diagnostics[1]) ==
        "stsctl.yaml:9:38: domains.example.net.policy.max_age: 100 is below 86400");
  CHECK(format_diagnostic(result.diagnostics[2]) ==
        "stsctl.yaml:10:3: domains.bad_name.example: 'bad_name.example' is not a valid domain name: label "
        "'bad_name' has '_' (letters, digits and '-' only)");
  CHECK(format_diagnostic(result.diagnostics[3]) ==
        "stsctl.yaml:11:40: domains.example.org.tlsrpt: 'tlsrpt' cannot be set on an alias domain: it comes "
        "from the primary 'example.net' (an alias allows only alias_of, zone, provider, ttl)");
  CHECK(format_diagnostic(result.diagnostics[4]) ==
        "stsctl.yaml:17:5: providers.pdns.notfy: unknown key 'notfy' (did you mean 'notify'?)");
  CHECK(format_diagnostic(result.diagnostics[5]) ==
        "stsctl.yaml:20:45: rollout.stages[0].hold: '1y' is not a duration: a positive whole number and a "
        "unit s, m, h, "
        "d or w (like 30m, 12h, 7d, 2w)");
  for (size_t i = 1; i < result.diagnostics.size(); ++i) {
    CHECK(result.diagnostics[i - 1].line <= result.diagnostics[i].line);
  }
}

TEST_CASE("inline secrets are refused without echoing them", "[config][corpus][secrets]") {
  const std::string secret = "Zm9vYmFyLXNlY3JldC12YWx1ZQ==";
  const std::string text =
      "version: 1\n"
      "defaults:\n"
      "  provider: pdns\n"
      "  policy_host: {ipv4: [192.0.2.40]}\n"
      "domains:\n"
      "  example.net: {mx: [mail.example.net]}\n"
      "providers:\n"
      "  pdns:\n"
      "    type: powerdns\n"
      "    url: \"http://127.0.0.1:8081\"\n"
      "    api_key_env: PDNS_KEY\n"
      "    password: \"" +
      secret +
      "\"\n"
      "    extra: {nested: {secret: \"" +
      secret +
      "\"}}\n"
      "    api_key_file: \"" +
      secret +
      "\"\n"
      "  bind:\n"
      "    type: rfc2136\n"
      "    server: 127.0.0.1\n"
      "    tsig: {name: k, secret_env: \"" +
      secret + "\", key: \"" + secret + "\"}\n";
  auto result = load_config_text(text, "stsctl.yaml", "/tmp");
  std::string out = formatted(result);
  CHECK(
      out ==
      "stsctl.yaml:12:5: providers.pdns.password: secrets must not be written in the config: use "
      "api_key_file "
      "or api_key_env\n"
      "stsctl.yaml:13:5: providers.pdns.extra: unknown key 'extra' (allowed: type, url, server_id, "
      "api_key_file, api_key_env, ca_file, timeout, notify)\n"
      "stsctl.yaml:13:22: providers.pdns.extra.nested.secret: secrets must not be written in the config: use "
      "api_key_file or api_key_env\n"
      "stsctl.yaml:14:5: providers.pdns.api_key_file: set only one of api_key_file and api_key_env\n"
      "stsctl.yaml:18:33: providers.bind.tsig.secret_env: expected an environment variable name (letters, "
      "digits and '_', not starting with a digit)\n"
      "stsctl.yaml:18:65: providers.bind.tsig.key: secrets must not be written in the config: use "
      "secret_file "
      "or secret_env in tsig\n");
  CHECK(out.find(secret) == std::string::npos);
  CHECK(out.find("Zm9v") == std::string::npos);
  CHECK(stsctl::diagnostics_to_json(result.diagnostics).find(secret) == std::string::npos);
}

TEST_CASE("the secret corpus cases never show their values", "[config][corpus][secrets]") {
  for (const char* name : {"powerdns_inline_secret", "tsig_inline_secret", "provider_unknown_type"}) {
    INFO(name);
    std::string text = stsctl::test::read_file(corpus_dir() + "/" + name + ".yaml");
    auto result = load_config_text(text, "stsctl.yaml", corpus_dir());
    std::string out = formatted(result) + stsctl::diagnostics_to_json(result.diagnostics);
    CHECK(out.find("secrets must not be written in the config") != std::string::npos);
    for (const char* value : {"s3cr3t-pdns-key-VALUE", "c2VjcmV0LXRzaWctVkFMVUU=", "should-not-appear-123"}) {
      CHECK(out.find(value) == std::string::npos);
    }
  }
}

TEST_CASE("a config file that cannot be read is one diagnostic without a line", "[config][corpus]") {
  stsctl::test::TempDir dir;
  auto result = stsctl::load_config(dir.file("missing.yaml"));
  REQUIRE(result.diagnostics.size() == 1);
  CHECK(format_diagnostic(result.diagnostics[0]) == dir.file("missing.yaml") + ": failed to read '" +
                                                        dir.file("missing.yaml") +
                                                        "' (No such file or directory)");
}

TEST_CASE("a directory given as the config file is refused", "[config][corpus]") {
  stsctl::test::TempDir dir;
  auto result = stsctl::load_config(dir.path());
  REQUIRE(result.diagnostics.size() == 1);
  CHECK(format_diagnostic(result.diagnostics[0]) ==
        dir.path() + ": failed to read '" + dir.path() + "' (Is a directory)");
}

TEST_CASE("load_config names the file as given in its diagnostics", "[config][corpus]") {
  stsctl::test::TempDir dir;
  stsctl::test::write_file(dir.file("stsctl.yaml"),
                           "version: 1\ndomains:\n  example.net: {mx: [mail.example.net]}\n");
  auto result = stsctl::load_config(dir.file("stsctl.yaml"));
  REQUIRE(result.diagnostics.size() == 1);
  CHECK(format_diagnostic(result.diagnostics[0]) ==
        dir.file("stsctl.yaml") +
            ":3:3: domains.example.net: policy_host is required (set it here or in defaults, like {ipv4: "
            "[192.0.2.40]} or {cname: web.example.net})");
}

// The powerdns block: read through the registry by the loader, its keys
// contributed to the config reference.

#include "powerdns/powerdns_config.h"

#include <catch2/catch.hpp>

#include <algorithm>

#include "config/load.h"
#include "config/reference.h"

using namespace stsctl;

namespace {

LoadResult load_with_provider(const std::string& block) {
  return load_config_text(
      "version: 1\n"
      "defaults: {provider: pdns, policy_host: {ipv4: [192.0.2.40]}}\n"
      "domains:\n"
      "  example.net: {mx: [mail.example.net]}\n"
      "providers:\n"
      "  pdns: " +
          block + "\n",
      "stsctl.yaml", "/etc/stsctl");
}

}  // namespace

TEST_CASE("the loader reads the powerdns block through its backend") {
  auto result = load_with_provider(
      "{type: powerdns, url: \"https://pdns.example.net:8443//\", api_key_file: keys/pdns.key, timeout: 2.5, "
      "notify: yes, server_id: ns1}");
  REQUIRE(result.ok());
  const PowerdnsConfig& settings = settings_of<PowerdnsConfig>(result.config.providers.at("pdns"));
  CHECK(settings.name == "pdns");
  CHECK(settings.url == "https://pdns.example.net:8443");
  CHECK(settings.api_key_file == "/etc/stsctl/keys/pdns.key");
  CHECK(settings.api_key_env.empty());
  CHECK(settings.timeout_seconds == 2.5);
  CHECK(settings.notify);
  CHECK(settings.server_id == "ns1");
}

TEST_CASE("a powerdns block with errors reports each with its place") {
  auto result = load_with_provider("{type: powerdns, url: \"ftp://x\", api_key: hunter2, timeout: 0}");
  std::vector<std::string> lines;
  for (const auto& diagnostic : result.diagnostics) {
    lines.push_back(format_diagnostic(diagnostic));
  }
  CHECK(lines ==
        std::vector<std::string>{
            "stsctl.yaml:6:3: providers.pdns: one of api_key_file or api_key_env is required",
            "stsctl.yaml:6:31: providers.pdns.url: must be an http:// or https:// URL (like "
            "http://127.0.0.1:8081)",
            "stsctl.yaml:6:42: providers.pdns.api_key: secrets must not be written in the config: use "
            "api_key_file or api_key_env",
            "stsctl.yaml:6:69: providers.pdns.timeout: 0 is out of range: expected a number of seconds "
            "(greater than 0, at most 3600)"});
}

TEST_CASE("the backends' keys are rows of the config reference, a shared one once") {
  const auto& reference = config_reference();
  auto count = [&](const std::string& path) {
    return std::count_if(reference.begin(), reference.end(),
                         [&](const ConfigKey& key) { return key.path == path; });
  };
  CHECK(count("providers.P.url") == 1);
  CHECK(count("providers.P.tsig.secret_file") == 1);
  CHECK(count("providers.P.timeout") == 1);
  for (const ConfigKey& row : powerdns_backend().config.keys) {
    CHECK(count(row.path) == 1);
  }
  CHECK(config_keys_under("providers.P", "powerdns") ==
        std::vector<std::string>{"type", "url", "server_id", "api_key_file", "api_key_env", "ca_file",
                                 "timeout", "notify"});
}

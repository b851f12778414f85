#include "config/reference.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "config/load.h"
#include "support/support.h"

using namespace stsctl;

namespace {

// A config that loads cleanly; `@ROOT@` etc. mark where a stray key goes.
const char* const k_config = R"(version: 1
@ROOT@
defaults:
  @DEFAULTS@
  provider: pdns
  policy: {mode: testing, max_age: 86400 @POLICY@}
  tlsrpt: {rua: ["mailto:tlsrpt@example.net"] @TLSRPT@}
  policy_host: {ipv4: [192.0.2.40] @POLICY_HOST@}
  caa: [{tag: issue, value: letsencrypt.org @CAA@}]
domains:
  example.net:
    @DOMAIN@
    mx: [mail.example.net]
rollout:
  @ROLLOUT@
  gates: {starttls: true @GATES@}
  stages:
    - {mode: testing, max_age: 86400 @STAGE@}
providers:
  pdns: {type: powerdns, url: "http://127.0.0.1:8081", api_key_env: K @POWERDNS@}
  bind:
    type: rfc2136
    server: "127.0.0.1:53"
    tsig: {name: k, secret_env: S @TSIG@}
    @RFC2136@
publish:
  @PUBLISH@
  webroot: /tmp
  propagation: {timeout: 0 @PROPAGATION@}
)";

/// The allowed keys the loader names when `marker` holds an unknown key.
std::set<std::string> loader_keys(const std::string& marker) {
  std::string text = k_config;
  const std::vector<std::string> markers = {"@ROOT@",        "@DEFAULTS@", "@POLICY@",     "@TLSRPT@",
                                            "@POLICY_HOST@", "@CAA@",      "@DOMAIN@",     "@ROLLOUT@",
                                            "@GATES@",       "@STAGE@",    "@POWERDNS@",   "@TSIG@",
                                            "@RFC2136@",     "@PUBLISH@",  "@PROPAGATION@"};
  bool flow = marker != "@ROOT@" && marker != "@DEFAULTS@" && marker != "@DOMAIN@" && marker != "@ROLLOUT@" &&
              marker != "@RFC2136@" && marker != "@PUBLISH@";
  for (const auto& other : markers) {
    text = test::replace_all(text, other, other == marker ? (flow ? ", zzzqqq: 1" : "zzzqqq: 1") : "");
  }
  LoadResult result = load_config_text(text, "stsctl.yaml", "/tmp");
  std::set<std::string> keys;
  for (const auto& diagnostic : result.diagnostics) {
    const std::string prefix = "unknown key 'zzzqqq' (allowed: ";
    INFO(format_diagnostic(diagnostic));
    REQUIRE(diagnostic.message.rfind(prefix, 0) == 0);
    std::string list = diagnostic.message.substr(prefix.size());
    list.pop_back();  // ")"
    size_t start = 0;
    while (start <= list.size()) {
      size_t comma = list.find(", ", start);
      keys.insert(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (comma == std::string::npos) {
        break;
      }
      start = comma + 2;
    }
  }
  return keys;
}

std::set<std::string> reference_keys(const std::string& map_path, const std::string& only_for = "") {
  auto keys = config_keys_under(map_path, only_for);
  return {keys.begin(), keys.end()};
}

}  // namespace

TEST_CASE("the base config of the reference test loads cleanly") { CHECK(loader_keys("@NONE@").empty()); }

TEST_CASE("the config reference lists exactly the keys the loader accepts") {
  CHECK(reference_keys("") == loader_keys("@ROOT@"));
  CHECK(reference_keys("defaults") == loader_keys("@DEFAULTS@"));
  CHECK(reference_keys("defaults.policy") == loader_keys("@POLICY@"));
  CHECK(reference_keys("defaults.tlsrpt") == loader_keys("@TLSRPT@"));
  CHECK(reference_keys("defaults.policy_host") == loader_keys("@POLICY_HOST@"));
  CHECK(reference_keys("defaults.caa[]") == loader_keys("@CAA@"));
  CHECK(reference_keys("domains.D") == loader_keys("@DOMAIN@"));
  CHECK(reference_keys("rollout") == loader_keys("@ROLLOUT@"));
  CHECK(reference_keys("rollout.gates") == loader_keys("@GATES@"));
  CHECK(reference_keys("rollout.stages[]") == loader_keys("@STAGE@"));
  CHECK(reference_keys("providers.P", "powerdns") == loader_keys("@POWERDNS@"));
  CHECK(reference_keys("providers.P", "rfc2136") == loader_keys("@RFC2136@"));
  CHECK(reference_keys("providers.P.tsig", "rfc2136") == loader_keys("@TSIG@"));
  CHECK(reference_keys("publish") == loader_keys("@PUBLISH@"));
  CHECK(reference_keys("publish.propagation") == loader_keys("@PROPAGATION@"));
}

TEST_CASE("every domain key that overrides a default has the same allowed values") {
  for (const auto& key : config_reference()) {
    if (key.path.rfind("domains.D.", 0) != 0) {
      continue;
    }
    std::string name = key.path.substr(10);
    for (const auto& other : config_reference()) {
      if (other.path == "defaults." + name) {
        INFO(key.path);
        CHECK(key.allowed == other.allowed);
        CHECK(key.default_value == other.path);
      }
    }
  }
}

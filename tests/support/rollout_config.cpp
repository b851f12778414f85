#include "support/rollout_config.h"

namespace stsctl::test {

std::string rollout_config(const PdnsServer& pdns, const NginxServer& nginx,
                           const std::vector<std::string>& zones, const RolloutConfigOptions& options) {
  std::string connect;
  for (const auto& zone : zones) {
    connect += std::string(connect.empty() ? "" : ", ") + "\"mta-sts." + zone +
               ":443\": \"127.0.0.1:" + std::to_string(nginx.port()) + "\"";
  }
  std::string config =
      "version: 1\ndefaults:\n  provider: pdns\n  ttl: 300\n  policy_host: {ipv4: [192.0.2.40]}\n";
  if (!options.tlsrpt_rua.empty()) {
    config += "  tlsrpt: {rua: [\"" + options.tlsrpt_rua + "\"]}\n";
  }
  config += "domains:\n" + options.domains;
  config += "rollout:\n  gates: " + options.gates + "\n";
  config +=
      "  stages:\n"
      "    - {mode: testing, max_age: 86400, hold: 7d}\n"
      "    - {mode: enforce, max_age: 604800, hold: 14d}\n"
      "    - {mode: enforce, max_age: 31557600}\n";
  config += "providers:\n  pdns: {type: powerdns, url: \"" + pdns.api_url() + "\", api_key_file: \"" +
            pdns.api_key_file() + "\"}\n";
  config += "publish:\n  webroot: \"" + nginx.webroot() + "\"\n  verify: true\n  ca_file: \"" +
            nginx.ca_file() + "\"\n  connect_to: {" + connect + "}\n  propagation: {timeout: 0}\n";
  return config;
}

}  // namespace stsctl::test

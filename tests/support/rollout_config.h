#pragma once
// The stsctl.yaml of the rollout and TLS-RPT gate scenarios: DNS in a test
// PowerDNS, policy files in a test nginx's web root, the three standard
// stages (testing 1d for 7d, enforce 7d for 14d, enforce 1y).

#include "support/nginx_server.h"
#include "support/pdns_server.h"

#include <string>
#include <vector>

namespace stsctl::test {

struct RolloutConfigOptions {
  std::string domains;                      // YAML of the domains map, indented two spaces
  std::string gates = "{starttls: false}";  // rollout.gates (these MX hosts run no SMTP server)
  std::string tlsrpt_rua;                   // defaults.tlsrpt rua, when not empty
};

/// Provider `pdns` (TTL 300, policy host 192.0.2.40); policy files published
/// to `nginx` and verified through it, with mta-sts.<zone>:443 of each of
/// `zones` connected to nginx; propagation not waited for.
std::string rollout_config(const PdnsServer& pdns, const NginxServer& nginx,
                           const std::vector<std::string>& zones, const RolloutConfigOptions& options);

}  // namespace stsctl::test

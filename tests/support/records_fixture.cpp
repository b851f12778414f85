#include "support/records_fixture.h"

#include "powerdns/powerdns_config.h"
#include "rfc2136/rfc2136_config.h"

#include <algorithm>
#include <utility>

namespace stsctl::test {

RRset rrset(const std::string& owner, RRType type, std::vector<std::string> values, uint32_t ttl) {
  RRset set{owner, type, ttl, std::move(values)};
  set.normalize();
  return set;
}

DomainConfig sample_policy_domain(const std::string& name) {
  DomainConfig d;
  d.name = name;
  d.zone = name;
  d.provider = "pdns";
  d.ttl = 3600;
  d.mode = PolicyMode::Testing;
  d.max_age = 86400;
  d.mx = {"mail." + name};
  d.tlsrpt_rua = {"mailto:tlsrpt@example.net", "https://reports.example.net/v1"};
  d.policy_host.ipv4 = {"192.0.2.40"};
  d.policy_host.ipv6 = {"2001:db8::40"};
  d.caa = {{0, "issue", "letsencrypt.org"}, {0, "iodef", "mailto:sec@example.net"}};
  d.id_format = IdFormat::Timestamp;
  return d;
}

DomainConfig sample_alias_domain(const std::string& name, const std::string& primary) {
  DomainConfig d;
  d.name = name;
  d.zone = name;
  d.alias_of = primary;
  d.provider = "pdns";
  d.ttl = 3600;
  return d;
}

Config sample_config() {
  Config config;
  config.file = "stsctl.yaml";
  config.base_dir = "/nonexistent/stsctl";
  config.state_path = "/nonexistent/stsctl/stsctl.db";

  DomainConfig net = sample_policy_domain("example.net");
  net.mode = PolicyMode::Enforce;
  net.max_age = 604800;
  net.mode_pinned = true;
  net.mx = {"mail.example.net", "*.mx.example.net"};

  DomainConfig org = sample_alias_domain("example.org", "example.net");
  org.provider = "bind";

  DomainConfig old = sample_policy_domain("old.example");
  old.mx = {"mail.example.net"};
  old.tlsrpt_rua.clear();
  old.retire = true;

  DomainConfig shop = sample_policy_domain("shop.example.net");
  shop.zone = "example.net";
  shop.tlsrpt_rua.clear();
  shop.policy_host = PolicyHost{};
  shop.policy_host.cname = "web.example.net";
  shop.id_format = IdFormat::Serial;

  config.domains = {sample_alias_domain("example.com", "example.net"), net, org, old, shop};
  std::sort(config.domains.begin(), config.domains.end(),
            [](const DomainConfig& a, const DomainConfig& b) { return a.name < b.name; });

  config.stages = {{PolicyMode::Testing, 86400, 7 * 86400},
                   {PolicyMode::Enforce, 604800, 14 * 86400},
                   {PolicyMode::Enforce, 31557600, std::nullopt}};

  PowerdnsConfig pdns;
  pdns.name = "pdns";
  pdns.url = "http://127.0.0.1:8081";
  pdns.api_key_env = "PDNS_API_KEY";
  config.providers[pdns.name] = provider_config("powerdns", pdns);

  Rfc2136Config bind;
  bind.name = "bind";
  bind.server_host = "127.0.0.1";
  bind.server_port = 53;
  bind.tsig.name = "stsctl-key";
  bind.tsig.secret_env = "TSIG_SECRET";
  config.providers[bind.name] = provider_config("rfc2136", bind);
  return config;
}

std::map<std::string, std::string> sample_ids(const Config& config, const std::string& id) {
  std::map<std::string, std::string> ids;
  for (const auto& domain : config.domains) {
    if (!domain.is_alias()) {
      ids[domain.name] = id;
    }
  }
  return ids;
}

}  // namespace stsctl::test

#include "records/desired.h"

#include "dns/name.h"

#include <algorithm>
#include <stdexcept>

namespace stsctl {

namespace {

const std::string k_sts_prefix = "_mta-sts.";
const std::string k_tlsrpt_prefix = "_smtp._tls.";
const std::string k_host_prefix = "mta-sts.";

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

/// RFC 8461 section 3.1 / RFC 8460 section 3: the version field is the
/// whole first field, so "v=STSv10" is not ours.
bool starts_with_version(const std::string& value, const std::string& version) {
  if (!starts_with(value, version)) {
    return false;
  }
  if (value.size() == version.size()) {
    return true;
  }
  char next = value[version.size()];
  return next == ';' || next == ' ' || next == '\t';
}

/// RFC 8460 section 3: ',', '!' and ';' inside a rua URI must be %-encoded.
std::string encode_rua(const std::string& uri) {
  std::string out;
  for (char c : uri) {
    if (c == ',') {
      out += "%2C";
    } else if (c == '!') {
      out += "%21";
    } else if (c == ';') {
      out += "%3B";
    } else {
      out += c;
    }
  }
  return out;
}

/// "<prefix><name>." for a normalised name, built in place (this runs for
/// every record of every zone).
std::string owner_name(const std::string& prefix, const std::string& name) {
  std::string owner;
  owner.reserve(prefix.size() + name.size() + 1);
  owner += prefix;
  owner += name;
  owner += '.';
  return owner;
}

RRset make_rrset(std::string owner, RRType type, uint32_t ttl, std::vector<std::string> values) {
  RRset rrset;
  rrset.owner = std::move(owner);
  rrset.type = type;
  rrset.ttl = ttl;
  rrset.values = std::move(values);
  rrset.normalize();
  return rrset;
}

void add_policy_domain(const DomainConfig& domain, const std::string& id, std::vector<RRset>& out) {
  const std::string d = normalize_name(domain.name);
  out.push_back(make_rrset(owner_name(k_sts_prefix, d), RRType::TXT, domain.ttl, {"v=STSv1; id=" + id}));
  if (!domain.tlsrpt_rua.empty()) {
    std::string value = "v=TLSRPTv1; rua=";
    for (size_t i = 0; i < domain.tlsrpt_rua.size(); ++i) {
      value += (i == 0 ? "" : ",") + encode_rua(domain.tlsrpt_rua[i]);
    }
    out.push_back(make_rrset(owner_name(k_tlsrpt_prefix, d), RRType::TXT, domain.ttl, {value}));
  }
  const PolicyHost& host = domain.policy_host;
  if (!host.cname.empty()) {
    // A CNAME owner can hold no other data (RFC 1034 section 3.6.2): no CAA here.
    out.push_back(make_rrset(owner_name(k_host_prefix, d), RRType::CNAME, domain.ttl,
                             {absolute(normalize_name(host.cname))}));
    return;
  }
  if (!host.ipv4.empty()) {
    out.push_back(make_rrset(owner_name(k_host_prefix, d), RRType::A, domain.ttl, host.ipv4));
  }
  if (!host.ipv6.empty()) {
    out.push_back(make_rrset(owner_name(k_host_prefix, d), RRType::AAAA, domain.ttl, host.ipv6));
  }
  if (!domain.caa.empty()) {
    std::vector<std::string> values;
    for (const auto& entry : domain.caa) {
      values.push_back(caa_value(entry.flags, entry.tag, entry.value));
    }
    out.push_back(make_rrset(owner_name(k_host_prefix, d), RRType::CAA, domain.ttl, std::move(values)));
  }
}

void add_alias_domain(const DomainConfig& alias, const DomainConfig& primary, std::vector<RRset>& out) {
  const std::string a = normalize_name(alias.name);
  const std::string d = normalize_name(primary.name);
  out.push_back(
      make_rrset(owner_name(k_sts_prefix, a), RRType::CNAME, alias.ttl, {owner_name(k_sts_prefix, d)}));
  if (!primary.tlsrpt_rua.empty()) {
    out.push_back(make_rrset(owner_name(k_tlsrpt_prefix, a), RRType::CNAME, alias.ttl,
                             {owner_name(k_tlsrpt_prefix, d)}));
  }
  out.push_back(
      make_rrset(owner_name(k_host_prefix, a), RRType::CNAME, alias.ttl, {owner_name(k_host_prefix, d)}));
}

}  // namespace

DomainPolicy make_domain_policy(const std::string& domain, const Policy& policy) {
  DomainPolicy result;
  result.domain = domain;
  result.policy = policy;
  result.text = policy_text(policy);
  result.hash = sha256_hex(result.text);
  return result;
}

std::vector<DomainPolicy> domain_policies(const Config& config) {
  std::vector<DomainPolicy> result;
  for (const auto& domain : config.domains) {
    if (domain.is_alias()) {
      continue;
    }
    PolicyMode mode = domain.retire ? PolicyMode::None : domain.mode;
    result.push_back(make_domain_policy(domain.name, make_policy(mode, domain.max_age, domain.mx)));
  }
  return result;
}

std::vector<RRsetKey> owned_rrsets(const std::string& domain) {
  std::string d = normalize_name(domain);
  return {
      {absolute(k_sts_prefix + d), RRType::TXT},    {absolute(k_sts_prefix + d), RRType::CNAME},
      {absolute(k_tlsrpt_prefix + d), RRType::TXT}, {absolute(k_tlsrpt_prefix + d), RRType::CNAME},
      {absolute(k_host_prefix + d), RRType::A},     {absolute(k_host_prefix + d), RRType::AAAA},
      {absolute(k_host_prefix + d), RRType::CNAME}, {absolute(k_host_prefix + d), RRType::CAA},
  };
}

bool is_owned_txt(const std::string& owner, const std::string& value) {
  std::string name = normalize_name(owner);
  if (starts_with(name, k_sts_prefix)) {
    return starts_with_version(value, "v=STSv1");
  }
  if (starts_with(name, k_tlsrpt_prefix)) {
    return starts_with_version(value, "v=TLSRPTv1");
  }
  return false;
}

std::vector<ZoneDomains> zones_of(const Config& config) {
  std::vector<std::pair<std::string, size_t>> by_zone;
  by_zone.reserve(config.domains.size());
  for (size_t i = 0; i < config.domains.size(); ++i) {
    const DomainConfig& domain = config.domains[i];
    by_zone.emplace_back(normalize_name(domain.zone.empty() ? domain.name : domain.zone), i);
  }
  std::sort(by_zone.begin(), by_zone.end());
  std::vector<ZoneDomains> zones;
  for (auto& [zone, index] : by_zone) {
    if (zones.empty() || zones.back().zone != zone) {
      zones.push_back({std::move(zone), {}});
    }
    zones.back().domains.push_back(index);
  }
  return zones;
}

std::vector<RRset> desired_zone_records(const Config& config, const ZoneDomains& zone,
                                        const std::map<std::string, std::string>& ids) {
  std::vector<RRset> out;
  for (size_t index : zone.domains) {
    const DomainConfig& domain = config.domains.at(index);
    if (domain.is_alias()) {
      const DomainConfig* primary = config.find_domain(domain.alias_of);
      if (primary == nullptr || primary->is_alias()) {
        throw std::invalid_argument("alias domain '" + domain.name + "' names '" + domain.alias_of +
                                    "', which is not a policy domain");
      }
      add_alias_domain(domain, *primary, out);
      continue;
    }
    auto id = ids.find(domain.name);
    if (id == ids.end()) {
      throw std::invalid_argument("no policy id for domain '" + domain.name + "'");
    }
    add_policy_domain(domain, id->second, out);
  }
  std::sort(out.begin(), out.end(), canonical_less);
  return out;
}

std::map<std::string, std::vector<RRset>> desired_records(const Config& config,
                                                          const std::map<std::string, std::string>& ids) {
  std::map<std::string, std::vector<RRset>> zones;
  for (const ZoneDomains& zone : zones_of(config)) {
    zones.emplace_hint(zones.end(), zone.zone, desired_zone_records(config, zone, ids));
  }
  return zones;
}

}  // namespace stsctl

#pragma once
// Pure: from configuration and policy ids to the records stsctl wants.

#include "config/config.h"
#include "policy/policy.h"
#include "records/rrset.h"

#include <map>
#include <string>
#include <vector>

namespace stsctl {

/// The effective policy of one policy domain (mode/max_age may come from a
/// rollout stage rather than the config).
struct DomainPolicy {
  std::string domain;
  Policy policy;
  std::string text;  // policy_text(policy)
  std::string hash;  // policy_hash(policy)
};

/// Canonical text and hash for `policy` as the policy of `domain` (the
/// rollout code passes a stage's mode/max_age here).
DomainPolicy make_domain_policy(const std::string& domain, const Policy& policy);

/// The effective policy of every policy (non-alias) domain, from its config
/// alone (mode, max_age, mx; a retiring domain gets mode none), in the
/// config's domain order.
std::vector<DomainPolicy> domain_policies(const Config& config);

/// Every RRset stsctl owns for one domain: the names and types it may create,
/// change or delete: _mta-sts and _smtp._tls TXT (RFC 8461 section 3.1, RFC 8460
/// section 3), mta-sts A/AAAA/CNAME and CAA (RFC 8659); nothing else is touched.
std::vector<RRsetKey> owned_rrsets(const std::string& domain);

/// True when a TXT value at an owned name belongs to stsctl ("v=STSv1" at
/// _mta-sts, "v=TLSRPTv1" at _smtp._tls); other TXT values there are foreign.
bool is_owned_txt(const std::string& owner, const std::string& value);

/// One zone and the domains whose records it holds (indexes into
/// config.domains, in config order).
struct ZoneDomains {
  std::string zone;  // no trailing dot
  std::vector<size_t> domains;
};

/// Every zone of the config, in name order (the key order of desired_records).
std::vector<ZoneDomains> zones_of(const Config& config);

/// The desired RRsets of one zone from zones_of(), in canonical order; the
/// same as desired_records(config, ids)[zone.zone], without building every
/// other zone (render zone streams 100,000 zones this way).
std::vector<RRset> desired_zone_records(const Config& config, const ZoneDomains& zone,
                                        const std::map<std::string, std::string>& ids);

/// All desired records, grouped by zone (key: zone name, no trailing dot),
/// each zone's RRsets in canonical order. `ids` maps policy domain -> id; an
/// alias gets CNAMEs to its primary's names. Throws std::invalid_argument
/// naming the domain when a policy domain has no id in `ids`, or an alias
/// names a domain that is not a policy domain.
std::map<std::string, std::vector<RRset>> desired_records(const Config& config,
                                                          const std::map<std::string, std::string>& ids);

}  // namespace stsctl

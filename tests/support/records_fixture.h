#pragma once
// A resolved sample Config built in code (no YAML), shaped like the example
// in PRODUCT.md, for tests of the pure core and of anything built on it.

#include "config/config.h"
#include "records/rrset.h"

#include <map>
#include <string>
#include <vector>

namespace stsctl::test {

/// An RRset with its values normalized (sorted, unique), as providers and
/// the planner hold them.
RRset rrset(const std::string& owner, RRType type, std::vector<std::string> values, uint32_t ttl = 3600);

/// A policy domain with the PRODUCT.md defaults: zone = name, TTL 3600,
/// testing/86400, mx "mail.<name>", TLS-RPT to two rua URIs, policy host
/// 192.0.2.40 + 2001:db8::40, CAA issue letsencrypt.org + iodef, timestamp ids.
DomainConfig sample_policy_domain(const std::string& name);

/// An alias domain of `primary` (zone = name, TTL 3600).
DomainConfig sample_alias_domain(const std::string& name, const std::string& primary);

/// Domains (sorted by name):
///  - example.com: alias of example.net
///  - example.net: enforce/604800 (pinned), mx mail.example.net + *.mx.example.net
///  - example.org: alias of example.net, provider "bind"
///  - old.example: mx mail.example.net, retire (publish mode none), no TLS-RPT
///  - shop.example.net: in zone example.net, policy host CNAME web.example.net,
///    no TLS-RPT, serial ids
/// Providers "pdns" (powerdns, key from env PDNS_API_KEY) and "bind" (rfc2136,
/// secret from env TSIG_SECRET); three rollout stages; no web root.
Config sample_config();

/// An id for every policy domain of `config`, all `id`.
std::map<std::string, std::string> sample_ids(const Config& config, const std::string& id = "20240101000000");

}  // namespace stsctl::test

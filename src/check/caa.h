#pragma once
// CAA (RFC 8659) as it bears on the policy host's certificate (pure, no I/O):
// which RRset is relevant for mta-sts.D, whether its records are well formed,
// and whether the CA that issued the served certificate may issue for it.

#include "check/dns_lookup.h"
#include "check/finding.h"

#include <optional>
#include <string>
#include <vector>

namespace stsctl {

/// The names whose CAA RRsets may apply to `host`, closest first: the host and
/// each parent up to (not including) the root (RFC 8659 section 3).
std::vector<std::string> caa_search_names(const std::string& host);

struct CaaRecord {
  int flags = 0;
  std::string tag;    // as published
  std::string value;  // as published
};

/// "<flags> <tag> <value>" (DnsAnswer's CAA text) split up; nullopt when it
/// does not have three fields.
std::optional<CaaRecord> parse_caa_text(const std::string& text);

/// Why an issue/issuewild value breaks RFC 8659 section 4.2's ABNF; nullopt
/// when it is well formed.
std::optional<std::string> caa_issue_value_error(const std::string& value);

/// The CAA identifiers (issuer domain names) of a well-known CA, from the
/// issuer organisation of its certificates; empty when unknown.
std::vector<std::string> caa_domains_for_issuer(const std::string& issuer_organization);

struct CaaInput {
  std::string host;                 // "mta-sts.example.net"
  std::vector<std::string> names;   // caa_search_names(host)
  std::vector<DnsAnswer> answers;   // one CAA answer per name
  bool certificate_seen = false;    // the served certificate's issuer is known
  std::string certificate_issuer;   // one line, for messages
  std::string issuer_organization;  // issuer O=
};

/// "policy.caa" findings: none when no CAA record applies.
std::vector<Finding> evaluate_caa(const CaaInput& input);

}  // namespace stsctl

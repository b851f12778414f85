#pragma once
// Strict parsers for what senders read (pure, no I/O): the policy file
// (RFC 8461 section 3.2), the _mta-sts TXT record (section 3.1) and the
// _smtp._tls TXT record (RFC 8460 section 3). Each returns the parsed values
// plus findings; a Fail finding means senders would reject or ignore it.

#include "check/finding.h"
#include "config/config.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace stsctl {

struct ParsedPolicy {
  bool valid = false;  // usable by a sender (no Fail finding)
  std::optional<PolicyMode> mode;
  std::optional<uint32_t> max_age;
  std::vector<std::string> mx;    // patterns as written (valid ones only)
  std::vector<Finding> findings;  // check_name "policy.syntax"
};

/// Parses a policy body. CRLF expected; LF-only lines are accepted with a warning.
ParsedPolicy parse_policy_body(const std::string& body);

struct ParsedStsRecord {
  bool valid = false;                      // exactly one v=STSv1 record with a valid id
  std::string id;                          // empty unless valid
  int sts_record_count = 0;                // records starting with v=STSv1
  std::vector<std::string> other_records;  // TXT at the same name not starting with v=STSv1
  std::vector<Finding> findings;           // "sts.record", "sts.id", "sts.other_txt"
};

/// `txts`: every TXT RDATA at _mta-sts.D, character-strings already joined
/// without separators (RFC 8461 3.1).
ParsedStsRecord parse_sts_records(const std::vector<std::string>& txts);

struct ParsedTlsRpt {
  bool valid = false;
  std::vector<std::string> rua;   // URIs as written
  std::vector<Finding> findings;  // "tlsrpt.record", "tlsrpt.rua"
};

/// `txts`: every TXT RDATA at _smtp._tls.D (joined as above).
ParsedTlsRpt parse_tlsrpt_records(const std::vector<std::string>& txts);

/// Closest known policy key when `key` looks like a misspelling of one
/// ("nmx" -> "mx", "Mode" -> "mode"); empty when nothing is close.
std::string suggest_policy_key(const std::string& key);

}  // namespace stsctl

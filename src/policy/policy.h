#pragma once
// The MTA-STS policy file (RFC 8461 section 3.2) in canonical form.

#include "config/config.h"

#include <string>
#include <vector>

namespace stsctl {

struct Policy {
  PolicyMode mode = PolicyMode::Testing;
  uint32_t max_age = 86400;
  std::vector<std::string> mx;  // canonical: lowercase, de-duplicated, sorted
};

/// Canonicalises mx (lowercase, strip trailing dot, sort, unique).
Policy make_policy(PolicyMode mode, uint32_t max_age, const std::vector<std::string>& mx);

/// "version: STSv1\r\nmode: M\r\nmx: a\r\n...max_age: N\r\n": the exact bytes
/// served and hashed. Same policy, same bytes.
std::string policy_text(const Policy& policy);

/// Lowercase hex SHA-256 of policy_text().
std::string policy_hash(const Policy& policy);
std::string sha256_hex(const std::string& bytes);

}  // namespace stsctl

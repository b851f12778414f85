#pragma once
// The record model shared by the core, the zone writer and the providers.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace stsctl {

enum class RRType { A, AAAA, CNAME, TXT, CAA, MX, NS, SOA };

const char* to_string(RRType type);
std::optional<RRType> rrtype_from_string(const std::string& text);

/// One RRset. Values are in stsctl's canonical form, the same for every
/// provider so that plan compares like with like:
///  - A / AAAA: inet_ntop text ("192.0.2.1", "2001:db8::1")
///  - CNAME, NS: absolute lowercase name with trailing dot
///  - TXT: the logical string, all character-strings joined, unquoted, unescaped
///  - CAA: `flags tag "value"` with '"' and '\' escaped (RFC 8659 presentation)
///  - MX: `preference exchange.` (exchange absolute, lowercase)
/// Values are kept sorted and unique (see normalize()).
struct RRset {
  std::string owner;  // absolute, lowercase, trailing dot: "_mta-sts.example.net."
  RRType type = RRType::TXT;
  uint32_t ttl = 3600;
  std::vector<std::string> values;

  void normalize();  // sorts and de-duplicates values
  bool operator==(const RRset& other) const;
  bool operator!=(const RRset& other) const { return !(*this == other); }
};

/// An RRset's identity: owner name + type.
struct RRsetKey {
  std::string owner;
  RRType type = RRType::TXT;
  bool operator<(const RRsetKey& other) const;
  bool operator==(const RRsetKey& other) const;
};

/// Deterministic order used everywhere: owner (DNS canonical order, RFC 4034
/// section 6.1: by reversed labels), then type in the order of the enum.
bool canonical_less(const RRset& a, const RRset& b);
bool canonical_name_less(const std::string& a, const std::string& b);

/// CAA value in canonical form: `0 issue "letsencrypt.org"`.
std::string caa_value(uint8_t flags, const std::string& tag, const std::string& value);

}  // namespace stsctl

#pragma once
// Pure conversions between PowerDNS API record content (zone-file
// presentation format) and stsctl's canonical RRset values (records/rrset.h).
// No I/O; unit-tested without a server.

#include "records/rrset.h"

#include <optional>
#include <string>
#include <vector>

namespace stsctl::powerdns {

/// Parses TXT presentation content (`"a" "b\"c" "\059"`) into the logical
/// string: character-strings joined without separator, escapes (\" \\ \DDD,
/// \X) resolved. An unquoted word counts as one character-string.
/// nullopt when the content is malformed (unterminated quote, bad \DDD).
std::optional<std::string> parse_txt_content(const std::string& content);

/// Formats a logical TXT string for the API: always quoted, split into
/// character-strings of at most 255 octets (RFC 1035 3.3), '"' and '\'
/// escaped, bytes outside printable ASCII as \DDD.
std::string format_txt_content(const std::string& logical);

/// API content -> canonical value for `type`. A malformed value is returned
/// as-is (trimmed), so it compares unequal to any desired value and a plan
/// replaces it instead of the read failing.
std::string canonical_value(RRType type, const std::string& content);

/// Canonical value -> API content for `type` (TXT quoted and split; the other
/// canonical forms are already presentation format).
std::string api_content(RRType type, const std::string& value);

}  // namespace stsctl::powerdns

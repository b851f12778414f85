#pragma once
// Host and domain name syntax (RFC 1035 LDH, RFC 1123), without I/O.

#include <optional>
#include <string>

namespace stsctl {

/// Lowercases and strips one trailing dot.
std::string normalize_name(const std::string& name);

/// nullopt when `name` (already normalised) is a valid LDH host name: labels
/// of letters, digits and inner hyphens, 1-63 octets each, at most 253 in all,
/// at least two labels. Otherwise a short reason ("label 'a_b' has '_'").
std::optional<std::string> host_name_error(const std::string& name);

/// Like host_name_error, but "*." may stand as the whole leftmost label.
std::optional<std::string> mx_pattern_error(const std::string& pattern);

/// True when `name` equals `zone` or lies below it (both normalised).
bool is_in_zone(const std::string& name, const std::string& zone);

/// RFC 8461 section 4.1: "*" matches exactly one leftmost label; case-insensitive.
bool mx_pattern_matches(const std::string& pattern, const std::string& host);

/// Absolute form with a trailing dot.
std::string absolute(const std::string& name);

}  // namespace stsctl

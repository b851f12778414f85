#pragma once
// UTC time values as unix seconds, and their RFC 3339 text.

#include <cstdint>
#include <optional>
#include <string>

namespace stsctl {

/// Parses RFC 3339 ("2026-11-22T15:00:00Z", "...+02:00", fractional seconds
/// ignored) or a plain date "2026-11-22" (midnight UTC). nullopt when invalid.
std::optional<int64_t> parse_rfc3339(const std::string& text);

/// "2026-11-22T15:00:00Z".
std::string format_rfc3339(int64_t unix_seconds);

/// "2026-11-22".
std::string format_date(int64_t unix_seconds);

/// "7d", "12h", "1d 6h", "45m" (the largest units, at most two).
std::string format_duration(int64_t seconds);

}  // namespace stsctl

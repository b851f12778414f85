#pragma once
// ASCII text helpers shared by the parsers: DNS names, policy keys and
// report fields are case-insensitive ASCII (RFC 4343, RFC 8461 section 3.2),
// so these never consult the locale.

#include <string>
#include <string_view>

namespace stsctl {

/// `text` with A-Z mapped to a-z; other bytes unchanged.
std::string ascii_lower(std::string_view text);

/// `text` without leading and trailing spaces, tabs, CR and LF.
std::string_view trim(std::string_view text);

/// Whether `a` and `b` are equal ignoring ASCII case.
bool iequals(std::string_view a, std::string_view b);

}  // namespace stsctl

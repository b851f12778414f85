#pragma once
// BIND zone-file fragments (RFC 1035 section 5 presentation format).

#include "records/rrset.h"

#include <string>
#include <vector>

namespace stsctl {

/// One fragment: a comment header naming the zone, then one line per record
/// `owner. TTL IN TYPE rdata` with absolute names, in canonical order. TXT
/// values are quoted, '"' and '\' escaped, non-printables as \DDD, and split
/// into character-strings of at most 255 octets.
std::string render_zone_fragment(const std::string& zone, const std::vector<RRset>& rrsets);

/// TXT rdata in presentation form: "\"part1\" \"part2\"".
std::string txt_presentation(const std::string& logical_value);

}  // namespace stsctl

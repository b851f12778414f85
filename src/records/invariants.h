#pragma once

#include "records/rrset.h"

#include <string>
#include <vector>

namespace stsctl {

/// Problems in one zone's records: a CNAME beside any other data at its
/// owner, two RRsets with one owner+type, a name outside the zone, an empty
/// RRset, a CNAME RRset with more than one value, an owner without its
/// trailing dot. Each problem reads "<owner> <TYPE>: <what>". Empty when all
/// hold.
std::vector<std::string> check_invariants(const std::string& zone, const std::vector<RRset>& rrsets);

}  // namespace stsctl

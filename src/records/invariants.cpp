#include "records/invariants.h"

#include "dns/name.h"

#include <map>
#include <set>

namespace stsctl {

std::vector<std::string> check_invariants(const std::string& zone, const std::vector<RRset>& rrsets) {
  std::vector<std::string> problems;
  const std::string zone_name = normalize_name(zone);
  std::set<std::pair<std::string, RRType>> seen;
  std::map<std::string, std::set<RRType>> types_at_owner;

  for (const auto& rrset : rrsets) {
    const std::string where = rrset.owner + " " + to_string(rrset.type) + ": ";
    const std::string owner = normalize_name(rrset.owner);
    if (rrset.owner.empty() || rrset.owner.back() != '.') {
      problems.push_back(where + "owner is not absolute (no trailing dot)");
    }
    if (!is_in_zone(owner, zone_name)) {
      problems.push_back(where + "name is outside zone " + zone_name);
    }
    if (rrset.values.empty()) {
      problems.push_back(where + "RRset is empty");
    }
    if (rrset.type == RRType::CNAME && rrset.values.size() > 1) {
      problems.push_back(where + "CNAME has " + std::to_string(rrset.values.size()) +
                         " values (at most one)");
    }
    if (!seen.insert({owner, rrset.type}).second) {
      problems.push_back(where + "more than one RRset with this owner and type");
    }
    types_at_owner[owner].insert(rrset.type);
  }

  // RFC 1034 section 3.6.2: a CNAME owner holds no other data.
  for (const auto& [owner, types] : types_at_owner) {
    if (types.count(RRType::CNAME) == 0 || types.size() == 1) {
      continue;
    }
    std::string others;
    for (RRType type : types) {
      if (type != RRType::CNAME) {
        others += std::string(others.empty() ? "" : ", ") + to_string(type);
      }
    }
    problems.push_back(owner + ". CNAME: CNAME beside other data (" + others + ")");
  }
  return problems;
}

}  // namespace stsctl

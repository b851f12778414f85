#include "records/invariants.h"

#include "dns/name.h"

#include <algorithm>
#include <tuple>
#include <utility>

namespace stsctl {

std::vector<std::string> check_invariants(const std::string& zone, const std::vector<RRset>& rrsets) {
  // Runs on every zone of every render: one sorted vector instead of a set
  // and a map per zone.
  std::vector<std::pair<size_t, std::string>> found;  // (RRset index, problem)
  const std::string zone_name = normalize_name(zone);
  struct Key {
    std::string owner;
    RRType type;
    size_t index;
  };
  std::vector<Key> keys;
  keys.reserve(rrsets.size());

  for (size_t i = 0; i < rrsets.size(); ++i) {
    const RRset& rrset = rrsets[i];
    auto problem = [&](const std::string& what) {
      found.emplace_back(i, rrset.owner + " " + to_string(rrset.type) + ": " + what);
    };
    std::string owner = normalize_name(rrset.owner);
    if (rrset.owner.empty() || rrset.owner.back() != '.') {
      problem("owner is not absolute (no trailing dot)");
    }
    if (!is_in_zone(owner, zone_name)) {
      problem("name is outside zone " + zone_name);
    }
    if (rrset.values.empty()) {
      problem("RRset is empty");
    }
    if (rrset.type == RRType::CNAME && rrset.values.size() > 1) {
      problem("CNAME has " + std::to_string(rrset.values.size()) + " values (at most one)");
    }
    keys.push_back({std::move(owner), rrset.type, i});
  }

  std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
    return std::tie(a.owner, a.type, a.index) < std::tie(b.owner, b.type, b.index);
  });
  for (size_t k = 1; k < keys.size(); ++k) {
    if (keys[k].owner == keys[k - 1].owner && keys[k].type == keys[k - 1].type) {
      const RRset& rrset = rrsets[keys[k].index];
      found.emplace_back(keys[k].index, rrset.owner + " " + to_string(rrset.type) +
                                            ": more than one RRset with this owner and type");
    }
  }
  std::stable_sort(found.begin(), found.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> problems;
  problems.reserve(found.size());
  for (auto& [index, text] : found) {
    problems.push_back(std::move(text));
  }

  // RFC 1034 section 3.6.2: a CNAME owner holds no other data.
  for (size_t start = 0; start < keys.size();) {
    size_t end = start;
    bool has_cname = false;
    std::string others;
    for (; end < keys.size() && keys[end].owner == keys[start].owner; ++end) {
      if (keys[end].type == RRType::CNAME) {
        has_cname = true;
      } else if (end == start || keys[end].type != keys[end - 1].type) {
        others += std::string(others.empty() ? "" : ", ") + to_string(keys[end].type);
      }
    }
    if (has_cname && !others.empty()) {
      problems.push_back(keys[start].owner + ". CNAME: CNAME beside other data (" + others + ")");
    }
    start = end;
  }
  return problems;
}

}  // namespace stsctl

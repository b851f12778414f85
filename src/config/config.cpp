#include "config/config.h"

#include <algorithm>

namespace stsctl {

const char* to_string(PolicyMode mode) {
  switch (mode) {
    case PolicyMode::Testing:
      return "testing";
    case PolicyMode::Enforce:
      return "enforce";
    case PolicyMode::None:
      return "none";
  }
  return "testing";
}

const char* to_string(IdFormat format) {
  switch (format) {
    case IdFormat::Timestamp:
      return "timestamp";
    case IdFormat::Serial:
      return "serial";
    case IdFormat::Hash:
      return "hash";
  }
  return "timestamp";
}

const DomainConfig* Config::find_domain(const std::string& name) const {
  auto it = std::lower_bound(domains.begin(), domains.end(), name,
                             [](const DomainConfig& d, const std::string& n) { return d.name < n; });
  return it != domains.end() && it->name == name ? &*it : nullptr;
}

}  // namespace stsctl

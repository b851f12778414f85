#include "provider.h"
#include "util/secrets.h"

#include "powerdns/powerdns_provider.h"
#include "rfc2136/rfc2136_provider.h"

#include <functional>
#include <map>

namespace stsctl {

namespace {

using Factory = std::function<std::unique_ptr<Provider>(const ProviderConfig&)>;

const std::map<std::string, Factory>& factories() {
  static const std::map<std::string, Factory> table = {
#ifdef STSCTL_WITH_POWERDNS
      {"powerdns", make_powerdns_provider},
#endif
#ifdef STSCTL_WITH_RFC2136
      {"rfc2136", make_rfc2136_provider},
#endif
  };
  return table;
}

}  // namespace

static CallLimits& default_limits() {
  static CallLimits limits;
  return limits;
}

std::unique_ptr<Provider> make_provider(const ProviderConfig& config) {
  auto it = factories().find(config.type);
  if (it == factories().end()) {
    throw ProviderError(ProviderError::Kind::Other, "provider '" + config.name + "': type '" + config.type +
                                                        "' is not built into this stsctl");
  }
  std::unique_ptr<Provider> provider = it->second(config);
  provider->set_limits(default_limits());
  return provider;
}

void set_default_call_limits(const CallLimits& limits) { default_limits() = limits; }

void set_provider_log(std::function<void(const std::string& line)> log) {
  // Log lines may quote what a server sent: scrub them on the way out.
  std::function<void(const std::string& line)> scrubbed;
  if (log) {
    scrubbed = [log = std::move(log)](const std::string& line) { log(scrub(line)); };
  }
#ifdef STSCTL_WITH_POWERDNS
  set_powerdns_log(scrubbed);
#endif
  (void)scrubbed;
}

std::vector<std::string> provider_types() {
  std::vector<std::string> types;
  for (const auto& entry : factories()) {
    types.push_back(entry.first);
  }
  return types;
}

}  // namespace stsctl

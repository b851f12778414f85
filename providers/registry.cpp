#include "provider.h"
#include "util/secrets.h"

#include "powerdns/powerdns_provider.h"
#include "rfc2136/rfc2136_provider.h"

#include <functional>
#include <map>

namespace stsctl {

namespace {

using Factory = std::function<std::unique_ptr<Provider>(const ProviderConfig&, const ProviderLog&)>;

const std::map<std::string, Factory>& factories() {
  static const std::map<std::string, Factory> table = {
#ifdef STSCTL_WITH_POWERDNS
      {"powerdns", [](const ProviderConfig& config,
                      const ProviderLog& log) { return make_powerdns_provider_with_log(config, log); }},
#endif
#ifdef STSCTL_WITH_RFC2136
      {"rfc2136",
       [](const ProviderConfig& config, const ProviderLog&) { return make_rfc2136_provider(config); }},
#endif
  };
  return table;
}

}  // namespace

std::unique_ptr<Provider> make_provider(const ProviderConfig& config, const ProviderLog& log) {
  auto it = factories().find(config.type);
  if (it == factories().end()) {
    throw ProviderError(ProviderError::Kind::Other, "provider '" + config.name + "': type '" + config.type +
                                                        "' is not built into this stsctl");
  }
  // Log lines may quote what a server sent: scrubbed on the way out.
  ProviderLog scrubbed;
  if (log) {
    scrubbed = [log](const std::string& line) { log(scrub(line)); };
  }
  return it->second(config, scrubbed);
}

std::vector<std::string> provider_types() {
  std::vector<std::string> types;
  for (const auto& entry : factories()) {
    types.push_back(entry.first);
  }
  return types;
}

}  // namespace stsctl

#include "powerdns/powerdns_provider.h"

namespace stsctl {

// Placeholder until the backend lands.
std::unique_ptr<Provider> make_powerdns_provider(const ProviderConfig& config) {
  throw ProviderError(ProviderError::Kind::Other, "provider '" + config.name + "': powerdns backend not built yet");
}

}  // namespace stsctl

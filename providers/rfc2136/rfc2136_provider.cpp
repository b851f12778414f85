#include "rfc2136/rfc2136_provider.h"

namespace stsctl {

// Placeholder until the backend lands.
std::unique_ptr<Provider> make_rfc2136_provider(const ProviderConfig& config) {
  throw ProviderError(ProviderError::Kind::Other, "provider '" + config.name + "': rfc2136 backend not built yet");
}

}  // namespace stsctl

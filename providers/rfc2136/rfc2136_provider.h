#pragma once
// Any RFC 2136 server (BIND, Knot, ...): TSIG-signed UPDATE, one per zone.

#include "provider.h"

namespace stsctl {

std::unique_ptr<Provider> make_rfc2136_provider(const ProviderConfig& config);

}  // namespace stsctl

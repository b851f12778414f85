#pragma once
// PowerDNS Authoritative through its HTTP API (one PATCH per zone, atomic).

#include "provider.h"

namespace stsctl {

std::unique_ptr<Provider> make_powerdns_provider(const ProviderConfig& config);

}  // namespace stsctl

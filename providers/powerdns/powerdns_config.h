#pragma once
// The powerdns block of providers.P: its keys, their rules and the settings
// the provider is built from.

#include "provider_config.h"

#include <string>

namespace stsctl {

struct PowerdnsConfig : BackendConfig {
  std::string name;  // key in providers:
  double timeout_seconds = 10;
  std::string url;  // without trailing slash
  std::string server_id = "localhost";
  std::string api_key_file;  // absolute path, or empty
  std::string api_key_env;   // environment variable name, or empty
  std::string ca_file;       // absolute path, or empty
  bool notify = false;
};

/// type: powerdns, for the registry.
ProviderBackend powerdns_backend();

}  // namespace stsctl

#pragma once
// A backend as the registry knows it: how its config block is read
// (BackendConfigSchema, used by the loader) and how the provider is built
// from what was read. Each backend folder gives one (powerdns_backend(),
// rfc2136_backend()); registry.cpp lists them.

#include "config/backend_schema.h"
#include "config/diagnostic.h"
#include "provider.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace stsctl {

struct ProviderBackend {
  BackendConfigSchema config;
  /// Builds the provider from a ProviderConfig whose settings `config.read` made.
  std::function<std::unique_ptr<Provider>(const ProviderConfig&, const ProviderLog&)> make;
  /// validate's checks of the files the settings name, beyond the loader's
  /// (which never opens them); may be empty.
  std::function<std::vector<Diagnostic>(const ProviderConfig&, const Config&)> check_files;
};

/// The backend's own settings in `config`; throws ProviderError (Other) when
/// they are of another type (a ProviderConfig not made by the loader).
template <typename Settings>
const Settings& settings_of(const ProviderConfig& config) {
  const auto* settings = dynamic_cast<const Settings*>(config.settings.get());
  if (settings == nullptr) {
    throw ProviderError(ProviderError::Kind::Other,
                        "provider '" + config.name + "': failed to read the settings of type '" +
                            config.type +
                            "' (they are another backend's): build the config with provider_config() and the "
                            "settings of that type");
  }
  return *settings;
}

/// A ProviderConfig holding `settings` (what tests and tools build by hand).
template <typename Settings>
ProviderConfig provider_config(const std::string& type, const Settings& settings) {
  return ProviderConfig{settings.name, type, std::make_shared<const Settings>(settings)};
}

/// The reference row of providers.P.timeout, shared by the backends.
ConfigKey provider_timeout_row();

/// providers.P.timeout of `block`, or `fallback` when absent or invalid (reported).
double read_provider_timeout(config_reader::YamlReader& reader, const config_reader::MapView& block,
                             double fallback);

/// validate's file checks of every provider in `config` (ProviderBackend::check_files).
std::vector<Diagnostic> check_provider_files(const Config& config);

}  // namespace stsctl

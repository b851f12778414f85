#include "provider_config.h"
#include "util/secrets.h"

#include "powerdns/powerdns_config.h"
#include "rfc2136/rfc2136_config.h"

#include <algorithm>

namespace stsctl {

namespace {

// One line per backend.
const std::vector<ProviderBackend>& backends() {
  static const std::vector<ProviderBackend> table = {
#ifdef STSCTL_WITH_POWERDNS
      powerdns_backend(),
#endif
#ifdef STSCTL_WITH_RFC2136
      rfc2136_backend(),
#endif
  };
  return table;
}

const ProviderBackend* find_backend(const std::string& type) {
  auto it = std::find_if(backends().begin(), backends().end(),
                         [&](const ProviderBackend& backend) { return backend.config.type == type; });
  return it == backends().end() ? nullptr : &*it;
}

}  // namespace

const std::vector<BackendConfigSchema>& backend_config_schemas() {
  static const std::vector<BackendConfigSchema> schemas = [] {
    std::vector<BackendConfigSchema> out;
    for (const ProviderBackend& backend : backends()) {
      out.push_back(backend.config);
    }
    return out;
  }();
  return schemas;
}

std::unique_ptr<Provider> make_provider(const ProviderConfig& config, const ProviderLog& log) {
  const ProviderBackend* backend = find_backend(config.type);
  if (backend == nullptr) {
    std::string built_in;
    for (const ProviderBackend& known : backends()) {
      built_in += (built_in.empty() ? "" : ", ") + known.config.type;
    }
    throw ProviderError(
        ProviderError::Kind::Other,
        "provider '" + config.name + "': failed to make a provider of type '" + config.type +
            "' (not built into this stsctl; built in: " + (built_in.empty() ? "none" : built_in) +
            "): use a built-in type, or a stsctl built with that backend");
  }
  // Log lines may quote what a server sent: scrubbed on the way out.
  ProviderLog scrubbed;
  if (log) {
    scrubbed = [log](const std::string& line) { log(scrub(line)); };
  }
  return backend->make(config, scrubbed);
}

ConfigKey provider_timeout_row() {
  return {"providers.P.timeout", "number", "10", "seconds, above 0 and up to 3600", "Time per request."};
}

double read_provider_timeout(config_reader::YamlReader& reader, const config_reader::MapView& block,
                             double fallback) {
  const config_reader::Entry* timeout = block.find("timeout");
  return timeout == nullptr ? fallback : reader.read_timeout(*timeout).value_or(fallback);
}

std::vector<Diagnostic> check_provider_files(const Config& config) {
  std::vector<Diagnostic> problems;
  for (const auto& [name, provider] : config.providers) {
    const ProviderBackend* backend = find_backend(provider.type);
    if (backend != nullptr && backend->check_files) {
      auto found = backend->check_files(provider, config);
      problems.insert(problems.end(), found.begin(), found.end());
    }
  }
  return problems;
}

}  // namespace stsctl

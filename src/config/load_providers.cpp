#include "config/loader.h"

#include <algorithm>

#include "config/backend_schema.h"

namespace stsctl::config_reader {

namespace {

/// "a", "a or b", "a, b or c".
std::string or_list(const Keys& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  }
  return out;
}

/// The keys a block of `schema` allows: type, then those directly under providers.P.
Keys block_keys(const BackendConfigSchema& schema) {
  const std::string prefix = "providers.P.";
  Keys keys = {"type"};
  for (const ConfigKey& row : schema.keys) {
    std::string rest = row.path.substr(prefix.size());
    if (rest.find_first_of(".[") == std::string::npos && !contains(keys, rest)) {
      keys.push_back(rest);
    }
  }
  return keys;
}

}  // namespace

void Loader::read_providers(const Entry& entry, Config* config) {
  if (entry.value.IsNull()) {
    return;
  }
  const std::vector<BackendConfigSchema>& schemas = backend_config_schemas();
  Keys types;
  for (const BackendConfigSchema& schema : schemas) {
    types.push_back(schema.type);
  }
  // Before the type is known, the first backend's advice on secrets stands.
  const BackendConfigSchema* first = schemas.empty() ? nullptr : &schemas.front();
  const char* any_secret_message =
      first != nullptr ? first->secret_message : "secrets must not be written in the config";
  std::string example = first != nullptr ? first->example : "{type: ...}";
  std::string hint =
      first != nullptr ? " of providers (like " + first->example_name + ": {type: " + first->type + ", ...})"
                       : " of providers";
  auto providers = read_map(entry.value, entry.key.Mark(), entry.path, {}, hint, any_secret_message);
  if (!providers) {
    return;
  }
  for (const Entry& item : providers->entries) {
    m_declared_providers.insert(item.name);
    bool name_ok = std::all_of(item.name.begin(), item.name.end(),
                               [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_'; });
    if (item.name.empty() || !name_ok) {
      error(item.key.Mark(), item.path,
            "provider name '" + item.name + "' may contain only letters, digits, '-' and '_'");
      continue;
    }
    if (!item.value.IsMap()) {
      error(value_mark(item), item.path,
            "expected a map (like " + example + "), got " + type_name(item.value));
      continue;
    }
    // The type decides which keys are allowed, so look at it first.
    std::optional<std::string> type;
    bool has_type = false;
    for (auto it = item.value.begin(); it != item.value.end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == "type") {
        has_type = true;
        Entry type_entry{"type", it->first, it->second, join(item.path, "type")};
        type = read_choice(type_entry, types);
        break;
      }
    }
    if (!has_type) {
      error(item.key.Mark(), item.path, "type is required (" + or_list(types) + ")");
    }
    if (!type) {
      // Still refuse inline secrets, whatever the type.
      std::string path = item.path;
      scan_secrets(item.value, &path, any_secret_message);
      continue;
    }
    const BackendConfigSchema& schema = *std::find_if(
        schemas.begin(), schemas.end(), [&](const BackendConfigSchema& s) { return s.type == *type; });
    auto view =
        read_map(item.value, item.key.Mark(), item.path, block_keys(schema), "", schema.secret_message);
    if (!view) {
      continue;
    }
    ProviderConfig provider;
    provider.name = item.name;
    provider.type = *type;
    provider.settings = schema.read(*this, *view, item);
    config->providers[item.name] = provider;
  }
}

}  // namespace stsctl::config_reader

#pragma once
// How the loader reads a providers.P block: the backend of its `type` declares
// the keys (as reference rows) and reads them. The backends live in
// providers/; their registry (providers/registry.cpp) defines
// backend_config_schemas(), so the core knows no backend field.

#include "config/config.h"
#include "config/reference.h"
#include "config/yaml_readers.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace stsctl {

struct BackendConfigSchema {
  std::string type;  // the `type:` value
  /// Reference rows of the block ("providers.P.url", ...), in manual order;
  /// the names directly under providers.P, after "type", are the block's
  /// allowed keys. A row shared by several backends is listed by each.
  std::vector<ConfigKey> keys;
  /// For hints: a provider name and a block, like "pdns" and
  /// "{type: powerdns, url: ...}".
  std::string example_name;
  std::string example;
  /// Refuses a key that would hold a secret inline, naming what to use instead.
  const char* secret_message = "";
  /// Reads the block (its keys already checked) and reports through `reader`;
  /// `provider` is the providers.P pair. The result is kept even with errors.
  std::function<std::shared_ptr<const BackendConfig>(config_reader::YamlReader& reader,
                                                     const config_reader::MapView& block,
                                                     const config_reader::Entry& provider)>
      read;
};

/// Every backend built into this stsctl, in registry order.
const std::vector<BackendConfigSchema>& backend_config_schemas();

}  // namespace stsctl

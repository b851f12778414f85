#pragma once
// The config reference: every key of stsctl.yaml with its type, default and
// allowed values. One table feeds stsctl.yaml(5), the README's reference and
// the JSON Schema, and a test checks it against the loader's key lists, so
// none of them can drift from what `validate` accepts.

#include <string>
#include <vector>

namespace stsctl {

struct ConfigKey {
  /// Dotted path; `D` stands for a domain name, `P` for a provider name,
  /// `[]` for a list item. A map's own entry comes before its keys.
  std::string path;
  /// "integer", "number", "string", "boolean", "map", "list", or "string list".
  std::string type;
  std::string default_value;  // "" when there is none
  std::string allowed;        // what validate accepts, in words
  std::string description;
  /// Provider keys: the backend `type` they belong to; else "" (all).
  std::string only_for = "";
  /// The exact values allowed, when they are a fixed list (for the schema).
  std::vector<std::string> choices = {};
};

/// Every key, in the order the manual lists them.
const std::vector<ConfigKey>& config_reference();

/// The keys directly under `map_path` ("" for the root), in table order;
/// under "providers.P" only those for provider type `only_for`.
std::vector<std::string> config_keys_under(const std::string& map_path, const std::string& only_for = "");

}  // namespace stsctl

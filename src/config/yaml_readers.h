#pragma once
// Typed readers over the YAML tree: each reads one kind of value, reports
// what is wrong with file:line:col and the key path, and returns nullopt on
// error. Shared by the config loader and the backends' config blocks
// (providers/*/..._config.cpp), so every diagnostic reads the same.

#include "config/diagnostic.h"
#include "config/yaml_tree.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace stsctl::config_reader {

using Keys = std::vector<std::string>;

// Beyond this many diagnostics only the count is kept: an error repeated
// 100,000 times says nothing the first hundred did not.
constexpr size_t k_max_diagnostics = 100;
// Diagnostics kept for sorting into file order before the first
// k_max_diagnostics are chosen; beyond this they are only counted.
constexpr size_t k_kept_diagnostics = 10000;

const yaml::Mark k_top{0, 0, 0};  // line 1, column 1: for what is missing from the whole file

std::string join(const std::string& path, const std::string& key);
std::string list_text(const Keys& keys);
bool contains(const Keys& keys, const std::string& key);
/// "a string", "a number", "a list", ...: what a node holds, for messages.
std::string type_name(const yaml::Node& node);
/// Whether a scalar was written as a number ("86400" in quotes or
/// `!!str 86400` is a string, whatever it looks like: YAML 1.2 core schema).
bool is_plain_number(const yaml::Node& node);
/// "a quoted string" / "a value tagged !!str": how a non-number was written.
std::string quoted_or_tagged(const yaml::Node& node);
/// "'x' is not one of a, b (did you mean 'a'?)".
std::string choice_message(const std::string& value, const Keys& allowed);
/// "'x' is not <what>: <reason>", or "expected <what>, got an empty string".
std::string name_message(const std::string& name, const std::string& what, const std::string& reason);

/// Remembers the line each key was first seen on. Settings maps hold a few
/// keys (a linear scan beats hashing); `domains:` holds up to 100,000. Keys
/// are views: the caller keeps each key's text alive and unmoved.
class FirstLines {
 public:
  explicit FirstLines(size_t expected);
  /// Records `key` at `line` and returns 0, or the earlier line when `key` was seen.
  int insert(std::string_view key, int line);

 private:
  static constexpr size_t k_linear_limit = 16;
  std::vector<std::pair<std::string_view, int>> m_small;
  std::unordered_map<std::string_view, int> m_index;
};

struct Entry {
  std::string name;
  yaml::Node key;
  yaml::Node value;
  std::string path;
};

// Where to point at a value: its own mark, or its key's when the value is
// empty (an empty value has the mark of the next token, as in yaml-cpp).
yaml::Mark value_mark(const Entry& entry);

struct MapView {
  std::vector<Entry> entries;  // first occurrence of each key, in file order

  const Entry* find(const std::string& name) const;
};

/// "host[:port]" -> "addr:port" maps (publish.connect_to, ...): how a key is
/// checked and what it is stored as, and the port a value may leave out.
struct HostPortMapRules {
  std::string hint;  // " (like {...})", for a value that is not a map
  /// The reason `written` is refused, else nullopt with `*key` set.
  std::function<std::optional<std::string>(const std::string& written, std::string* key)> check_key;
  uint16_t value_default_port = 0;  // 0: the value must give its port
};

class YamlReader {
 public:
  YamlReader(std::string file, std::string base_dir)
      : m_file(std::move(file)), m_base_dir(std::move(base_dir)) {}

  void error(const yaml::Mark& mark, const std::string& path, const std::string& message);

  /// Every diagnostic in file order, at most k_max_diagnostics of them;
  /// `more` gets how many were left out.
  std::vector<Diagnostic> take_diagnostics(size_t* more = nullptr);

  /// A map with only `allowed` keys (any key when empty). `secret_message`
  /// non-null: keys that would hold a secret inline are refused with it, and
  /// their values never read.
  std::optional<MapView> read_map(const yaml::Node& node, const yaml::Mark& where, const std::string& path,
                                  const Keys& allowed, const std::string& hint,
                                  const char* secret_message = nullptr);
  /// Reports every key below `node` that would hold a secret inline, once
  /// per place in the text (a node reached again through an alias is skipped).
  void scan_secrets(const yaml::Node& node, std::string* path, const char* secret_message);
  std::optional<std::vector<std::pair<yaml::Node, std::string>>> read_list(const Entry& entry,
                                                                           const std::string& hint);
  std::optional<std::string> read_string(const Entry& entry, const std::string& what = "a string");
  std::optional<std::string> read_nonempty(const Entry& entry, const std::string& what);
  std::optional<long long> read_integer(const yaml::Node& node, const yaml::Mark& mark,
                                        const std::string& path, const std::string& what);
  std::optional<uint32_t> read_ranged(const Entry& entry, long long low, long long high,
                                      const std::string& note, const std::string& what);
  std::optional<bool> read_bool(const Entry& entry);
  std::optional<double> read_timeout(const Entry& entry);
  /// A path, resolved against the config file's directory.
  std::optional<std::string> read_path(const Entry& entry);
  std::optional<std::string> read_env_name(const Entry& entry);
  std::optional<std::string> read_choice(const Entry& entry, const Keys& allowed);
  /// A "host[:port]" -> "addr:port" map; values kept as written.
  void read_host_port_map(const Entry& entry, const HostPortMapRules& rules,
                          std::map<std::string, std::string>* out);

  std::string resolve(const std::string& path) const;

  /// Runs body(i) for i in [0, count) on every core in batches; each batch's
  /// diagnostics join the others in index order, as if run in one loop.
  void for_each_in_batches(size_t count, const std::function<void(size_t)>& body);

 protected:
  size_t error_count() const { return m_error_count.load(); }
  const std::string& file() const { return m_file; }
  const std::string& base_dir() const { return m_base_dir; }

 private:
  void scan_secrets_below(const yaml::Node& node, std::string* path, const char* secret_message, int depth,
                          std::unordered_set<uint32_t>* scanned);
  // Where error() reports while a worker runs a batch of for_each_in_batches.
  static thread_local std::vector<Diagnostic>* t_batch_diagnostics;

  std::string m_file;
  std::string m_base_dir;
  std::vector<Diagnostic> m_diagnostics;
  std::atomic<size_t> m_error_count{0};
  std::atomic<size_t> m_dropped{0};  // errors beyond k_kept_diagnostics: counted only
};

}  // namespace stsctl::config_reader

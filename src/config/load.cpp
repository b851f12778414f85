#include "config/load.h"

#include <arpa/inet.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "config/edit_distance.h"
#include "config/values.h"
#include "config/yaml_tree.h"
#include "dns/name.h"
#include "util/parallel.h"

namespace stsctl {

namespace {

// TTL bounds: one minute keeps resolvers from hammering the servers; one week
// keeps a rollback reasonably fast.
constexpr long long k_min_ttl = 60;
constexpr long long k_max_ttl = 604800;
// max_age bounds: RFC 8461 section 3.2 caps max_age at 31557600 (one year); a
// day is the shortest value that gives senders any protection.
constexpr long long k_min_max_age = 86400;
constexpr long long k_max_max_age = 31557600;
constexpr double k_max_timeout = 3600;
// "_smtp._tls." is the longest prefix stsctl puts before a domain.
constexpr size_t k_longest_prefix = 11;
// No list in the config has a reason to be longer (a policy with 1000 mx
// patterns is already far past what any sender expects).
constexpr size_t k_max_list_items = 1000;
// Beyond this many diagnostics only the count is kept: an error repeated
// 100,000 times says nothing the first hundred did not.
constexpr size_t k_max_diagnostics = 100;
// Diagnostics kept for sorting into file order before the first
// k_max_diagnostics are chosen; beyond this they are only counted.
constexpr size_t k_kept_diagnostics = 10000;

using Keys = std::vector<std::string>;
const Keys k_root_keys = {"version", "defaults", "domains", "rollout", "providers", "publish", "state"};
const Keys k_defaults_keys = {"ttl", "provider", "policy", "tlsrpt", "policy_host", "caa", "id_format"};
const Keys k_domain_keys = {"zone",   "alias_of",    "provider", "ttl",       "mx",    "policy",
                            "tlsrpt", "policy_host", "caa",      "id_format", "retire"};
const Keys k_alias_keys = {"alias_of", "zone", "provider", "ttl"};
const Keys k_policy_keys = {"mode", "max_age"};
const Keys k_tlsrpt_keys = {"rua"};
const Keys k_policy_host_keys = {"ipv4", "ipv6", "cname"};
const Keys k_caa_keys = {"tag", "value", "flags"};
const Keys k_rollout_keys = {"stages", "gates"};
const Keys k_gates_keys = {"starttls", "smtp_port", "resolver", "ca_file", "connect_to", "timeout", "tlsrpt"};
const Keys k_tlsrpt_gate_keys = {"max_failure_rate", "min_sessions"};
const Keys k_stage_keys = {"mode", "max_age", "hold"};
const Keys k_powerdns_keys = {"type",        "url",     "server_id", "api_key_file",
                              "api_key_env", "ca_file", "timeout",   "notify"};
const Keys k_rfc2136_keys = {"type", "server", "tsig", "transport", "timeout", "allow_hmac_md5"};
const Keys k_tsig_keys = {"name", "algorithm", "secret_file", "secret_env"};
const Keys k_publish_keys = {"webroot", "verify", "ca_file", "connect_to", "timeout", "propagation"};
const Keys k_propagation_keys = {"timeout", "nameservers"};
const Keys k_modes = {"testing", "enforce", "none"};
const Keys k_id_formats = {"timestamp", "serial", "hash"};
const Keys k_caa_tags = {"issue", "issuewild", "iodef"};

const std::string k_no_name;
const yaml::Mark k_top{0, 0, 0};  // line 1, column 1: for what is missing from the whole file
const char* const k_number_hint = " (write a number without quotes or tag)";
const char* const k_powerdns_secret_message =
    "secrets must not be written in the config: use api_key_file or api_key_env";
const char* const k_tsig_secret_message =
    "secrets must not be written in the config: use secret_file or secret_env in tsig";

std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

std::string index_path(const std::string& path, size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

std::string list_text(const Keys& keys) {
  std::string out;
  for (size_t i = 0; i < keys.size(); ++i) {
    out += (i == 0 ? "" : ", ") + keys[i];
  }
  return out;
}

bool contains(const Keys& keys, const std::string& key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Keys that would hold a secret inline. Their values are never read or shown.
bool is_secret_key(const std::string& raw) {
  static const std::set<std::string> k_names = {
      "api_key",  "apikey",      "api-key", "key",       "secret",      "password",
      "passwd",   "pass",        "token",   "api_token", "tsig_secret", "secret_key",
      "tsig_key", "private_key", "psk",     "auth",      "credentials", "x-api-key"};
  std::string name = lowercase(raw);
  if (ends_with(name, "_file") || ends_with(name, "_env")) {
    return false;
  }
  return k_names.count(name) != 0 || name.find("secret") != std::string::npos ||
         name.find("password") != std::string::npos || name.find("token") != std::string::npos;
}

std::string type_name(const yaml::Node& node) {
  switch (node.Type()) {
    case yaml::NodeType::Scalar: {
      if (node.Tag() == "?") {
        const std::string& text = node.Scalar();
        char* end = nullptr;
        errno = 0;
        std::strtod(text.c_str(), &end);
        if (!text.empty() && end != nullptr && *end == '\0') {
          return "a number";
        }
        std::string lower = lowercase(text);
        if (lower == "true" || lower == "false") {
          return "a boolean";
        }
      }
      return "a string";
    }
    case yaml::NodeType::Sequence:
      return "a list";
    case yaml::NodeType::Map:
      return "a map";
    default:
      return "nothing";
  }
}

// A number must be written as one: "86400" in quotes or `!!str 86400` is a
// string, whatever it looks like (YAML 1.2 core schema).
bool is_plain_number(const yaml::Node& node) {
  std::string tag = node.Tag();
  return tag == "?" || tag == "tag:yaml.org,2002:int" || tag == "tag:yaml.org,2002:float";
}

// Never quotes the text: it is a value that had to be a number.
std::string quoted_or_tagged(const yaml::Node& node) {
  std::string tag = node.Tag();
  if (tag == "!") {
    return "a quoted string";
  }
  const std::string prefix = "tag:yaml.org,2002:";
  std::string shown = tag.rfind(prefix, 0) == 0 ? "!!" + tag.substr(prefix.size()) : tag;
  return "a value tagged " + shown;
}

std::string choice_message(const std::string& value, const Keys& allowed) {
  std::string message = "'" + value + "' is not one of " + list_text(allowed);
  std::string suggestion = spellcheck(value, allowed);
  if (!suggestion.empty()) {
    message += " (did you mean '" + suggestion + "'?)";
  }
  return message;
}

std::string name_message(const std::string& name, const std::string& what, const std::string& reason) {
  if (name.empty()) {
    return "expected " + what + ", got an empty string";
  }
  return "'" + name + "' is not " + what + ": " + reason;
}

bool is_env_name(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isalnum(c) || c == '_'; });
}

/// Remembers the line each key was first seen on. Settings maps hold a few
/// keys (a linear scan beats hashing); `domains:` holds up to 100,000. Keys
/// are views: the caller keeps each key's text alive and unmoved.
class FirstLines {
 public:
  explicit FirstLines(size_t expected) {
    if (expected > k_linear_limit) {
      m_index.reserve(expected);
    }
  }
  /// Records `key` at `line` and returns 0, or the earlier line when `key` was seen.
  int insert(std::string_view key, int line) {
    if (m_small.size() < k_linear_limit && m_index.empty()) {
      for (const auto& [name, first] : m_small) {
        if (name == key) {
          return first;
        }
      }
      m_small.emplace_back(key, line);
      return 0;
    }
    if (m_index.empty()) {
      m_index.insert(m_small.begin(), m_small.end());
    }
    auto [found, inserted] = m_index.emplace(key, line);
    return inserted ? 0 : found->second;
  }

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
yaml::Mark value_mark(const Entry& entry) {
  return entry.value.IsNull() || entry.value.Mark().is_null() ? entry.key.Mark() : entry.value.Mark();
}

struct MapView {
  std::vector<Entry> entries;  // first occurrence of each key, in file order

  const Entry* find(const std::string& name) const {
    for (const Entry& entry : entries) {
      if (entry.name == name) {
        return &entry;
      }
    }
    return nullptr;
  }
};

enum class Secrets { Allowed, PowerDns, Tsig };

// Settings that defaults: and each domain may give; unset when absent.
struct Settings {
  std::optional<uint32_t> ttl;
  const Entry* provider_entry = nullptr;
  std::string provider;
  std::optional<PolicyMode> mode;
  std::optional<uint32_t> max_age;
  bool tlsrpt_present = false;
  std::optional<std::vector<std::string>> rua;  // empty: explicitly none
  bool policy_host_present = false;
  std::optional<PolicyHost> policy_host;
  std::optional<std::vector<CaaEntry>> caa;
  std::optional<IdFormat> id_format;
};

struct PendingDomain {
  DomainConfig* config = nullptr;  // its slot in Config::domains, filled in place
  const Entry* item = nullptr;     // its pair in domains:
  bool valid = true;               // false: its settings are not a map (reported)
  std::string path;
  yaml::Mark key_mark;
  MapView view;
  Settings own;
  const Entry* zone_entry = nullptr;
  const Entry* alias_entry = nullptr;
  bool mx_present = false;
  std::optional<bool> retire;
};

class Loader {
 public:
  Loader(std::string file, std::string base_dir) : m_file(std::move(file)), m_base_dir(std::move(base_dir)) {}

  LoadResult run(const yaml::Node& root, const std::string& state_override);

  void error(const yaml::Mark& mark, const std::string& path, const std::string& message) {
    if (m_error_count.fetch_add(1) >= k_kept_diagnostics) {
      m_dropped.fetch_add(1);  // counted in "... and N more", not kept
      return;
    }
    Diagnostic diagnostic;
    diagnostic.file = m_file;
    if (!mark.is_null()) {
      diagnostic.line = mark.line + 1;
      diagnostic.column = mark.column + 1;
    }
    diagnostic.key_path = path;
    diagnostic.message = message;
    (t_batch_diagnostics != nullptr ? *t_batch_diagnostics : m_diagnostics).push_back(std::move(diagnostic));
  }

  /// Every diagnostic in file order, at most k_max_diagnostics of them;
  /// `more` gets how many were left out.
  std::vector<Diagnostic> take_diagnostics(size_t* more = nullptr) {
    std::stable_sort(m_diagnostics.begin(), m_diagnostics.end(),
                     [](const Diagnostic& a, const Diagnostic& b) {
                       return std::make_pair(a.line, a.column) < std::make_pair(b.line, b.column);
                     });
    size_t left_out = m_diagnostics.size() > k_max_diagnostics ? m_diagnostics.size() - k_max_diagnostics : 0;
    m_diagnostics.resize(m_diagnostics.size() - left_out);
    if (more != nullptr) {
      *more = left_out + m_dropped.load();
    }
    return std::move(m_diagnostics);
  }

 private:
  // Generic readers: each reports its own errors and returns nullopt on error.
  std::optional<MapView> read_map(const yaml::Node& node, const yaml::Mark& where, const std::string& path,
                                  const Keys& allowed, const std::string& hint,
                                  Secrets secrets = Secrets::Allowed);
  void scan_secrets(const yaml::Node& node, std::string* path, Secrets secrets, int depth = 0);
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
  std::optional<std::string> read_path(const Entry& entry);
  std::optional<std::string> read_env_name(const Entry& entry);
  std::optional<std::string> read_choice(const Entry& entry, const Keys& allowed);
  std::optional<uint32_t> read_max_age(const Entry& entry);

  // Sections.
  void read_version(const MapView& root);
  Settings read_settings(const MapView& view, bool on_domain);
  void read_policy(const Entry& entry, Settings* settings);
  void read_tlsrpt(const Entry& entry, Settings* settings);
  void read_policy_host(const Entry& entry, Settings* settings);
  void read_caa(const Entry& entry, Settings* settings);
  void read_domains(const Entry* entry, const Settings& defaults, Config* config);
  void read_providers(const Entry& entry, Config* config);
  void read_powerdns(const MapView& view, const Entry& provider, ProviderConfig* out);
  void read_rfc2136(const MapView& view, const Entry& provider, ProviderConfig* out);
  void read_tsig(const Entry& entry, bool allow_md5, TsigConfig* out);
  void read_rollout(const Entry& entry, Config* config);
  void read_gates(const Entry& entry, RolloutGates* gates);
  void read_tlsrpt_gate(const Entry& entry, RolloutGates* gates);
  void read_publish(const Entry& entry, Config* config);
  void read_propagation(const Entry& entry, PublishConfig* publish);
  void check_provider(const Entry& entry, const std::string& name, const Config& config);

  std::string resolve(const std::string& path) const {
    std::filesystem::path p(path);
    if (p.is_absolute()) {
      return p.lexically_normal().string();
    }
    return (std::filesystem::path(m_base_dir) / p).lexically_normal().string();
  }

  /// Runs body(i) for i in [0, count) on every core in batches; each batch's
  /// diagnostics join m_diagnostics in index order, as if run in one loop.
  void for_each_domain(size_t count, const std::function<void(size_t)>& body);

  // Where error() reports while a worker runs a batch of for_each_domain.
  static thread_local std::vector<Diagnostic>* t_batch_diagnostics;

  std::string m_file;
  std::string m_base_dir;
  std::vector<Diagnostic> m_diagnostics;
  std::atomic<size_t> m_error_count{0};
  std::atomic<size_t> m_dropped{0};  // errors beyond k_kept_diagnostics: counted only
  std::set<std::string> m_declared_providers;
};

thread_local std::vector<Diagnostic>* Loader::t_batch_diagnostics = nullptr;

void Loader::for_each_domain(size_t count, const std::function<void(size_t)>& body) {
  constexpr size_t k_batch = 1024;
  std::function<std::vector<Diagnostic>(size_t)> run_batch = [&](size_t batch) {
    std::vector<Diagnostic> found;
    t_batch_diagnostics = &found;
    try {
      for (size_t i = batch * k_batch; i < std::min(count, (batch + 1) * k_batch); ++i) {
        body(i);
      }
    } catch (...) {
      t_batch_diagnostics = nullptr;
      throw;
    }
    t_batch_diagnostics = nullptr;
    return found;
  };
  std::function<void(size_t, std::vector<Diagnostic>&)> merge = [&](size_t, std::vector<Diagnostic>& found) {
    std::move(found.begin(), found.end(), std::back_inserter(m_diagnostics));
  };
  run_ordered((count + k_batch - 1) / k_batch, default_worker_count(), run_batch, merge);
}

std::optional<MapView> Loader::read_map(const yaml::Node& node, const yaml::Mark& where,
                                        const std::string& path, const Keys& allowed, const std::string& hint,
                                        Secrets secrets) {
  if (!node.IsMap()) {
    error(node.IsNull() || node.Mark().is_null() ? where : node.Mark(), path,
          "expected a map" + hint + ", got " + type_name(node));
    return std::nullopt;
  }
  MapView view;
  view.entries.reserve(node.size());
  FirstLines seen(node.size());
  for (auto it = node.begin(); it != node.end(); ++it) {
    yaml::Node key = it->first;  // the iterator yields a temporary pair: copy
    if (!key.IsScalar()) {
      error(key.Mark(), path, "keys must be plain names, got " + type_name(key));
      continue;
    }
    Entry entry{key.Scalar(), key, it->second, join(path, key.Scalar())};
    if (int first_line = seen.insert(key.Scalar(), key.Mark().line + 1)) {  // the document's text stays put
      // The tree keeps both pairs silently; the first one would win a lookup.
      error(key.Mark(), entry.path,
            "duplicate key '" + entry.name + "' (first given on line " + std::to_string(first_line) + ")");
      continue;
    }
    if (secrets != Secrets::Allowed && is_secret_key(entry.name)) {
      error(key.Mark(), entry.path,
            secrets == Secrets::Tsig ? k_tsig_secret_message : k_powerdns_secret_message);
      continue;
    }
    if (!allowed.empty() && !contains(allowed, entry.name)) {
      // Past the diagnostics anyone will read, skip the costly suggestion.
      std::string suggestion =
          m_error_count.load() < k_kept_diagnostics ? spellcheck(entry.name, allowed) : "";
      error(key.Mark(), entry.path,
            "unknown key '" + entry.name + "'" +
                (suggestion.empty() ? " (allowed: " + list_text(allowed) + ")"
                                    : " (did you mean '" + suggestion + "'?)"));
      if (secrets != Secrets::Allowed) {
        scan_secrets(entry.value, &entry.path, secrets);
      }
      continue;
    }
    view.entries.push_back(std::move(entry));
  }
  return view;
}

// `path` is extended in place and restored, so deep values cost no copies.
// The tree is at most yaml::k_max_depth deep and aliases add a bounded number
// of nodes (yaml_tree.h); the depth check is a second line of defence.
void Loader::scan_secrets(const yaml::Node& node, std::string* path, Secrets secrets, int depth) {
  if (depth > yaml::k_max_depth || !(node.IsMap() || node.IsSequence())) {
    return;
  }
  size_t length = path->size();
  size_t index = 0;
  for (auto it = node.begin(); it != node.end(); ++it, ++index) {
    if (node.IsMap()) {
      const std::string& name = it->first.IsScalar() ? it->first.Scalar() : k_no_name;
      *path += (path->empty() ? "" : ".") + name;
      if (is_secret_key(name)) {
        error(it->first.Mark(), *path,
              secrets == Secrets::Tsig ? k_tsig_secret_message : k_powerdns_secret_message);
      } else {
        scan_secrets(it->second, path, secrets, depth + 1);
      }
    } else {
      *path += "[" + std::to_string(index) + "]";
      scan_secrets(*it, path, secrets, depth + 1);
    }
    path->resize(length);
  }
}

std::optional<std::vector<std::pair<yaml::Node, std::string>>> Loader::read_list(const Entry& entry,
                                                                                 const std::string& hint) {
  if (!entry.value.IsSequence()) {
    error(value_mark(entry), entry.path, "expected a list" + hint + ", got " + type_name(entry.value));
    return std::nullopt;
  }
  if (entry.value.size() > k_max_list_items) {
    error(value_mark(entry), entry.path,
          "lists " + std::to_string(entry.value.size()) + " items: at most " +
              std::to_string(k_max_list_items) + " are allowed (the limit)");
    return std::nullopt;
  }
  std::vector<std::pair<yaml::Node, std::string>> items;
  items.reserve(entry.value.size());
  size_t index = 0;
  for (auto it = entry.value.begin(); it != entry.value.end(); ++it, ++index) {
    items.emplace_back(*it, index_path(entry.path, index));
  }
  return items;
}

std::optional<std::string> Loader::read_string(const Entry& entry, const std::string& what) {
  if (!entry.value.IsScalar()) {
    error(value_mark(entry), entry.path, "expected " + what + ", got " + type_name(entry.value));
    return std::nullopt;
  }
  return entry.value.Scalar();
}

std::optional<std::string> Loader::read_nonempty(const Entry& entry, const std::string& what) {
  auto text = read_string(entry, what);
  if (text && text->empty()) {
    error(value_mark(entry), entry.path, "expected " + what + ", got an empty string");
    return std::nullopt;
  }
  return text;
}

std::optional<long long> Loader::read_integer(const yaml::Node& node, const yaml::Mark& mark,
                                              const std::string& path, const std::string& what) {
  if (!node.IsScalar()) {
    error(mark, path, "expected " + what + ", got " + type_name(node));
    return std::nullopt;
  }
  const std::string& text = node.Scalar();
  if (!is_plain_number(node)) {
    error(mark, path, "expected " + what + ", got " + quoted_or_tagged(node) + k_number_hint);
    return std::nullopt;
  }
  size_t start = !text.empty() && (text[0] == '-' || text[0] == '+') ? 1 : 0;
  if (text.size() == start || text.find_first_not_of("0123456789", start) != std::string::npos) {
    error(mark, path, "'" + text + "' is not " + what);
    return std::nullopt;
  }
  errno = 0;
  long long value = std::strtoll(text.c_str(), nullptr, 10);
  if (errno == ERANGE) {
    value = text[0] == '-' ? LLONG_MIN : LLONG_MAX;
  }
  return value;
}

std::optional<uint32_t> Loader::read_ranged(const Entry& entry, long long low, long long high,
                                            const std::string& note, const std::string& what) {
  auto value = read_integer(entry.value, value_mark(entry), entry.path, what);
  if (!value) {
    return std::nullopt;
  }
  const std::string& text = entry.value.Scalar();
  if (*value < low) {
    error(value_mark(entry), entry.path, text + " is below " + std::to_string(low) + note);
    return std::nullopt;
  }
  if (*value > high) {
    error(value_mark(entry), entry.path, text + " is above " + std::to_string(high) + note);
    return std::nullopt;
  }
  return static_cast<uint32_t>(*value);
}

std::optional<uint32_t> Loader::read_max_age(const Entry& entry) {
  auto value = read_integer(entry.value, value_mark(entry), entry.path,
                            "an integer number of seconds (86400..31557600)");
  if (!value) {
    return std::nullopt;
  }
  const std::string& text = entry.value.Scalar();
  if (*value < k_min_max_age) {
    error(value_mark(entry), entry.path, text + " is below " + std::to_string(k_min_max_age));
    return std::nullopt;
  }
  if (*value > k_max_max_age) {
    error(value_mark(entry), entry.path, text + " is above " + std::to_string(k_max_max_age) + " (one year)");
    return std::nullopt;
  }
  return static_cast<uint32_t>(*value);
}

std::optional<bool> Loader::read_bool(const Entry& entry) {
  if (entry.value.IsScalar()) {
    std::string text = lowercase(entry.value.Scalar());
    if (text == "true" || text == "yes" || text == "on") {
      return true;
    }
    if (text == "false" || text == "no" || text == "off") {
      return false;
    }
  }
  error(value_mark(entry), entry.path,
        "expected true or false, got " +
            (entry.value.IsScalar() ? "'" + entry.value.Scalar() + "'" : type_name(entry.value)));
  return std::nullopt;
}

std::optional<double> Loader::read_timeout(const Entry& entry) {
  const std::string what = "a number of seconds (greater than 0, at most 3600)";
  if (!entry.value.IsScalar()) {
    error(value_mark(entry), entry.path, "expected " + what + ", got " + type_name(entry.value));
    return std::nullopt;
  }
  if (!is_plain_number(entry.value)) {
    error(value_mark(entry), entry.path,
          "expected " + what + ", got " + quoted_or_tagged(entry.value) + k_number_hint);
    return std::nullopt;
  }
  const std::string& text = entry.value.Scalar();
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end == nullptr || *end != '\0' || !(value == value)) {
    error(value_mark(entry), entry.path, "'" + text + "' is not " + what);
    return std::nullopt;
  }
  if (value <= 0 || value > k_max_timeout) {
    error(value_mark(entry), entry.path, text + " is out of range: expected " + what);
    return std::nullopt;
  }
  return value;
}

std::optional<std::string> Loader::read_path(const Entry& entry) {
  auto text = read_nonempty(entry, "a file or directory path");
  if (!text) {
    return std::nullopt;
  }
  return resolve(*text);
}

// Never quotes the value: a secret pasted here by mistake must not be shown.
std::optional<std::string> Loader::read_env_name(const Entry& entry) {
  auto text = read_string(entry, "an environment variable name");
  if (!text) {
    return std::nullopt;
  }
  if (!is_env_name(*text)) {
    error(value_mark(entry), entry.path,
          "expected an environment variable name (letters, digits and '_', not starting with a digit)");
    return std::nullopt;
  }
  return text;
}

std::optional<std::string> Loader::read_choice(const Entry& entry, const Keys& allowed) {
  auto text = read_string(entry, "one of " + list_text(allowed));
  if (!text) {
    return std::nullopt;
  }
  if (!contains(allowed, *text)) {
    error(value_mark(entry), entry.path, choice_message(*text, allowed));
    return std::nullopt;
  }
  return text;
}

PolicyMode mode_from(const std::string& text) {
  return text == "enforce" ? PolicyMode::Enforce : text == "none" ? PolicyMode::None : PolicyMode::Testing;
}

void Loader::read_version(const MapView& root) {
  const Entry* entry = root.find("version");
  if (entry == nullptr) {
    error(k_top, "version", "version is required (write version: 1 at the top)");
    return;
  }
  if (entry->value.IsScalar() && entry->value.Scalar() == "1" && !is_plain_number(entry->value)) {
    error(value_mark(*entry), entry->path,
          "expected the number 1, got " + quoted_or_tagged(entry->value) + " (write version: 1)");
    return;
  }
  if (!entry->value.IsScalar() || entry->value.Scalar() != "1") {
    std::string shown = entry->value.IsScalar() ? "'" + entry->value.Scalar() + "'" : type_name(entry->value);
    error(value_mark(*entry), entry->path,
          "version " + shown + " is not supported: this stsctl reads version: 1");
  }
}

void Loader::read_policy(const Entry& entry, Settings* settings) {
  auto view = read_map(entry.value, entry.key.Mark(), entry.path, k_policy_keys,
                       " (like {mode: testing, max_age: 86400})");
  if (!view) {
    return;
  }
  for (const Entry& item : view->entries) {
    if (item.name == "mode") {
      if (auto mode = read_choice(item, k_modes)) {
        settings->mode = mode_from(*mode);
      }
    } else if (item.name == "max_age") {
      settings->max_age = read_max_age(item);
    }
  }
}

void Loader::read_tlsrpt(const Entry& entry, Settings* settings) {
  settings->tlsrpt_present = true;
  if (entry.value.IsNull()) {
    settings->rua = std::vector<std::string>();  // "tlsrpt: null" turns an inherited TLS-RPT off
    return;
  }
  auto view = read_map(entry.value, entry.key.Mark(), entry.path, k_tlsrpt_keys,
                       " (like {rua: [\"mailto:tlsrpt@example.net\"]}, or null for none)");
  if (!view) {
    return;
  }
  const Entry* rua = view->find("rua");
  if (rua == nullptr) {
    error(entry.key.Mark(), entry.path, "rua is required (a list of mailto: or https: URIs)");
    return;
  }
  auto items = read_list(*rua, " of mailto: or https: URIs");
  if (!items) {
    return;
  }
  if (items->empty()) {
    error(value_mark(*rua), rua->path,
          "rua must list at least one mailto: or https: URI (to turn TLS-RPT off, write tlsrpt: null)");
    return;
  }
  std::vector<std::string> uris;
  bool ok = true;
  for (const auto& [node, path] : *items) {
    Entry item{"", node, node, path};
    auto uri = read_string(item, "a mailto: or https: URI");
    if (!uri) {
      ok = false;
      continue;
    }
    if (auto problem = rua_error(*uri)) {
      error(node.Mark(), path, *problem);
      ok = false;
      continue;
    }
    uris.push_back(*uri);
  }
  if (ok) {
    settings->rua = uris;
  }
}

void Loader::read_policy_host(const Entry& entry, Settings* settings) {
  settings->policy_host_present = true;
  auto view = read_map(entry.value, entry.key.Mark(), entry.path, k_policy_host_keys,
                       " (like {ipv4: [192.0.2.40]} or {cname: web.example.net})");
  if (!view) {
    return;
  }
  PolicyHost host;
  bool ok = true;
  std::unordered_set<std::string> seen_addresses;
  for (const Entry& item : view->entries) {
    if (item.name == "cname") {
      auto text = read_string(item, "a host name");
      if (!text) {
        ok = false;
        continue;
      }
      std::string name = normalize_name(*text);
      if (auto problem = host_name_error(name)) {
        error(value_mark(item), item.path, name_message(name, "a valid host name", *problem));
        ok = false;
        continue;
      }
      host.cname = name;
      continue;
    }
    bool v4 = item.name == "ipv4";
    auto items = read_list(
        item, v4 ? " of IPv4 addresses (like [192.0.2.40])" : " of IPv6 addresses (like [\"2001:db8::40\"])");
    if (!items) {
      ok = false;
      continue;
    }
    for (const auto& [node, path] : *items) {
      Entry address{"", node, node, path};
      auto text = read_string(address, v4 ? "an IPv4 address" : "an IPv6 address");
      if (!text) {
        ok = false;
        continue;
      }
      auto canonical = canonical_ip(*text, v4 ? AF_INET : AF_INET6);
      if (!canonical) {
        error(node.Mark(), path, "'" + *text + "' is not an " + (v4 ? "IPv4" : "IPv6") + " address");
        ok = false;
        continue;
      }
      auto& list = v4 ? host.ipv4 : host.ipv6;
      if (!seen_addresses.insert(*canonical).second) {
        error(node.Mark(), path, "'" + *text + "' is listed twice");
        ok = false;
        continue;
      }
      list.push_back(*canonical);
    }
  }
  if (!ok) {
    return;
  }
  bool has_addresses = !host.ipv4.empty() || !host.ipv6.empty();
  if (!host.cname.empty() && has_addresses) {
    error(entry.key.Mark(), entry.path,
          "set either cname or ipv4/ipv6, not both (a CNAME cannot have other data)");
    return;
  }
  if (host.cname.empty() && !has_addresses) {
    error(entry.key.Mark(), entry.path, "needs ipv4/ipv6 addresses or a cname for mta-sts.<domain>");
    return;
  }
  settings->policy_host = host;
}

void Loader::read_caa(const Entry& entry, Settings* settings) {
  if (entry.value.IsNull()) {
    settings->caa = std::vector<CaaEntry>();
    return;
  }
  auto items = read_list(entry, " of {tag, value} maps (like [{tag: issue, value: letsencrypt.org}])");
  if (!items) {
    return;
  }
  std::vector<CaaEntry> records;
  bool ok = true;
  for (const auto& [node, path] : *items) {
    auto view = read_map(node, node.Mark(), path, k_caa_keys, " (like {tag: issue, value: letsencrypt.org})");
    if (!view) {
      ok = false;
      continue;
    }
    CaaEntry record;
    const Entry* tag = view->find("tag");
    const Entry* value = view->find("value");
    const Entry* flags = view->find("flags");
    if (tag == nullptr || value == nullptr) {
      error(node.Mark(), path, std::string(tag == nullptr ? "tag" : "value") + " is required");
      ok = false;
    }
    std::optional<std::string> tag_text;
    if (tag != nullptr) {
      if (auto text = read_string(*tag, "one of issue, issuewild, iodef")) {
        std::string lower = lowercase(*text);
        if (contains(k_caa_tags, lower)) {
          tag_text = lower;
        } else {
          error(value_mark(*tag), tag->path, choice_message(*text, k_caa_tags));
        }
      }
      ok = ok && tag_text.has_value();
    }
    if (value != nullptr) {
      auto text = read_string(*value, "a CAA value");
      if (!text) {
        ok = false;
      } else if (tag_text) {
        if (auto problem = caa_value_error(*tag_text, *text)) {
          error(value_mark(*value), value->path, *problem);
          ok = false;
        }
        record.value = *text;
      }
    }
    if (flags != nullptr) {
      auto number = read_integer(flags->value, value_mark(*flags), flags->path, "0 or 128");
      if (number && *number != 0 && *number != 128) {
        error(value_mark(*flags), flags->path,
              flags->value.Scalar() + " is not 0 or 128 (128 marks it critical)");
        number.reset();
      }
      if (!number) {
        ok = false;
      } else {
        record.flags = static_cast<uint8_t>(*number);
      }
    }
    if (tag_text) {
      record.tag = *tag_text;
    }
    records.push_back(record);
  }
  if (ok) {
    settings->caa = records;
  }
}

Settings Loader::read_settings(const MapView& view, bool on_domain) {
  Settings settings;
  for (const Entry& entry : view.entries) {
    if (entry.name == "ttl") {
      settings.ttl = read_ranged(entry, k_min_ttl, k_max_ttl, " (a TTL must be 60..604800 seconds)",
                                 "an integer number of seconds (60..604800)");
    } else if (entry.name == "provider") {
      if (auto name = read_nonempty(entry, "a provider name")) {
        settings.provider = *name;
        settings.provider_entry = &entry;
      }
    } else if (entry.name == "policy") {
      read_policy(entry, &settings);
    } else if (entry.name == "tlsrpt") {
      read_tlsrpt(entry, &settings);
    } else if (entry.name == "policy_host") {
      read_policy_host(entry, &settings);
    } else if (entry.name == "caa") {
      read_caa(entry, &settings);
    } else if (entry.name == "id_format") {
      if (auto format = read_choice(entry, k_id_formats)) {
        settings.id_format = *format == "serial" ? IdFormat::Serial
                             : *format == "hash" ? IdFormat::Hash
                                                 : IdFormat::Timestamp;
      }
    }
  }
  (void)on_domain;
  return settings;
}

void Loader::check_provider(const Entry& entry, const std::string& name, const Config& config) {
  // A declared but broken provider has its own errors already.
  if (config.providers.count(name) != 0 || m_declared_providers.count(name) != 0) {
    return;
  }
  if (config.providers.empty()) {
    error(value_mark(entry), entry.path,
          "provider '" + name + "' is not configured: the config has no providers section");
    return;
  }
  Keys names;
  for (const auto& [provider_name, provider] : config.providers) {
    names.push_back(provider_name);
  }
  std::string suggestion = spellcheck(name, names);
  error(value_mark(entry), entry.path,
        "provider '" + name + "' is not configured" +
            (suggestion.empty() ? " (configured: " + list_text(names) + ")"
                                : " (did you mean '" + suggestion + "'?)"));
}

void Loader::read_domains(const Entry* entry, const Settings& defaults, Config* config) {
  if (entry == nullptr) {
    error(k_top, "domains", "domains is required (a map of mail domains, like example.net: {mx: [...]})");
    return;
  }
  auto domains = read_map(entry->value, entry->key.Mark(), entry->path, {},
                          " of mail domains (like example.net: {mx: [mail.example.net]})");
  if (!domains) {
    return;
  }
  if (domains->entries.empty()) {
    error(entry->key.Mark(), entry->path, "domains must list at least one mail domain");
    return;
  }

  // Pass 1: names and each domain's own settings. Each domain is built in
  // its final slot of config->domains (no copy of 100,000 of them at the end).
  std::vector<PendingDomain> pending;
  pending.reserve(domains->entries.size());
  config->domains.clear();
  config->domains.reserve(domains->entries.size());
  FirstLines seen(domains->entries.size());
  for (const Entry& item : domains->entries) {
    std::string name = normalize_name(item.name);
    std::string path = "domains." + name;
    if (auto problem = host_name_error(name)) {
      error(item.key.Mark(), "domains." + item.name,
            name_message(item.name, "a valid domain name", *problem));
      continue;
    }
    if (name.size() + k_longest_prefix > 253) {
      error(item.key.Mark(), path,
            "'" + name + "' is too long: _smtp._tls." + name + " would exceed 253 characters");
      continue;
    }
    // The name's final home is its slot, which never moves: `seen` keeps a view of it.
    DomainConfig& slot = config->domains.emplace_back();
    slot.name = std::move(name);
    if (int first_line = seen.insert(slot.name, item.key.Mark().line + 1)) {
      error(item.key.Mark(), path,
            "duplicate domain '" + slot.name + "' (first given on line " + std::to_string(first_line) + ")");
      config->domains.pop_back();
      continue;
    }

    PendingDomain domain;
    domain.config = &slot;
    domain.item = &item;
    domain.path = std::move(path);
    domain.key_mark = item.key.Mark();
    pending.push_back(std::move(domain));
  }

  // Each domain's own settings; domains are independent, so on every core.
  for_each_domain(pending.size(), [&](size_t index) {
    PendingDomain& domain = pending[index];
    const Entry& pair = *domain.item;
    if (!pair.value.IsNull()) {
      auto view = read_map(pair.value, pair.key.Mark(), domain.path, k_domain_keys,
                           " of domain settings (like {mx: [mail.example.net]})");
      if (!view) {
        domain.valid = false;
        return;
      }
      domain.view = std::move(*view);
    }
    domain.alias_entry = domain.view.find("alias_of");
    domain.zone_entry = domain.view.find("zone");
    if (domain.alias_entry != nullptr) {
      std::string target = domain.alias_entry->value.IsScalar()
                               ? normalize_name(domain.alias_entry->value.Scalar())
                               : std::string("its primary");
      MapView allowed;
      for (const Entry& item : domain.view.entries) {
        if (!contains(k_alias_keys, item.name)) {
          error(item.key.Mark(), item.path,
                "'" + item.name + "' cannot be set on an alias domain: it comes from the primary '" + target +
                    "' (an alias allows only " + list_text(k_alias_keys) + ")");
        } else {
          allowed.entries.push_back(item);
        }
      }
      domain.view = std::move(allowed);
      domain.alias_entry = domain.view.find("alias_of");
      domain.zone_entry = domain.view.find("zone");
    }
    domain.own = read_settings(domain.view, true);
    for (const Entry& item : domain.view.entries) {
      if (item.name == "mx") {
        domain.mx_present = true;
        auto items =
            read_list(item, " of MX host names or patterns (like [mail.example.net, \"*.mx.example.net\"])");
        if (!items) {
          continue;
        }
        std::unordered_set<std::string> seen_patterns;
        seen_patterns.reserve(items->size());
        for (const auto& [node, path] : *items) {
          Entry mx{"", node, node, path};
          auto text = read_string(mx, "an MX host name or pattern");
          if (!text) {
            continue;
          }
          std::string pattern = normalize_name(*text);
          if (auto problem = mx_pattern_error(pattern)) {
            error(node.Mark(), path, name_message(pattern, "a valid MX host name or pattern", *problem));
            continue;
          }
          if (!seen_patterns.insert(pattern).second) {
            error(node.Mark(), path, "'" + pattern + "' is listed twice");
            continue;
          }
          domain.config->mx.push_back(pattern);
        }
      } else if (item.name == "retire") {
        domain.retire = read_bool(item);
      }
    }
  });

  std::unordered_map<std::string, const PendingDomain*> by_name;
  by_name.reserve(pending.size());
  for (const PendingDomain& domain : pending) {
    if (domain.valid) {
      by_name[domain.config->name] = &domain;
    }
  }

  // Pass 2: references, inheritance and the checks that need the whole
  // picture (read-only but for each domain's own result), on every core.
  for_each_domain(pending.size(), [&](size_t index) {
    PendingDomain& domain = pending[index];
    if (!domain.valid) {
      return;
    }
    DomainConfig& out = *domain.config;
    const Settings& own = domain.own;
    out.zone = out.name;
    if (domain.zone_entry != nullptr) {
      if (auto text = read_nonempty(*domain.zone_entry, "a zone name")) {
        std::string zone = normalize_name(*text);
        if (auto problem = server_name_error(zone)) {  // a zone may be a single label
          error(value_mark(*domain.zone_entry), domain.zone_entry->path,
                name_message(zone, "a valid zone name", *problem));
        } else if (!is_in_zone(out.name, zone)) {
          error(value_mark(*domain.zone_entry), domain.zone_entry->path,
                "zone '" + zone + "' does not contain " + out.name +
                    " (the zone must be the domain itself or a parent of it)");
        } else {
          out.zone = zone;
        }
      }
    }

    out.ttl = own.ttl.value_or(defaults.ttl.value_or(3600));
    if (own.provider_entry != nullptr) {
      out.provider = own.provider;
      check_provider(*own.provider_entry, own.provider, *config);
    } else if (defaults.provider_entry != nullptr) {
      out.provider = defaults.provider;  // checked once, at defaults.provider
    } else if (!config->providers.empty()) {
      Keys names;
      for (const auto& [name, provider] : config->providers) {
        names.push_back(name);
      }
      error(domain.key_mark, domain.path,
            "no provider: set provider here or in defaults (configured: " + list_text(names) + ")");
    }

    if (domain.alias_entry != nullptr) {
      const Entry& alias = *domain.alias_entry;
      auto text = read_nonempty(alias, "the name of the primary domain");
      if (!text) {
        return;
      }
      std::string target = normalize_name(*text);
      auto found = by_name.find(target);
      if (target == out.name) {
        error(value_mark(alias), alias.path, "a domain cannot be an alias of itself");
      } else if (found == by_name.end()) {
        Keys names;
        for (const auto& [name, other] : by_name) {
          if (other->alias_entry == nullptr) {
            names.push_back(name);
          }
        }
        std::sort(names.begin(), names.end());  // the suggestion must not depend on hashing
        std::string suggestion = spellcheck(target, names);
        error(value_mark(alias), alias.path,
              "'" + target + "' is not a domain in this config" +
                  (suggestion.empty() ? "" : " (did you mean '" + suggestion + "'?)"));
      } else if (found->second->alias_entry != nullptr) {
        error(value_mark(alias), alias.path,
              "'" + target + "' is itself an alias: alias_of must name a domain with its own policy");
      } else {
        out.alias_of = target;
      }
      if (out.alias_of.empty()) {
        out.alias_of = target;  // keep it an alias in the (invalid) result
      }
      return;
    }

    out.retire = domain.retire.value_or(false);
    out.mode = own.mode.value_or(defaults.mode.value_or(PolicyMode::Testing));
    out.mode_pinned = own.mode.has_value();
    out.max_age = own.max_age.value_or(defaults.max_age.value_or(86400));
    if (out.retire) {
      // RFC 8461 section 8.3: a retired domain publishes mode none until every
      // cached policy has expired.
      if (own.mode && *own.mode != PolicyMode::None) {
        const Entry* policy = domain.view.find("policy");
        error(policy != nullptr ? policy->key.Mark() : domain.key_mark, join(domain.path, "policy.mode"),
              std::string("a retired domain publishes mode none: remove mode '") + to_string(*own.mode) +
                  "' or retire: true");
      }
      out.mode = PolicyMode::None;
      out.mode_pinned = true;
    }
    if (own.rua) {
      out.tlsrpt_rua = *own.rua;
    } else if (defaults.rua) {
      out.tlsrpt_rua = *defaults.rua;
    }
    if (own.policy_host) {
      out.policy_host = *own.policy_host;
    } else if (!own.policy_host_present && defaults.policy_host) {
      out.policy_host = *defaults.policy_host;
    } else if (!own.policy_host_present && !defaults.policy_host_present) {
      error(domain.key_mark, domain.path,
            "policy_host is required (set it here or in defaults, like {ipv4: [192.0.2.40]} or {cname: "
            "web.example.net})");
    }
    if (own.caa) {
      out.caa = *own.caa;
    } else if (defaults.caa) {
      out.caa = *defaults.caa;
    }
    out.id_format = own.id_format.value_or(defaults.id_format.value_or(IdFormat::Timestamp));
    if (out.mx.empty() && !domain.mx_present && out.mode != PolicyMode::None) {
      error(domain.key_mark, domain.path,
            std::string("mx is required when mode is ") + to_string(out.mode) +
                " (list the MX host names, like mx: [mail.example.net])");
    } else if (out.mx.empty() && domain.mx_present && out.mode != PolicyMode::None) {
      const Entry* mx = domain.view.find("mx");
      if (mx != nullptr && mx->value.IsSequence() && mx->value.size() == 0) {
        error(value_mark(*mx), mx->path,
              std::string("mx must list at least one MX host name when mode is ") + to_string(out.mode));
      }
    }
  });

  // Domains in name order. A config written in order (and without invalid
  // domains) is already there; otherwise move each domain once.
  bool all_valid =
      std::all_of(pending.begin(), pending.end(), [](const PendingDomain& d) { return d.valid; });
  auto by_domain_name = [](const DomainConfig& a, const DomainConfig& b) { return a.name < b.name; };
  if (all_valid && std::is_sorted(config->domains.begin(), config->domains.end(), by_domain_name)) {
    return;
  }
  std::vector<DomainConfig*> order;
  order.reserve(pending.size());
  for (PendingDomain& domain : pending) {
    if (domain.valid) {
      order.push_back(domain.config);
    }
  }
  std::sort(order.begin(), order.end(),
            [&](const DomainConfig* a, const DomainConfig* b) { return by_domain_name(*a, *b); });
  std::vector<DomainConfig> sorted;
  sorted.reserve(order.size());
  for (DomainConfig* domain : order) {
    sorted.push_back(std::move(*domain));
  }
  config->domains = std::move(sorted);
}

void Loader::read_providers(const Entry& entry, Config* config) {
  if (entry.value.IsNull()) {
    return;
  }
  auto providers = read_map(entry.value, entry.key.Mark(), entry.path, {},
                            " of providers (like pdns: {type: powerdns, ...})", Secrets::PowerDns);
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
            "expected a map (like {type: powerdns, url: ...}), got " + type_name(item.value));
      continue;
    }
    // The type decides which keys are allowed, so look at it first.
    std::optional<std::string> type;
    bool has_type = false;
    for (auto it = item.value.begin(); it != item.value.end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == "type") {
        has_type = true;
        Entry type_entry{"type", it->first, it->second, join(item.path, "type")};
        type = read_choice(type_entry, {"powerdns", "rfc2136"});
        break;
      }
    }
    if (!has_type) {
      error(item.key.Mark(), item.path, "type is required (powerdns or rfc2136)");
    }
    if (!type) {
      // Still refuse inline secrets, whatever the type.
      std::string path = item.path;
      scan_secrets(item.value, &path, Secrets::PowerDns);
      continue;
    }
    bool powerdns = *type == "powerdns";
    auto view = read_map(item.value, item.key.Mark(), item.path, powerdns ? k_powerdns_keys : k_rfc2136_keys,
                         "", powerdns ? Secrets::PowerDns : Secrets::Tsig);
    if (!view) {
      continue;
    }
    ProviderConfig provider;
    provider.name = item.name;
    provider.type = *type;
    for (const Entry& setting : view->entries) {
      if (setting.name == "timeout") {
        if (auto timeout = read_timeout(setting)) {
          provider.timeout_seconds = *timeout;
        }
      }
    }
    if (powerdns) {
      read_powerdns(*view, item, &provider);
    } else {
      read_rfc2136(*view, item, &provider);
    }
    config->providers[item.name] = provider;
  }
}

void Loader::read_powerdns(const MapView& view, const Entry& provider, ProviderConfig* out) {
  const Entry* url = view.find("url");
  if (url == nullptr) {
    error(provider.key.Mark(), provider.path,
          "url is required (the PowerDNS API, like http://127.0.0.1:8081)");
  } else if (auto text = read_nonempty(*url, "an http:// or https:// URL")) {
    // The URL is never quoted back: it might carry credentials.
    std::string lower = lowercase(*text);
    bool https = lower.rfind("https://", 0) == 0;
    if (!https && lower.rfind("http://", 0) != 0) {
      error(value_mark(*url), url->path, "must be an http:// or https:// URL (like http://127.0.0.1:8081)");
    } else {
      std::string rest = text->substr(https ? 8 : 7);
      std::string authority = rest.substr(0, rest.find_first_of("/?#"));
      HostPort host_port;
      if (authority.find('@') != std::string::npos) {
        error(value_mark(*url), url->path,
              "must not carry user information: put the API key in api_key_file or api_key_env");
      } else if (rest.find_first_of("?#") != std::string::npos) {
        error(value_mark(*url), url->path, "must not have a query or fragment (like http://127.0.0.1:8081)");
      } else if (auto problem = parse_host_port(authority, https ? 443 : 80, &host_port)) {
        error(value_mark(*url), url->path, "URL host " + *problem);
      } else {
        std::string clean = *text;
        while (!clean.empty() && clean.back() == '/') {
          clean.pop_back();
        }
        out->url = clean;
      }
    }
  }
  const Entry* file = view.find("api_key_file");
  const Entry* env = view.find("api_key_env");
  if (file == nullptr && env == nullptr) {
    error(provider.key.Mark(), provider.path, "one of api_key_file or api_key_env is required");
  } else if (file != nullptr && env != nullptr) {
    const Entry* second = file->key.Mark().pos > env->key.Mark().pos ? file : env;
    error(second->key.Mark(), second->path, "set only one of api_key_file and api_key_env");
  }
  for (const Entry& setting : view.entries) {
    if (setting.name == "server_id") {
      if (auto text = read_nonempty(setting, "a server id (usually localhost)")) {
        out->server_id = *text;
      }
    } else if (setting.name == "api_key_file") {
      out->api_key_file = read_path(setting).value_or("");
    } else if (setting.name == "api_key_env") {
      out->api_key_env = read_env_name(setting).value_or("");
    } else if (setting.name == "ca_file") {
      out->ca_file = read_path(setting).value_or("");
    } else if (setting.name == "notify") {
      out->notify = read_bool(setting).value_or(false);
    }
  }
}

void Loader::read_rfc2136(const MapView& view, const Entry& provider, ProviderConfig* out) {
  for (const Entry& setting : view.entries) {
    if (setting.name == "allow_hmac_md5") {
      out->allow_hmac_md5 = read_bool(setting).value_or(false);
    }
  }
  const Entry* server = view.find("server");
  if (server == nullptr) {
    error(provider.key.Mark(), provider.path,
          "server is required (the primary name server, like 127.0.0.1:53)");
  }
  const Entry* tsig = view.find("tsig");
  if (tsig == nullptr) {
    error(provider.key.Mark(), provider.path,
          "tsig is required (like {name: stsctl-key, algorithm: hmac-sha256, secret_file: tsig.secret})");
  }
  for (const Entry& setting : view.entries) {
    if (setting.name == "server") {
      auto text = read_nonempty(setting, "host:port");
      if (!text) {
        continue;
      }
      HostPort host_port;
      if (auto problem = parse_host_port(*text, 53, &host_port)) {
        error(value_mark(setting), setting.path,
              "'" + *text + "' " + *problem + " (allowed: host, host:port, 192.0.2.1:53, [2001:db8::1]:53)");
        continue;
      }
      out->server_host = host_port.host;
      out->server_port = host_port.port;
    } else if (setting.name == "tsig") {
      read_tsig(setting, out->allow_hmac_md5, &out->tsig);
    } else if (setting.name == "transport") {
      if (auto transport = read_choice(setting, {"tcp", "udp"})) {
        out->transport = *transport;
      }
    }
  }
}

void Loader::read_tsig(const Entry& entry, bool allow_md5, TsigConfig* out) {
  auto view =
      read_map(entry.value, entry.key.Mark(), entry.path, k_tsig_keys,
               " (like {name: stsctl-key, algorithm: hmac-sha256, secret_file: tsig.secret})", Secrets::Tsig);
  if (!view) {
    return;
  }
  if (view->find("name") == nullptr) {
    error(entry.key.Mark(), entry.path, "name is required (the TSIG key name the server knows)");
  }
  const Entry* file = view->find("secret_file");
  const Entry* env = view->find("secret_env");
  if (file == nullptr && env == nullptr) {
    error(entry.key.Mark(), entry.path, "one of secret_file or secret_env is required");
  } else if (file != nullptr && env != nullptr) {
    const Entry* second = file->key.Mark().pos > env->key.Mark().pos ? file : env;
    error(second->key.Mark(), second->path, "set only one of secret_file and secret_env");
  }
  for (const Entry& setting : view->entries) {
    if (setting.name == "name") {
      auto text = read_nonempty(setting, "a TSIG key name");
      if (!text) {
        continue;
      }
      std::string name = normalize_name(*text);
      if (auto problem = server_name_error(name)) {
        error(value_mark(setting), setting.path, name_message(name, "a valid TSIG key name", *problem));
        continue;
      }
      out->name = name;
    } else if (setting.name == "algorithm") {
      auto text = read_nonempty(setting, "a TSIG algorithm");
      if (!text) {
        continue;
      }
      std::string algorithm = normalize_name(*text);
      if (algorithm == "hmac-md5.sig-alg.reg.int") {
        algorithm = "hmac-md5";
      }
      if (algorithm == "hmac-sha384" || algorithm == "hmac-sha224") {
        error(
            value_mark(setting), setting.path,
            algorithm + " is not supported: ldns 1.8.3 cannot sign with it; use hmac-sha256 or hmac-sha512");
      } else if (algorithm == "hmac-md5" && !allow_md5) {
        error(
            value_mark(setting), setting.path,
            "hmac-md5 is weak and refused unless the provider sets allow_hmac_md5: true; use hmac-sha256 or "
            "hmac-sha512");
      } else if (algorithm != "hmac-sha256" && algorithm != "hmac-sha512" && algorithm != "hmac-sha1" &&
                 algorithm != "hmac-md5") {
        error(value_mark(setting), setting.path,
              choice_message(algorithm, {"hmac-sha256", "hmac-sha512", "hmac-sha1", "hmac-md5"}));
      } else {
        out->algorithm = algorithm;
      }
    } else if (setting.name == "secret_file") {
      out->secret_file = read_path(setting).value_or("");
      out->secret_file_line = value_mark(setting).line + 1;
      out->secret_file_column = value_mark(setting).column + 1;
    } else if (setting.name == "secret_env") {
      out->secret_env = read_env_name(setting).value_or("");
    }
  }
}

void Loader::read_rollout(const Entry& entry, Config* config) {
  auto view = read_map(entry.value, entry.key.Mark(), entry.path, k_rollout_keys,
                       " (like {stages: [{mode: testing, max_age: 86400, hold: 7d}, ...]})");
  if (!view) {
    return;
  }
  if (const Entry* gates = view->find("gates")) {
    read_gates(*gates, &config->gates);
  }
  const Entry* stages = view->find("stages");
  if (stages == nullptr) {
    error(entry.key.Mark(), entry.path, "stages is required (a list of {mode, max_age, hold})");
    return;
  }
  auto items = read_list(*stages, " of stages (like [{mode: testing, max_age: 86400, hold: 7d}, ...])");
  if (!items) {
    return;
  }
  if (items->empty()) {
    error(value_mark(*stages), stages->path, "stages must list at least one stage");
    return;
  }
  for (size_t index = 0; index < items->size(); ++index) {
    const auto& [node, path] = (*items)[index];
    bool last = index + 1 == items->size();
    auto stage_view =
        read_map(node, node.Mark(), path, k_stage_keys, " (like {mode: testing, max_age: 86400, hold: 7d})");
    if (!stage_view) {
      continue;
    }
    RolloutStage stage;
    const Entry* mode = stage_view->find("mode");
    const Entry* max_age = stage_view->find("max_age");
    const Entry* hold = stage_view->find("hold");
    if (mode == nullptr) {
      error(node.Mark(), path, "mode is required (testing, enforce or none)");
    } else if (auto text = read_choice(*mode, k_modes)) {
      stage.mode = mode_from(*text);
    }
    if (max_age == nullptr) {
      error(node.Mark(), path, "max_age is required (86400..31557600 seconds)");
    } else if (auto value = read_max_age(*max_age)) {
      stage.max_age = *value;
    }
    if (hold == nullptr && !last) {
      error(node.Mark(), path, "hold is required on every stage but the last (like hold: 7d)");
    } else if (hold != nullptr) {
      auto text = read_string(*hold, "a duration (like 30m, 12h, 7d, 2w)");
      if (text) {
        auto seconds = parse_duration(*text);
        if (!seconds) {
          error(value_mark(*hold), hold->path,
                "'" + *text +
                    "' is not a duration: a positive whole number and a unit s, m, h, d or w (like 30m, 12h, "
                    "7d, 2w)");
        } else if (!last) {
          stage.hold_seconds = *seconds;
        }
      }
    }
    config->stages.push_back(stage);
  }
}

// rollout.gates: {starttls: true, smtp_port: 25, resolver: "IP:port", ca_file: F,
//                 connect_to: {"mx.example.net:25": "127.0.0.1:2525"}, timeout: 20}
void Loader::read_gates(const Entry& entry, RolloutGates* gates) {
  auto view = read_map(entry.value, entry.key.Mark(), entry.path, k_gates_keys,
                       " (like {starttls: true, smtp_port: 25, resolver: \"127.0.0.1:53\"})");
  if (!view) {
    return;
  }
  for (const Entry& setting : view->entries) {
    if (setting.name == "starttls") {
      gates->starttls = read_bool(setting).value_or(gates->starttls);
    } else if (setting.name == "smtp_port") {
      gates->smtp_port = static_cast<int>(
          read_ranged(setting, 1, 65535, "", "a port number (1..65535)").value_or(gates->smtp_port));
    } else if (setting.name == "resolver") {
      auto value = read_nonempty(setting, "an IP address with an optional port (like 127.0.0.1:53)");
      if (!value) {
        continue;
      }
      HostPort address;
      unsigned char buffer[16];
      // Lookups go straight to this server: a name would need a resolver to find it.
      if (parse_host_port(*value, 53, &address) || (inet_pton(AF_INET, address.host.c_str(), buffer) != 1 &&
                                                    inet_pton(AF_INET6, address.host.c_str(), buffer) != 1)) {
        error(value_mark(setting), setting.path,
              "'" + *value + "' is not an IP address with an optional port (like 127.0.0.1:53)");
        continue;
      }
      gates->resolver = *value;
    } else if (setting.name == "ca_file") {
      gates->ca_file = read_path(setting).value_or("");
    } else if (setting.name == "timeout") {
      gates->timeout_seconds = read_timeout(setting).value_or(gates->timeout_seconds);
    } else if (setting.name == "tlsrpt") {
      read_tlsrpt_gate(setting, gates);
    } else if (setting.name == "connect_to") {
      auto targets = read_map(setting.value, setting.key.Mark(), setting.path, {},
                              " (like {\"mx.example.net:25\": \"127.0.0.1:2525\"})");
      if (!targets) {
        continue;
      }
      for (const Entry& target : targets->entries) {
        // "host", "host:port" or ":port" (any host), as SmtpOptions::connect_to takes them.
        HostPort from;
        std::string key = lowercase(target.name);
        bool any_host = !key.empty() && key[0] == ':';
        std::optional<std::string> problem =
            any_host ? parse_host_port("any" + key, 0, &from) : parse_host_port(key, 25, &from);
        if (problem) {
          error(target.key.Mark(), target.path, "'" + target.name + "' " + *problem);
          continue;
        }
        auto value = read_nonempty(target, "addr:port");
        if (!value) {
          continue;
        }
        HostPort to;
        if (auto bad = parse_host_port(*value, 25, &to)) {
          error(value_mark(target), target.path, "'" + *value + "' " + *bad);
          continue;
        }
        gates->smtp_connect_to[key] = *value;
      }
    }
  }
}

// rollout.gates.tlsrpt: {max_failure_rate: 0.01, min_sessions: 100}
void Loader::read_tlsrpt_gate(const Entry& entry, RolloutGates* gates) {
  auto view = read_map(entry.value, entry.key.Mark(), entry.path, k_tlsrpt_gate_keys,
                       " (like {max_failure_rate: 0.01, min_sessions: 100})");
  if (!view) {
    return;
  }
  TlsrptGate gate;
  bool ok = true;
  for (const Entry& setting : view->entries) {
    if (setting.name == "max_failure_rate") {
      const std::string what = "a fraction between 0 and 1 (like 0.01 for 1%)";
      std::string text = setting.value.IsScalar() ? setting.value.Scalar() : "";
      char* end = nullptr;
      double value = text.empty() ? 0 : std::strtod(text.c_str(), &end);
      if (!setting.value.IsScalar()) {
        error(value_mark(setting), setting.path, "expected " + what + ", got " + type_name(setting.value));
        ok = false;
      } else if (text.empty() || end == nullptr || *end != '\0' || !(value == value)) {
        error(value_mark(setting), setting.path, "'" + text + "' is not " + what);
        ok = false;
      } else if (value < 0 || value > 1) {
        error(value_mark(setting), setting.path, text + " is out of range: expected " + what);
        ok = false;
      } else {
        gate.max_failure_rate = value;
      }
    } else if (setting.name == "min_sessions") {
      auto value = read_integer(setting.value, value_mark(setting), setting.path,
                                "a whole number of sessions (0 or more)");
      if (!value) {
        ok = false;
      } else if (*value < 0) {
        error(value_mark(setting), setting.path, setting.value.Scalar() + " is below 0");
        ok = false;
      } else {
        gate.min_sessions = static_cast<uint64_t>(*value);
      }
    }
  }
  if (ok) {
    gates->tlsrpt = gate;
  }
}

// publish.propagation: {timeout: 60, nameservers: {ns1.example.net: "127.0.0.1:5353"}}
void Loader::read_propagation(const Entry& entry, PublishConfig* publish) {
  auto view = read_map(entry.value, entry.key.Mark(), entry.path, k_propagation_keys,
                       " (like {timeout: 60, nameservers: {ns1.example.net: \"192.0.2.53:53\"}})");
  if (!view) {
    return;
  }
  for (const Entry& setting : view->entries) {
    if (setting.name == "timeout") {
      // 0 turns the wait off, so read_timeout (which wants > 0) does not fit.
      auto value = read_string(setting, "a number of seconds (0 to skip the wait)");
      if (!value) {
        continue;
      }
      char* end = nullptr;
      double seconds = std::strtod(value->c_str(), &end);
      if (end == value->c_str() || *end != '\0' || seconds < 0 || seconds > 3600) {
        error(value_mark(setting), setting.path,
              "'" + *value + "' is not a number of seconds from 0 to 3600");
        continue;
      }
      publish->propagation_timeout_seconds = seconds;
    } else if (setting.name == "nameservers") {
      auto servers = read_map(setting.value, setting.key.Mark(), setting.path, {},
                              " (like {ns1.example.net: \"192.0.2.53:53\"})");
      if (!servers) {
        continue;
      }
      for (const Entry& server : servers->entries) {
        std::string name = normalize_name(server.name);
        if (auto problem = host_name_error(name)) {
          error(server.key.Mark(), server.path, "'" + server.name + "' " + *problem);
          continue;
        }
        auto value = read_nonempty(server, "addr:port");
        if (!value) {
          continue;
        }
        HostPort address;
        if (auto problem = parse_host_port(*value, 53, &address)) {
          error(value_mark(server), server.path, "'" + *value + "' " + *problem);
          continue;
        }
        publish->nameserver_addresses[name] = *value;
      }
    }
  }
}

void Loader::read_publish(const Entry& entry, Config* config) {
  auto view = read_map(entry.value, entry.key.Mark(), entry.path, k_publish_keys,
                       " (like {webroot: /var/www/mta-sts, verify: true})");
  if (!view) {
    return;
  }
  PublishConfig& publish = config->publish;
  const Entry* verify_entry = nullptr;
  for (const Entry& setting : view->entries) {
    if (setting.name == "webroot") {
      publish.webroot = read_path(setting).value_or("");
    } else if (setting.name == "verify") {
      publish.verify = read_bool(setting).value_or(false);
      verify_entry = &setting;
    } else if (setting.name == "ca_file") {
      publish.ca_file = read_path(setting).value_or("");
    } else if (setting.name == "timeout") {
      publish.timeout_seconds = read_timeout(setting).value_or(publish.timeout_seconds);
    } else if (setting.name == "connect_to") {
      auto targets = read_map(setting.value, setting.key.Mark(), setting.path, {},
                              " (like {\"mta-sts.example.net:443\": \"127.0.0.1:8443\"})");
      if (!targets) {
        continue;
      }
      for (const Entry& target : targets->entries) {
        HostPort from;
        HostPort to;
        if (auto problem = parse_host_port(target.name, 0, &from)) {
          error(target.key.Mark(), target.path, "'" + target.name + "' " + *problem);
          continue;
        }
        auto value = read_nonempty(target, "addr:port");
        if (!value) {
          continue;
        }
        if (auto problem = parse_host_port(*value, 0, &to)) {
          error(value_mark(target), target.path, "'" + *value + "' " + *problem);
          continue;
        }
        publish.connect_to[lowercase(target.name)] = *value;
      }
    } else if (setting.name == "propagation") {
      read_propagation(setting, &publish);
    }
  }
  if (publish.verify && verify_entry != nullptr && view->find("webroot") == nullptr) {
    error(value_mark(*verify_entry), verify_entry->path,
          "verify: true needs publish.webroot (policies are verified after they are written there)");
  }
}

LoadResult Loader::run(const yaml::Node& root, const std::string& state_override) {
  LoadResult result;
  Config& config = result.config;
  config.file = m_file;
  config.base_dir = m_base_dir;
  config.state_path = resolve("stsctl.db");

  if (root.IsNull()) {
    error(k_top, "", "the config is empty: it needs at least version: 1 and domains");
    result.diagnostics = take_diagnostics(&result.more_diagnostics);
    return result;
  }
  auto view = read_map(root, root.Mark(), "", k_root_keys, " of sections (version, defaults, domains, ...)");
  if (!view) {
    result.diagnostics = take_diagnostics(&result.more_diagnostics);
    return result;
  }
  read_version(*view);
  if (const Entry* providers = view->find("providers")) {
    read_providers(*providers, &config);
  }
  Settings defaults;
  std::optional<MapView> defaults_view;  // defaults keeps pointers into it
  if (const Entry* entry = view->find("defaults")) {
    if (!entry->value.IsNull()) {
      defaults_view = read_map(entry->value, entry->key.Mark(), entry->path, k_defaults_keys,
                               " (like {ttl: 3600, policy: {mode: testing}})");
      if (defaults_view) {
        defaults = read_settings(*defaults_view, false);
        if (defaults.provider_entry != nullptr) {
          check_provider(*defaults.provider_entry, defaults.provider, config);
        }
      }
    }
  }
  read_domains(view->find("domains"), defaults, &config);
  if (const Entry* entry = view->find("rollout")) {
    read_rollout(*entry, &config);
  }
  if (const Entry* entry = view->find("publish")) {
    read_publish(*entry, &config);
  }
  if (const Entry* entry = view->find("state")) {
    // A postgresql:// URL is kept as written (checked when it is opened).
    if (entry->value.IsScalar() && is_database_url(entry->value.Scalar())) {
      config.state_path = entry->value.Scalar();
    } else if (auto path = read_path(*entry)) {
      config.state_path = *path;
    }
  }
  if (!state_override.empty()) {
    config.state_path = is_database_url(state_override)
                            ? state_override
                            : std::filesystem::absolute(state_override).lexically_normal().string();
  }
  result.diagnostics = take_diagnostics(&result.more_diagnostics);
  return result;
}

LoadResult parse_and_load(const std::string& text, const std::string& display_name,
                          const std::string& base_dir, const std::string& state_override) {
  Loader loader(display_name, base_dir);
  yaml::Node root;
  try {
    root = yaml::load(text);
  } catch (const yaml::ParseError& e) {
    loader.error(e.mark, "", "YAML syntax error: " + e.msg);
    LoadResult result;
    result.config.file = display_name;
    result.config.base_dir = base_dir;
    result.diagnostics = loader.take_diagnostics(&result.more_diagnostics);
    return result;
  }
  return loader.run(root, state_override);
}

}  // namespace

LoadResult load_config(const std::string& path, const std::string& state_override) {
  std::ifstream in(path, std::ios::binary);
  std::error_code ignored;
  if (!in || std::filesystem::is_directory(path, ignored)) {
    int saved = in ? EISDIR : errno;
    LoadResult result;
    result.config.file = path;
    Diagnostic diagnostic;
    diagnostic.file = path;
    diagnostic.message = "failed to read '" + path + "' (" + std::strerror(saved) + ")";
    result.diagnostics.push_back(diagnostic);
    return result;
  }
  // One read into a string of the file's size (a stream copy doubled the
  // time of reading a 100,000-domain file).
  std::string text;
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (size > 0) {
    text.resize(static_cast<size_t>(size));
    in.read(text.data(), size);
    text.resize(static_cast<size_t>(in.gcount()));
  }
  if (size < 0 || in.bad()) {  // not seekable (a pipe): read it as a stream
    in.clear();
    in.seekg(0, std::ios::beg);
    std::ostringstream stream;
    stream << in.rdbuf();
    text = stream.str();
  }
  std::filesystem::path absolute = std::filesystem::absolute(path);
  return parse_and_load(text, path, absolute.parent_path().lexically_normal().string(), state_override);
}

LoadResult load_config_text(const std::string& text, const std::string& display_name,
                            const std::string& base_dir, const std::string& state_override) {
  std::string base = base_dir.empty() ? std::filesystem::current_path().string()
                                      : std::filesystem::absolute(base_dir).lexically_normal().string();
  return parse_and_load(text, display_name, base, state_override);
}

}  // namespace stsctl

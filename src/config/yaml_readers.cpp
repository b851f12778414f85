#include "config/yaml_readers.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <set>

#include "config/edit_distance.h"
#include "config/values.h"
#include "util/parallel.h"
#include "util/text.h"

namespace stsctl::config_reader {

namespace {

constexpr double k_max_timeout = 3600;
// No list in the config has a reason to be longer (a policy with 1000 mx
// patterns is already far past what any sender expects).
constexpr size_t k_max_list_items = 1000;

const std::string k_no_name;
const char* const k_number_hint = " (write a number without quotes or tag)";

std::string index_path(const std::string& path, size_t index) {
  return path + "[" + std::to_string(index) + "]";
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
  std::string name = ascii_lower(raw);
  if (ends_with(name, "_file") || ends_with(name, "_env")) {
    return false;
  }
  return k_names.count(name) != 0 || name.find("secret") != std::string::npos ||
         name.find("password") != std::string::npos || name.find("token") != std::string::npos;
}

bool is_env_name(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isalnum(c) || c == '_'; });
}

}  // namespace

std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
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
        std::string lower = ascii_lower(text);
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

FirstLines::FirstLines(size_t expected) {
  if (expected > k_linear_limit) {
    m_index.reserve(expected);
  }
}

int FirstLines::insert(std::string_view key, int line) {
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

yaml::Mark value_mark(const Entry& entry) {
  return entry.value.IsNull() || entry.value.Mark().is_null() ? entry.key.Mark() : entry.value.Mark();
}

const Entry* MapView::find(const std::string& name) const {
  for (const Entry& entry : entries) {
    if (entry.name == name) {
      return &entry;
    }
  }
  return nullptr;
}

thread_local std::vector<Diagnostic>* YamlReader::t_batch_diagnostics = nullptr;

void YamlReader::error(const yaml::Mark& mark, const std::string& path, const std::string& message) {
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

std::vector<Diagnostic> YamlReader::take_diagnostics(size_t* more) {
  std::stable_sort(m_diagnostics.begin(), m_diagnostics.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::make_pair(a.line, a.column) < std::make_pair(b.line, b.column);
  });
  size_t left_out = m_diagnostics.size() > k_max_diagnostics ? m_diagnostics.size() - k_max_diagnostics : 0;
  m_diagnostics.resize(m_diagnostics.size() - left_out);
  if (more != nullptr) {
    *more = left_out + m_dropped.load();
  }
  return std::move(m_diagnostics);
}

std::string YamlReader::resolve(const std::string& path) const {
  std::filesystem::path p(path);
  if (p.is_absolute()) {
    return p.lexically_normal().string();
  }
  return (std::filesystem::path(m_base_dir) / p).lexically_normal().string();
}

void YamlReader::for_each_in_batches(size_t count, const std::function<void(size_t)>& body) {
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

std::optional<MapView> YamlReader::read_map(const yaml::Node& node, const yaml::Mark& where,
                                            const std::string& path, const Keys& allowed,
                                            const std::string& hint, const char* secret_message) {
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
    if (secret_message != nullptr && is_secret_key(entry.name)) {
      error(key.Mark(), entry.path, secret_message);
      continue;
    }
    if (!allowed.empty() && !contains(allowed, entry.name)) {
      // Past the diagnostics anyone will read, skip the costly suggestion.
      std::string suggestion = error_count() < k_kept_diagnostics ? spellcheck(entry.name, allowed) : "";
      error(key.Mark(), entry.path,
            "unknown key '" + entry.name + "'" +
                (suggestion.empty() ? " (allowed: " + list_text(allowed) + ")"
                                    : " (did you mean '" + suggestion + "'?)"));
      if (secret_message != nullptr) {
        scan_secrets(entry.value, &entry.path, secret_message);
      }
      continue;
    }
    view.entries.push_back(std::move(entry));
  }
  return view;
}

void YamlReader::scan_secrets(const yaml::Node& node, std::string* path, const char* secret_message) {
  std::unordered_set<uint32_t> scanned;
  scan_secrets_below(node, path, secret_message, 0, &scanned);
}

// `path` is extended in place and restored, so deep values cost no copies.
// Each collection is walked once: aliases reach a node again under another
// path, and walking it again would report the same line:col once per path
// (an alias bomb: 10^5 paths to one key). The tree is at most
// yaml::k_max_depth deep (yaml_tree.h); the depth check is a second line of
// defence.
void YamlReader::scan_secrets_below(const yaml::Node& node, std::string* path, const char* secret_message,
                                    int depth, std::unordered_set<uint32_t>* scanned) {
  if (depth > yaml::k_max_depth || !(node.IsMap() || node.IsSequence()) ||
      !scanned->insert(node.Id()).second) {
    return;
  }
  size_t length = path->size();
  size_t index = 0;
  for (auto it = node.begin(); it != node.end(); ++it, ++index) {
    if (node.IsMap()) {
      const std::string& name = it->first.IsScalar() ? it->first.Scalar() : k_no_name;
      *path += (path->empty() ? "" : ".") + name;
      if (is_secret_key(name)) {
        error(it->first.Mark(), *path, secret_message);
      } else {
        scan_secrets_below(it->second, path, secret_message, depth + 1, scanned);
      }
    } else {
      *path += "[" + std::to_string(index) + "]";
      scan_secrets_below(*it, path, secret_message, depth + 1, scanned);
    }
    path->resize(length);
  }
}

std::optional<std::vector<std::pair<yaml::Node, std::string>>> YamlReader::read_list(
    const Entry& entry, const std::string& hint) {
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

std::optional<std::string> YamlReader::read_string(const Entry& entry, const std::string& what) {
  if (!entry.value.IsScalar()) {
    error(value_mark(entry), entry.path, "expected " + what + ", got " + type_name(entry.value));
    return std::nullopt;
  }
  return entry.value.Scalar();
}

std::optional<std::string> YamlReader::read_nonempty(const Entry& entry, const std::string& what) {
  auto text = read_string(entry, what);
  if (text && text->empty()) {
    error(value_mark(entry), entry.path, "expected " + what + ", got an empty string");
    return std::nullopt;
  }
  return text;
}

std::optional<long long> YamlReader::read_integer(const yaml::Node& node, const yaml::Mark& mark,
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

std::optional<uint32_t> YamlReader::read_ranged(const Entry& entry, long long low, long long high,
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

std::optional<bool> YamlReader::read_bool(const Entry& entry) {
  if (entry.value.IsScalar()) {
    std::string text = ascii_lower(entry.value.Scalar());
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

std::optional<double> YamlReader::read_timeout(const Entry& entry) {
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

std::optional<std::string> YamlReader::read_path(const Entry& entry) {
  auto text = read_nonempty(entry, "a file or directory path");
  if (!text) {
    return std::nullopt;
  }
  return resolve(*text);
}

// Never quotes the value: a secret pasted here by mistake must not be shown.
std::optional<std::string> YamlReader::read_env_name(const Entry& entry) {
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

std::optional<std::string> YamlReader::read_choice(const Entry& entry, const Keys& allowed) {
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

void YamlReader::read_host_port_map(const Entry& entry, const HostPortMapRules& rules,
                                    std::map<std::string, std::string>* out) {
  auto targets = read_map(entry.value, entry.key.Mark(), entry.path, {}, rules.hint);
  if (!targets) {
    return;
  }
  for (const Entry& target : targets->entries) {
    std::string key;
    if (auto problem = rules.check_key(target.name, &key)) {
      error(target.key.Mark(), target.path, "'" + target.name + "' " + *problem);
      continue;
    }
    auto value = read_nonempty(target, "addr:port");
    if (!value) {
      continue;
    }
    HostPort address;
    if (auto problem = parse_host_port(*value, rules.value_default_port, &address)) {
      error(value_mark(target), target.path, "'" + *value + "' " + *problem);
      continue;
    }
    (*out)[key] = *value;
  }
}

}  // namespace stsctl::config_reader

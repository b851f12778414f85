#include "config/load.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/loader.h"
#include "config/values.h"

namespace stsctl::config_reader {

namespace {

const Keys k_root_keys = {"version", "defaults", "domains", "rollout", "providers", "publish", "state"};
const Keys k_defaults_keys = {"ttl", "provider", "policy", "tlsrpt", "policy_host", "caa", "id_format"};

}  // namespace

LoadResult Loader::run(const yaml::Node& root, const std::string& state_override) {
  LoadResult result;
  Config& config = result.config;
  config.file = file();
  config.base_dir = base_dir();
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
        defaults = read_settings(*defaults_view);
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
    read_state(*entry, &config);
  }
  if (!state_override.empty()) {
    config.state_path = is_database_url(state_override)
                            ? state_override
                            : std::filesystem::absolute(state_override).lexically_normal().string();
  }
  result.diagnostics = take_diagnostics(&result.more_diagnostics);
  return result;
}

// state: a SQLite file path (relative to the config), or a postgresql:// URL
// kept as written. The URL is checked here so validate reports it with its
// position; its messages never quote it whole (a pasted password must not
// show).
void Loader::read_state(const Entry& entry, Config* config) {
  const std::string scheme = entry.value.IsScalar() ? url_scheme(entry.value.Scalar()) : "";
  if (scheme.empty()) {
    if (auto path = read_path(entry)) {
      config->state_path = *path;
    }
    return;
  }
  const std::string& url = entry.value.Scalar();
  if (auto problem = state_location_problem(url)) {
    error(value_mark(entry), entry.path, *problem);
    return;
  }
  config->state_path = url;
}

}  // namespace stsctl::config_reader

namespace stsctl {

namespace {

LoadResult parse_and_load(const std::string& text, const std::string& display_name,
                          const std::string& base_dir, const std::string& state_override) {
  config_reader::Loader loader(display_name, base_dir);
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

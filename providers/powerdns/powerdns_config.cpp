#include "powerdns/powerdns_config.h"

#include "config/values.h"
#include "powerdns/powerdns_provider.h"
#include "util/text.h"

namespace stsctl {

namespace {

using config_reader::Entry;
using config_reader::MapView;
using config_reader::value_mark;
using config_reader::YamlReader;

const char* const k_secret_message =
    "secrets must not be written in the config: use api_key_file or api_key_env";

std::vector<ConfigKey> reference_rows() {
  return {
      {"providers.P.url", "string", "", "http:// or https:// URL", "PowerDNS HTTP API.", "powerdns"},
      {"providers.P.server_id", "string", "localhost", "a PowerDNS server id", "Server id in API paths.",
       "powerdns"},
      {"providers.P.api_key_file", "string", "", "a file holding the key",
       "API key from a file (relative to the config file); this or api_key_env.", "powerdns"},
      {"providers.P.api_key_env", "string", "", "an environment variable name",
       "API key from the environment.", "powerdns"},
      {"providers.P.ca_file", "string", "the system store", "a PEM file", "CA certificates for an https URL.",
       "powerdns"},
      provider_timeout_row(),
      {"providers.P.notify", "boolean", "false", "true, false",
       "Ask PowerDNS to NOTIFY secondaries after a change.", "powerdns"},
  };
}

// The URL is never quoted back: it might carry credentials.
void read_url(YamlReader& reader, const Entry& url, PowerdnsConfig* out) {
  auto text = reader.read_nonempty(url, "an http:// or https:// URL");
  if (!text) {
    return;
  }
  std::string lower = ascii_lower(*text);
  bool https = lower.rfind("https://", 0) == 0;
  if (!https && lower.rfind("http://", 0) != 0) {
    reader.error(value_mark(url), url.path,
                 "must be an http:// or https:// URL (like http://127.0.0.1:8081)");
    return;
  }
  std::string rest = text->substr(https ? 8 : 7);
  std::string authority = rest.substr(0, rest.find_first_of("/?#"));
  HostPort host_port;
  if (authority.find('@') != std::string::npos) {
    reader.error(value_mark(url), url.path,
                 "must not carry user information: put the API key in api_key_file or api_key_env");
  } else if (rest.find_first_of("?#") != std::string::npos) {
    reader.error(value_mark(url), url.path, "must not have a query or fragment (like http://127.0.0.1:8081)");
  } else if (auto problem = parse_host_port(authority, https ? 443 : 80, &host_port)) {
    reader.error(value_mark(url), url.path, "URL host " + *problem);
  } else {
    std::string clean = *text;
    while (!clean.empty() && clean.back() == '/') {
      clean.pop_back();
    }
    out->url = clean;
  }
}

std::shared_ptr<const BackendConfig> read_block(YamlReader& reader, const MapView& block,
                                                const Entry& provider) {
  auto out = std::make_shared<PowerdnsConfig>();
  out->name = provider.name;
  out->timeout_seconds = read_provider_timeout(reader, block, out->timeout_seconds);
  if (const Entry* url = block.find("url")) {
    read_url(reader, *url, out.get());
  } else {
    reader.error(provider.key.Mark(), provider.path,
                 "url is required (the PowerDNS API, like http://127.0.0.1:8081)");
  }
  const Entry* file = block.find("api_key_file");
  const Entry* env = block.find("api_key_env");
  if (file == nullptr && env == nullptr) {
    reader.error(provider.key.Mark(), provider.path, "one of api_key_file or api_key_env is required");
  } else if (file != nullptr && env != nullptr) {
    const Entry* second = file->key.Mark().pos > env->key.Mark().pos ? file : env;
    reader.error(second->key.Mark(), second->path, "set only one of api_key_file and api_key_env");
  }
  for (const Entry& setting : block.entries) {
    if (setting.name == "server_id") {
      if (auto text = reader.read_nonempty(setting, "a server id (usually localhost)")) {
        out->server_id = *text;
      }
    } else if (setting.name == "api_key_file") {
      out->api_key_file = reader.read_path(setting).value_or("");
    } else if (setting.name == "api_key_env") {
      out->api_key_env = reader.read_env_name(setting).value_or("");
    } else if (setting.name == "ca_file") {
      out->ca_file = reader.read_path(setting).value_or("");
    } else if (setting.name == "notify") {
      out->notify = reader.read_bool(setting).value_or(false);
    }
  }
  return out;
}

}  // namespace

ProviderBackend powerdns_backend() {
  ProviderBackend backend;
  backend.config.type = "powerdns";
  backend.config.keys = reference_rows();
  backend.config.example_name = "pdns";
  backend.config.example = "{type: powerdns, url: ...}";
  backend.config.secret_message = k_secret_message;
  backend.config.read = read_block;
  backend.make = [](const ProviderConfig& config, const ProviderLog& log) {
    return make_powerdns_provider_with_log(settings_of<PowerdnsConfig>(config), log);
  };
  return backend;
}

}  // namespace stsctl

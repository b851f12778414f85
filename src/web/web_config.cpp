#include "web/web_config.h"

#include <kainjow/mustache.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

namespace stsctl {

namespace {

namespace mustache = kainjow::mustache;

struct ServerDefaults {
  const char* template_file;
  const char* cert_pattern;  // nullptr: the server obtains certificates itself
  const char* key_pattern;
};

const std::map<std::string, ServerDefaults>& server_table() {
  static const std::map<std::string, ServerDefaults> table{
      {"nginx",
       {"nginx.conf.mustache", "/etc/letsencrypt/live/{host}/fullchain.pem",
        "/etc/letsencrypt/live/{host}/privkey.pem"}},
      {"apache",
       {"apache.conf.mustache", "/etc/letsencrypt/live/{host}/fullchain.pem",
        "/etc/letsencrypt/live/{host}/privkey.pem"}},
      // acme-client(1) conventions from OpenBSD's acme-client.conf examples.
      {"openbsd-httpd",
       {"openbsd-httpd.conf.mustache", "/etc/ssl/{host}.fullchain.pem", "/etc/ssl/private/{host}.key"}},
      {"caddy", {"caddy.mustache", nullptr, nullptr}},
  };
  return table;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

std::string expand(const std::string& pattern, const WebHost& host) {
  return replace_all(replace_all(pattern, "{host}", host.host), "{domain}", host.domain);
}

// Values are pasted into config syntax unquoted or inside double quotes; refuse
// anything that could end a token or a statement early.
void check_value(const std::string& what, const std::string& value) {
  for (char c : value) {
    auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f || c == '"' || c == '\'' || c == '\\' || c == ';' || c == '{' ||
        c == '}' || c == '#' || c == '$' || c == '<' || c == '>' || c == '`') {
      throw std::invalid_argument(what + " '" + value +
                                  "' contains a character not allowed in a web-server config");
    }
  }
}

std::string trim_slashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') {
    path.pop_back();
  }
  return path;
}

// OpenBSD httpd chroots to /var/www; its root paths are relative to that.
std::string openbsd_path(const std::string& path) {
  const std::string chroot = "/var/www";
  if (path == chroot) {
    return "/";
  }
  if (path.compare(0, chroot.size() + 1, chroot + "/") == 0) {
    return path.substr(chroot.size());
  }
  return path;
}

std::string read_template(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("failed to read template '" + path +
                             "' (missing or unreadable; set STSCTL_TEMPLATES_DIR to the directory " +
                             "holding stsctl's templates)");
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

const std::vector<std::string>& web_servers() {
  static const std::vector<std::string> servers{"nginx", "apache", "openbsd-httpd", "caddy"};
  return servers;
}

std::string default_templates_dir() {
  if (const char* dir = std::getenv("STSCTL_TEMPLATES_DIR"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  // Installed as PREFIX/bin/stsctl (the .deb: /usr/bin): the templates are in
  // PREFIX/share/stsctl/templates. A build tree uses the source tree's.
  std::error_code error;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) {
    auto installed = exe.parent_path().parent_path() / "share/stsctl/templates";
    if (exe.parent_path().filename() == "bin" && std::filesystem::is_directory(installed, error)) {
      return installed.string();
    }
  }
  return STSCTL_TEMPLATES_DIR;
}

std::string render_web_config(const std::string& server, const WebConfigInput& input,
                              const std::string& templates_dir) {
  auto found = server_table().find(server);
  if (found == server_table().end()) {
    std::string allowed;
    for (const auto& name : web_servers()) {
      allowed += (allowed.empty() ? "" : ", ") + name;
    }
    throw std::invalid_argument("unknown web server '" + server + "' (allowed: " + allowed + ")");
  }
  const ServerDefaults& defaults = found->second;
  std::string webroot = trim_slashes(input.webroot);
  check_value("webroot", webroot);
  check_value("listen address", input.listen_address);
  if (webroot.empty()) {
    throw std::invalid_argument("webroot is empty");
  }
  if (input.https_port <= 0 || input.https_port > 65535 || input.http_port <= 0 || input.http_port > 65535) {
    throw std::invalid_argument("web-server ports must be between 1 and 65535");
  }

  std::string cert_pattern = input.tls_cert_pattern;
  std::string key_pattern = input.tls_key_pattern;
  bool manual_tls = !cert_pattern.empty() || defaults.cert_pattern != nullptr;
  if (cert_pattern.empty() && defaults.cert_pattern != nullptr) {
    cert_pattern = defaults.cert_pattern;
  }
  if (key_pattern.empty() && defaults.key_pattern != nullptr) {
    key_pattern = defaults.key_pattern;
  }
  if (manual_tls && key_pattern.empty()) {
    throw std::invalid_argument("a TLS certificate path pattern needs a key path pattern too");
  }

  mustache::data hosts{mustache::data::type::list};
  for (const auto& host : input.hosts) {
    check_value("host", host.host);
    check_value("domain", host.domain);
    check_value("primary", host.primary);
    // An alias domain serves the primary's policy file: its mta-sts name is a
    // CNAME to the primary's policy host, so one file answers both (RFC 8461 section 3.3).
    std::string served = host.is_alias && !host.primary.empty() ? "mta-sts." + host.primary : host.host;
    std::string root = webroot + "/" + served;
    mustache::data item;
    item.set("host", host.host);
    item.set("domain", host.domain);
    item.set("is_alias", host.is_alias);
    item.set("primary", host.primary);
    item.set("root", root);
    item.set("openbsd_root", openbsd_path(root));
    if (manual_tls) {
      std::string cert = expand(cert_pattern, host);
      std::string key = expand(key_pattern, host);
      check_value("certificate path", cert);
      check_value("key path", key);
      item.set("tls", true);
      item.set("cert", cert);
      item.set("key", key);
    }
    hosts << item;
  }

  bool any_address = input.listen_address.empty();
  std::string https_port = std::to_string(input.https_port);
  std::string http_port = std::to_string(input.http_port);
  mustache::data data;
  data.set("hosts", hosts);
  data.set("webroot", webroot);
  std::string acme_root = trim_slashes(input.acme_root);
  check_value("ACME web root", acme_root);
  data.set("acme_root", acme_root);
  data.set("openbsd_acme_root", openbsd_path(acme_root));
  data.set("http_only", input.http_only);
  data.set("https_port", https_port);
  data.set("http_port", http_port);
  data.set("any_address", any_address);
  data.set("default_https_port", input.https_port == 443);
  data.set("address", any_address ? "*" : input.listen_address);
  // "443" / "127.0.0.1:8443" for nginx and Apache Listen.
  data.set("bind_https", any_address ? https_port : input.listen_address + ":" + https_port);
  data.set("bind_http", any_address ? http_port : input.listen_address + ":" + http_port);
  data.set("vhost_https", (any_address ? "*" : input.listen_address) + ":" + https_port);
  data.set("vhost_http", (any_address ? "*" : input.listen_address) + ":" + http_port);

  std::string path = templates_dir.empty() ? default_templates_dir() : templates_dir;
  path += "/";
  path += defaults.template_file;
  mustache::mustache tmpl{read_template(path)};
  if (!tmpl.is_valid()) {
    throw std::runtime_error("invalid template '" + path + "' (" + tmpl.error_message() + ")");
  }
  // Config files, not HTML: values were checked above, emit them verbatim.
  tmpl.set_custom_escape([](const std::string& text) { return text; });
  std::string out = tmpl.render(data);
  if (!tmpl.is_valid()) {
    throw std::runtime_error("failed to render template '" + path + "' (" + tmpl.error_message() + ")");
  }
  return out;
}

}  // namespace stsctl

#pragma once
// Web-server configuration for the MTA-STS policy hosts, rendered from the
// mustache templates in templates/ (`stsctl render web --server S`).
// Each policy host mta-sts.<domain> is served over HTTPS with only
// /.well-known/mta-sts.txt (text/plain) and 404 for everything else, plus a
// port-80 redirect to HTTPS where the server does not do that itself (caddy).
// Pure apart from reading the template file.

#include <string>
#include <vector>

namespace stsctl {

struct WebHost {
  std::string host;    // "mta-sts.example.org"
  std::string domain;  // "example.org"
  bool is_alias = false;
  std::string primary;  // the policy domain an alias shares ("example.net"); empty when !is_alias
};

struct WebConfigInput {
  std::string webroot;         // policies at <webroot>/mta-sts.<domain>/.well-known/mta-sts.txt
  std::vector<WebHost> hosts;  // rendered in this order
  // Certificate paths; "{host}" and "{domain}" are replaced per host. Empty:
  // the server's usual default (Let's Encrypt live/ paths for nginx and
  // Apache, acme-client paths for OpenBSD httpd, automatic TLS for caddy).
  std::string tls_cert_pattern;
  std::string tls_key_pattern;
  int https_port = 443;
  int http_port = 80;
  std::string listen_address;  // empty: all addresses (IPv4 and IPv6)
  /// Port 80 serves ACME http-01 challenges from
  /// <acme_root>/.well-known/acme-challenge/ (certbot --webroot -w, dehydrated
  /// WELLKNOWN, lego --http.webroot); OpenBSD: acme-client's challengedir.
  std::string acme_root = "/var/www/acme";
  /// Only the port-80 part (challenges and redirects): the config to start
  /// with before the first certificates exist.
  bool http_only = false;
};

/// The servers render_web_config() knows, in a fixed order.
const std::vector<std::string>& web_servers();

/// Renders templates_dir/<template> for `server` (nginx -> nginx.conf.mustache,
/// apache -> apache.conf.mustache, openbsd-httpd -> openbsd-httpd.conf.mustache,
/// caddy -> caddy.mustache). The nginx output is a set of server blocks meant
/// for an include inside http {} (e.g. /etc/nginx/conf.d/mta-sts.conf); the
/// Apache output is a set of <VirtualHost>s needing mod_ssl.
/// Alias hosts are served from their primary's directory
/// (<webroot>/mta-sts.<primary>), so one policy file serves both.
/// OpenBSD httpd runs chrooted to /var/www: that prefix is stripped from roots.
/// Throws std::invalid_argument for an unknown server (naming the allowed
/// ones) or a value that would break the config syntax (quotes, braces,
/// whitespace...), and std::runtime_error naming the path when the template
/// is missing or invalid. Empty templates_dir: default_templates_dir().
std::string render_web_config(const std::string& server, const WebConfigInput& input,
                              const std::string& templates_dir = "");

/// $STSCTL_TEMPLATES_DIR when set in the environment; else PREFIX/share/stsctl/templates
/// when the program runs as PREFIX/bin/stsctl and that directory exists (an
/// installed package); else the compiled-in source-tree templates/ directory.
std::string default_templates_dir();

}  // namespace stsctl

#include "web/web_config.h"

#include <sys/stat.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <thread>

#include "net/https_fetch.h"
#include "support/nginx_server.h"
#include "support/support.h"
#include "support/test_ca.h"

using namespace stsctl;
using stsctl::test::TempDir;
using stsctl::test::TestCa;

namespace {

WebConfigInput sample_input() {
  WebConfigInput input;
  input.webroot = "/var/www/mta-sts";
  input.hosts = {
      {"mta-sts.example.net", "example.net", false, ""},
      {"mta-sts.example.org", "example.org", true, "example.net"},
      {"mta-sts.example.com", "example.com", true, "example.net"},
      {"mta-sts.other.example", "other.example", false, ""},
  };
  return input;
}

/// sample_input() served from `dir`/www on 127.0.0.1 free ports, with one
/// leaf from `ca` covering every host (keeps the certificate pattern simple).
WebConfigInput loopback_input(const TempDir& dir, TestCa& ca) {
  WebConfigInput input = sample_input();
  input.webroot = dir.file("www");
  input.acme_root = dir.file("acme");
  test::write_file(input.acme_root + "/.well-known/acme-challenge/tok-123", "token-body");
  std::vector<std::string> names;
  for (const auto& host : input.hosts) {
    names.push_back(host.host);
  }
  TestCa::Leaf leaf = ca.issue(names);
  input.tls_cert_pattern = leaf.cert_file;
  input.tls_key_pattern = leaf.key_file;
  input.listen_address = "127.0.0.1";
  input.https_port = test::free_port();
  input.http_port = test::free_port();
  return input;
}

/// "status content-type body" of the ACME challenge tok-123 over plain HTTP,
/// as a CA's validation server fetches it.
std::string acme_challenge_fetch(const WebConfigInput& input, const std::string& host) {
  test::CommandResult result =
      test::run_command({"curl", "-s", "-w", " %{http_code} %{content_type}", "--connect-to",
                         host + ":80:127.0.0.1:" + std::to_string(input.http_port),
                         "http://" + host + "/.well-known/acme-challenge/tok-123"});
  // Body first, then the -w fields: reorder to "status type body".
  std::string out = result.out;
  auto type_at = out.rfind(' ');
  auto status_at = out.rfind(' ', type_at - 1);
  std::string type = out.substr(type_at + 1);
  type = type.substr(0, type.find(';'));
  return out.substr(status_at + 1, type_at - status_at - 1) + " " + type + " " + out.substr(0, status_at);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

size_t count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t pos = text.find(part); pos != std::string::npos; pos = text.find(part, pos + 1)) {
    ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("every server's config names every host", "[web_config]") {
  WebConfigInput input = sample_input();
  for (const auto& server : web_servers()) {
    INFO(server);
    std::string out = render_web_config(server, input);
    for (const auto& host : input.hosts) {
      CHECK(contains(out, host.host));
    }
    CHECK(contains(out, "/.well-known/mta-sts.txt"));
    CHECK(contains(out, "404"));
    CHECK_FALSE(contains(out, "{{"));
    CHECK_FALSE(contains(out, "&quot;"));
  }
  CHECK(web_servers() == std::vector<std::string>{"nginx", "apache", "openbsd-httpd", "caddy"});
}

TEST_CASE("nginx config: roots, certificates, text/plain and redirect", "[web_config]") {
  std::string out = render_web_config("nginx", sample_input());
  CHECK(count(out, "listen 443 ssl;") == 4);
  CHECK(count(out, "listen [::]:443 ssl;") == 4);
  CHECK(contains(out, "root /var/www/mta-sts/mta-sts.example.net;"));
  CHECK(contains(out, "root /var/www/mta-sts/mta-sts.other.example;"));
  // Aliases serve their primary's policy file.
  CHECK(count(out, "root /var/www/mta-sts/mta-sts.example.net;") == 3);
  CHECK(contains(out, "ssl_certificate /etc/letsencrypt/live/mta-sts.example.org/fullchain.pem;"));
  CHECK(contains(out, "ssl_certificate_key /etc/letsencrypt/live/mta-sts.example.org/privkey.pem;"));
  CHECK(contains(out, "default_type text/plain;"));
  CHECK(contains(out, "listen 80;"));
  CHECK(contains(out, "return 301 https://$host$request_uri;"));
  CHECK(contains(
      out, "server_name mta-sts.example.net mta-sts.example.org mta-sts.example.com mta-sts.other.example;"));
}

TEST_CASE("certificate patterns, ports and address are applied", "[web_config]") {
  WebConfigInput input = sample_input();
  input.tls_cert_pattern = "/etc/ssl/{domain}/{host}.crt";
  input.tls_key_pattern = "/etc/ssl/private/{host}.key";
  input.https_port = 8443;
  input.http_port = 8080;
  input.listen_address = "192.0.2.10";
  std::string nginx = render_web_config("nginx", input);
  CHECK(contains(nginx, "ssl_certificate /etc/ssl/example.org/mta-sts.example.org.crt;"));
  CHECK(contains(nginx, "ssl_certificate_key /etc/ssl/private/mta-sts.example.org.key;"));
  CHECK(contains(nginx, "listen 192.0.2.10:8443 ssl;"));
  CHECK_FALSE(contains(nginx, "[::]"));
  CHECK(contains(nginx, "return 301 https://$host:8443$request_uri;"));

  std::string apache = render_web_config("apache", input);
  CHECK(contains(apache, "<VirtualHost 192.0.2.10:8443>"));
  CHECK(contains(apache, "SSLCertificateFile \"/etc/ssl/example.net/mta-sts.example.net.crt\""));

  std::string caddy = render_web_config("caddy", input);
  CHECK(contains(caddy, "mta-sts.example.net:8443 {"));
  CHECK(contains(
      caddy, "tls /etc/ssl/example.net/mta-sts.example.net.crt /etc/ssl/private/mta-sts.example.net.key"));
  CHECK(contains(caddy, "bind 192.0.2.10"));
}

TEST_CASE("apache config", "[web_config]") {
  std::string out = render_web_config("apache", sample_input());
  CHECK(count(out, "<VirtualHost *:443>") == 4);
  CHECK(count(out, "<VirtualHost *:80>") == 4);
  CHECK(contains(out, "DocumentRoot \"/var/www/mta-sts/mta-sts.example.net\""));
  CHECK(contains(out, "ForceType text/plain"));
  CHECK(contains(out,
                 "RedirectMatch permanent \"^/(?!\\.well-known/acme-challenge/)(.*)\" "
                 "\"https://mta-sts.example.com/$1\""));
}

TEST_CASE("openbsd httpd config is relative to the /var/www chroot", "[web_config]") {
  std::string out = render_web_config("openbsd-httpd", sample_input());
  CHECK(contains(out, "server \"mta-sts.example.org\" {"));
  CHECK(contains(out, "root \"/mta-sts/mta-sts.example.net\""));
  CHECK_FALSE(contains(out, "root \"/var/www"));
  CHECK(contains(out, "listen on * tls port 443"));
  CHECK(contains(out, "certificate \"/etc/ssl/mta-sts.example.org.fullchain.pem\""));
  CHECK(contains(out, "key \"/etc/ssl/private/mta-sts.example.org.key\""));
  CHECK(contains(out, "block return 301 \"https://$HTTP_HOST$REQUEST_URI\""));
  CHECK(contains(out, "block return 404"));

  WebConfigInput elsewhere = sample_input();
  elsewhere.webroot = "/srv/mta-sts";
  CHECK(
      contains(render_web_config("openbsd-httpd", elsewhere), "root \"/srv/mta-sts/mta-sts.other.example\""));
}

TEST_CASE("caddy config uses automatic TLS", "[web_config]") {
  std::string out = render_web_config("caddy", sample_input());
  CHECK(contains(out, "mta-sts.example.com {"));
  CHECK(contains(out, "root * /var/www/mta-sts/mta-sts.example.net"));
  CHECK_FALSE(contains(out, "tls "));
  CHECK_FALSE(contains(out, ":80"));
}

TEST_CASE("render_web_config errors", "[web_config]") {
  WebConfigInput input = sample_input();
  try {
    render_web_config("lighttpd", input);
    FAIL("expected std::invalid_argument");
  } catch (const std::invalid_argument& error) {
    CHECK(std::string(error.what()) ==
          "unknown web server 'lighttpd' (allowed: nginx, apache, openbsd-httpd, caddy)");
  }

  TempDir empty("templates");
  try {
    render_web_config("nginx", input, empty.path());
    FAIL("expected std::runtime_error");
  } catch (const std::runtime_error& error) {
    CHECK(contains(error.what(), empty.path() + "/nginx.conf.mustache"));
  }

  test::write_file(empty.file("caddy.mustache"), "{{#hosts}}{{host}}\n");
  CHECK_THROWS_WITH(render_web_config("caddy", input, empty.path()),
                    Catch::Contains(empty.file("caddy.mustache")) && Catch::Contains("invalid template"));

  input.webroot = "/var/www/a b";
  CHECK_THROWS_AS(render_web_config("nginx", input), std::invalid_argument);
  input = sample_input();
  input.hosts[0].host = "mta-sts.example.net;}";
  CHECK_THROWS_AS(render_web_config("nginx", input), std::invalid_argument);
  input = sample_input();
  input.tls_cert_pattern = "/etc/ssl/\"{host}\".crt";
  CHECK_THROWS_AS(render_web_config("apache", input), std::invalid_argument);
}

TEST_CASE("the rendered nginx config passes nginx -t", "[web_config][nginx]") {
  TempDir dir("webcfg");
  TestCa ca;
  WebConfigInput input = loopback_input(dir, ca);
  test::write_file(dir.file("conf.d/mta-sts.conf"), render_web_config("nginx", input));
  test::write_file(dir.file("nginx.conf"),
                   test::nginx_main_config(dir.path(), "include " + dir.file("conf.d/mta-sts.conf") + ";"));
  test::CommandResult check = test::nginx_check_config(dir.file("nginx.conf"), dir.path());
  INFO(check.err);
  CHECK(check.exit_code == 0);

  SECTION("and with the default (all-address) listeners") {
    input.listen_address.clear();
    test::write_file(dir.file("conf.d/mta-sts.conf"), render_web_config("nginx", input));
    test::CommandResult all = test::nginx_check_config(dir.file("nginx.conf"), dir.path());
    INFO(all.err);
    CHECK(all.exit_code == 0);
  }
}

namespace {

// A minimal apache2.conf around the rendered vhosts, everything under `dir`.
std::string apache_main_config(const TempDir& dir, const WebConfigInput& input) {
  std::string modules = "/usr/lib/apache2/modules";
  std::string text = "ServerRoot " + dir.path() + "\n" + "PidFile " + dir.file("apache2.pid") + "\n" +
                     "ErrorLog " + dir.file("error.log") + "\n" + "Mutex file:" + dir.path() + " default\n" +
                     "ServerName 127.0.0.1\nTypesConfig /dev/null\n";
  // As root, workers switch to an unprivileged user (Apache refuses root).
  if (::geteuid() == 0) {
    text += "User nobody\nGroup nogroup\n";
  }
  for (const char* module : {"mpm_event", "authz_core", "alias", "mime", "socache_shmcb", "ssl"}) {
    text += std::string("LoadModule ") + module + "_module " + modules + "/mod_" + module + ".so\n";
  }
  text += "Listen 127.0.0.1:" + std::to_string(input.https_port) + "\n" +
          "Listen 127.0.0.1:" + std::to_string(input.http_port) + "\n" + "Include " +
          dir.file("mta-sts.conf") + "\n";
  return text;
}

}  // namespace

TEST_CASE("the rendered apache config passes apache2 -t and serves the policy", "[web_config][apache]") {
  // scripts/install-deps installs apache2-bin: a missing apache2 is a broken setup, not a skip.
  REQUIRE(test::have_program("apache2"));
  TempDir dir("apachecfg");
  ::chmod(dir.path().c_str(), 0755);  // readable by the unprivileged workers
  TestCa ca;
  WebConfigInput input = loopback_input(dir, ca);
  const std::string policy = "version: STSv1\r\nmode: testing\r\nmx: mail.example.net\r\nmax_age: 86400\r\n";
  test::write_file(input.webroot + "/mta-sts.example.net/.well-known/mta-sts.txt", policy);
  test::write_file(input.webroot + "/mta-sts.example.net/index.html", "not for senders");
  test::write_file(dir.file("mta-sts.conf"), render_web_config("apache", input));
  test::write_file(dir.file("apache2.conf"), apache_main_config(dir, input));
  std::map<std::string, std::string> env{{"APACHE_RUN_DIR", dir.path()}, {"APACHE_LOG_DIR", dir.path()}};
  test::CommandResult check = test::run_command({"apache2", "-t", "-f", dir.file("apache2.conf")}, "", env);
  INFO(check.out << check.err);
  REQUIRE(check.exit_code == 0);

  test::ChildProcess apache({"apache2", "-f", dir.file("apache2.conf"), "-DFOREGROUND"},
                            dir.file("apache.out"), env);
  REQUIRE(test::wait_for_port(input.https_port));
  // Apache opens its listeners before it has read all of its config.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  INFO(test::read_file(dir.file("apache.out")));
  REQUIRE(apache.running());
  FetchOptions options;
  options.ca_file = ca.ca_file();
  options.timeout_seconds = 10;
  for (const auto& host : input.hosts) {
    options.connect_to[host.host + ":443"] = "127.0.0.1:" + std::to_string(input.https_port);
  }
  FetchResult primary = fetch_policy("example.net", options);
  INFO(primary.error << (test::file_exists(dir.file("error.log")) ? test::read_file(dir.file("error.log"))
                                                                  : ""));
  CHECK(primary.status == 200);
  CHECK(primary.content_type.rfind("text/plain", 0) == 0);
  CHECK(primary.body == policy);
  CHECK(fetch_policy("example.com", options).body == policy);  // alias
  CHECK(fetch_policy("other.example", options).status == 404);

  std::string target = "127.0.0.1:" + std::to_string(input.https_port);
  test::CommandResult other = test::run_command(
      {"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", ca.ca_file(), "--connect-to",
       "mta-sts.example.net:443:" + target, "https://mta-sts.example.net/index.html"});
  CHECK(other.out == "404");
  test::CommandResult http = test::run_command(
      {"curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "--connect-to",
       "mta-sts.example.org:80:127.0.0.1:" + std::to_string(input.http_port),
       "http://mta-sts.example.org/.well-known/mta-sts.txt"});
  CHECK(http.out ==
        "301 https://mta-sts.example.org:" + std::to_string(input.https_port) + "/.well-known/mta-sts.txt");
  // ACME http-01: the challenge is served over port 80, not redirected.
  std::string token = acme_challenge_fetch(input, "mta-sts.example.org");
  CHECK(token == "200 text/plain token-body");
}

TEST_CASE("end to end: real nginx with the rendered config serves the policy", "[web_config][nginx]") {
  TempDir dir("webe2e");
  TestCa ca;
  WebConfigInput input = loopback_input(dir, ca);

  const std::string policy = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.net\r\nmax_age: 604800\r\n";
  test::write_file(input.webroot + "/mta-sts.example.net/.well-known/mta-sts.txt", policy);
  test::write_file(input.webroot + "/mta-sts.example.net/index.html", "secret-ish");
  test::write_file(dir.file("mta-sts.conf"), render_web_config("nginx", input));
  test::NginxServer nginx("include " + dir.file("mta-sts.conf") + ";", input.https_port);

  FetchOptions options;
  options.ca_file = ca.ca_file();
  options.timeout_seconds = 10;
  std::string target = "127.0.0.1:" + std::to_string(input.https_port);
  for (const auto& host : input.hosts) {
    options.connect_to[host.host + ":443"] = target;
  }

  FetchResult primary = fetch_policy("example.net", options);
  INFO(primary.error);
  REQUIRE(primary.transport_ok);
  CHECK(primary.status == 200);
  CHECK(primary.content_type == "text/plain");
  CHECK(primary.body == policy);

  // The alias host serves the primary's file with its own name's certificate.
  FetchResult alias = fetch_policy("example.org", options);
  CHECK(alias.status == 200);
  CHECK(alias.body == policy);

  // No file for other.example yet.
  CHECK(fetch_policy("other.example", options).status == 404);

  // Plain HTTP redirects to HTTPS.
  test::CommandResult http = test::run_command(
      {"curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "--connect-to",
       "mta-sts.example.net:80:127.0.0.1:" + std::to_string(input.http_port),
       "http://mta-sts.example.net/.well-known/mta-sts.txt"});
  CHECK(http.out ==
        "301 https://mta-sts.example.net:" + std::to_string(input.https_port) + "/.well-known/mta-sts.txt");
  // ACME http-01: the challenge is served over port 80 for every host, not redirected.
  CHECK(acme_challenge_fetch(input, "mta-sts.example.net") == "200 text/plain token-body");
  CHECK(acme_challenge_fetch(input, "mta-sts.example.org") == "200 text/plain token-body");

  // Anything but the policy is 404, even files that exist in the root.
  test::CommandResult other = test::run_command(
      {"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", ca.ca_file(), "--connect-to",
       "mta-sts.example.net:443:" + target, "https://mta-sts.example.net/index.html"});
  CHECK(other.out == "404");
}

TEST_CASE("--http-only configs need no certificate yet and serve ACME challenges", "[web_config][nginx]") {
  TempDir dir("webhttp");
  WebConfigInput input = sample_input();
  input.webroot = dir.file("www");
  input.acme_root = dir.file("acme");
  input.listen_address = "127.0.0.1";
  input.https_port = test::free_port();
  input.http_port = test::free_port();
  input.http_only = true;
  // Certificates that do not exist yet, as on a fresh host.
  input.tls_cert_pattern = dir.file("live/{host}/fullchain.pem");
  input.tls_key_pattern = dir.file("live/{host}/privkey.pem");
  test::write_file(input.acme_root + "/.well-known/acme-challenge/tok-123", "token-body");
  for (const std::string server : {"nginx", "apache", "openbsd-httpd"}) {
    std::string text = render_web_config(server, input);
    INFO(server << "\n" << text);
    CHECK(!contains(text, "fullchain.pem"));
    CHECK(contains(text, "acme-challenge"));
  }
  test::write_file(dir.file("mta-sts.conf"), render_web_config("nginx", input));
  test::NginxServer nginx("include " + dir.file("mta-sts.conf") + ";", input.http_port);
  CHECK(acme_challenge_fetch(input, "mta-sts.example.net") == "200 text/plain token-body");
  CHECK(acme_challenge_fetch(input, "mta-sts.other.example") == "200 text/plain token-body");
  test::CommandResult missing =
      test::run_command({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--connect-to",
                         "mta-sts.example.net:80:127.0.0.1:" + std::to_string(input.http_port),
                         "http://mta-sts.example.net/.well-known/acme-challenge/nope"});
  CHECK(missing.out == "404");
}

TEST_CASE("the rendered caddy config passes caddy validate", "[web_config][caddy]") {
  REQUIRE(test::have_program("caddy"));
  TempDir dir("caddycfg");
  TestCa ca;
  WebConfigInput input = loopback_input(dir, ca);
  test::write_file(dir.file("Caddyfile"), render_web_config("caddy", input));
  test::CommandResult result = test::run_command(
      {"caddy", "validate", "--adapter", "caddyfile", "--config", dir.file("Caddyfile")}, "",
      {{"HOME", dir.path()}, {"XDG_DATA_HOME", dir.file("data")}, {"XDG_CONFIG_HOME", dir.file("config")}});
  INFO(result.out << result.err);
  CHECK(result.exit_code == 0);
}

#pragma once
// A real nginx serving MTA-STS policy hosts over TLS on 127.0.0.1, for tests
// (PROTOCOLS.md section 6). Everything (config, pid, logs, temp paths, web
// root, certificates) lives in a TempDir; nginx runs in the foreground as a
// ChildProcess and is stopped by PID.
//
// Typical use:
//   NginxServer nginx({{"mta-sts.example.test"}});
//   nginx.write_policy("mta-sts.example.test", policy_text(p));
//   FetchOptions options = nginx.fetch_options();   // ca_file + connect_to
//   FetchResult r = fetch_policy("example.test", options);
//
// Every host shares one port (SNI picks the server block); connect_to() maps
// "<host>:443" to "127.0.0.1:<port>" like curl --connect-to, so code under
// test uses the real https://mta-sts.<domain>/ URL.

#include "net/https_fetch.h"
#include "support/support.h"
#include "support/test_ca.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace stsctl::test {

struct NginxHost {
  NginxHost() = default;
  NginxHost(std::string name) : host(std::move(name)) {}  // NOLINT: implicit, so {"mta-sts.x.test"} works

  std::string host;                     // server_name, e.g. "mta-sts.example.test"
  std::vector<std::string> cert_names;  // SANs of its leaf; empty: {host}. Set others for a wrong-name cert
  TestCa::Validity validity = TestCa::Validity::Valid;
  std::string content_type = "text/plain";  // default_type of /.well-known/mta-sts.txt
  std::string redirect;                     // non-empty: the policy URL answers `301 Location: <redirect>`
  int status = 0;                           // non-zero: the policy URL answers `return <status>;`
  bool chunked = false;  // the policy goes out chunked (SSI drops Content-Length), as from an app server
  std::string cert_of;   // non-empty: serve the very certificate of this host (listed before), as a
                         // provider's one certificate serves many hosts
};

/// Where NginxServer listens, which CA signs its leaves and which directory it
/// serves. The defaults suit a test on the host: a free port, an own CA, a web
/// root in its TempDir.
struct NginxOptions {
  int port = 0;          // 0: a free port; else this one (443 inside a test network namespace)
  TestCa* ca = nullptr;  // issue the leaves from this CA (owned by the caller); null: an own CA
  std::string webroot;   // serve <webroot>/<host>/; empty: <dir>/www. Kept across restarts
};

/// The text of a complete nginx.conf for a test: daemon off, pid, error/access
/// logs and every *_temp_path under `prefix_dir`, then `http_body` (server
/// blocks, includes...) inside http {}.
std::string nginx_main_config(const std::string& prefix_dir, const std::string& http_body);

/// Runs `nginx -t -c conf -p prefix/ -e stderr`; exit_code 0 when valid.
CommandResult nginx_check_config(const std::string& conf_file, const std::string& prefix_dir);

class NginxServer {
 public:
  /// Issues a leaf per host from its own TestCa, writes the config, checks it
  /// with `nginx -t`, starts nginx and waits for the port. Throws
  /// std::runtime_error (with nginx's output) when any step fails.
  explicit NginxServer(const std::vector<NginxHost>& hosts, const NginxOptions& options = {});

  /// Runs nginx with a caller-made http {} body that listens on 127.0.0.1:`port`
  /// (e.g. a rendered template). No own CA: ca_file() is empty.
  NginxServer(const std::string& http_body, int port);

  ~NginxServer();
  NginxServer(const NginxServer&) = delete;
  NginxServer& operator=(const NginxServer&) = delete;

  int port() const { return m_port; }
  /// The CA that signed every host's leaf.
  std::string ca_file() const { return m_issuer ? m_issuer->ca_file() : std::string(); }
  /// <webroot>/<host>/ is each host's document root.
  std::string webroot() const { return m_webroot.empty() ? m_dir.file("www") : m_webroot; }
  const std::string& dir() const { return m_dir.path(); }
  std::string error_log() const { return m_dir.file("logs/error.log"); }
  /// "<host>:443" -> "127.0.0.1:<port>" for every host.
  const std::map<std::string, std::string>& connect_to() const { return m_connect_to; }
  /// ca_file + connect_to, short timeout.
  FetchOptions fetch_options() const;

  /// Writes <webroot>/<host>/.well-known/mta-sts.txt (served immediately).
  void write_policy(const std::string& host, const std::string& text) const;

  void stop();

 private:
  void start(const std::string& http_body);

  TempDir m_dir;
  std::unique_ptr<TestCa> m_ca;  // own CA, when none was given
  TestCa* m_issuer = nullptr;    // m_ca or the caller's
  std::string m_webroot;
  std::unique_ptr<ChildProcess> m_process;
  int m_port = 0;
  std::map<std::string, std::string> m_connect_to;
};

}  // namespace stsctl::test

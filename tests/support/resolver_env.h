#pragma once
// The network a sender's host sees, for end-to-end tests: inside a private
// network + mount namespace (tests/support/in_netns.sh, wired by CMake), a
// real PowerDNS serving zones under `pdns.test.`, a real BIND serving zones
// under `bind.test.`, an unbound on 127.0.0.1:53 with a stub zone for each
// of the two parents (PROTOCOLS.md section 10), /etc/resolv.conf pointing at
// it, and nginx on 127.0.0.1:443 with a test CA. Names resolve as they would
// for an operator: no connect_to, no --resolver, no curl --resolve.
//
//   std::string b = ResolverEnv::bind_zone("a");          // "a1.bind.test"
//   ResolverEnv env({{b, "@ MX 10 mail.a1.bind.test.\n"}});  // BIND zones are fixed at start
//   std::string p = env.create_pdns_zone("a");              // "a2.pdns.test", with MX mail.<zone>
//   env.serve({"mta-sts." + p, "mta-sts." + b});            // (re)starts nginx on :443
//   env.write_config(env.config("  " + p + ": {mx: [mail." + p + "]}\n"));
//   env.stsctl("2027-01-01T00:00:00Z", {"apply", "--yes"});
//   env.dig("_mta-sts." + p, "TXT");                        // through unbound
//
// Constructing one outside such a namespace throws with a message that says
// how to run the test, so a misconfigured run fails instead of touching the
// host's resolver or silently testing nothing.

#include "support/named_server.h"
#include "support/nginx_server.h"
#include "support/pdns_server.h"
#include "support/support.h"
#include "support/test_ca.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace stsctl::test {

/// What curl got for https://mta-sts.D/.well-known/mta-sts.txt.
struct PolicyFetch {
  int exit_code = -1;  // curl's exit code (0: an HTTP answer with a verified certificate)
  long status = 0;     // HTTP status
  std::string content_type;
  std::string body;
  std::string error;  // curl's stderr
};

class ResolverEnv {
 public:
  /// Throws std::runtime_error unless this process runs in the private
  /// network namespace set up by in_netns.sh (resolv.conf -> 127.0.0.1).
  static void require_network_namespace();

  /// A fresh zone name under the PowerDNS parent: "<prefix><n>.pdns.test".
  static std::string pdns_zone(const std::string& prefix);
  /// A fresh zone name under the BIND parent: "<prefix><n>.bind.test".
  static std::string bind_zone(const std::string& prefix);

  /// Starts PowerDNS, BIND (with `bind_zones`, each under bind.test), unbound
  /// on 127.0.0.1:53. nginx starts with serve(). Throws on any failure.
  explicit ResolverEnv(const std::vector<ZoneSpec>& bind_zones = {});
  ~ResolverEnv();
  ResolverEnv(const ResolverEnv&) = delete;
  ResolverEnv& operator=(const ResolverEnv&) = delete;

  PdnsServer& pdns() { return *m_pdns; }
  NamedServer& named() { return *m_named; }
  TestCa& ca() { return m_ca; }
  const std::string& ca_file() const { return m_ca.ca_file(); }
  /// publish.webroot of the configs, and nginx's document root parent.
  const std::string& webroot() const { return m_webroot; }
  const std::string& dir() const { return m_dir.path(); }

  /// Creates a PowerDNS zone pdns_zone(prefix) with `records` (default: apex
  /// MX 10 mail.<zone>.) and returns its name.
  std::string create_pdns_zone(const std::string& prefix, const std::vector<PdnsRecord>& records = {});

  /// (Re)starts nginx on 127.0.0.1:443 serving `hosts` from webroot() with
  /// leaves from ca(); files in webroot() stay.
  void serve(const std::vector<NginxHost>& hosts);
  void stop_nginx();

  /// Writes a policy file into webroot() by hand (a hand-made setup).
  void write_policy(const std::string& domain, const std::string& text) const;

  /// Answer lines of `dig +short NAME TYPE` through the system resolver
  /// (unbound): a CNAME chain prints its targets first. Empty on NXDOMAIN/NODATA.
  std::vector<std::string> dig(const std::string& name, const std::string& type) const;
  /// The rcode dig reports through the system resolver ("NOERROR", "NXDOMAIN", ...).
  std::string dig_rcode(const std::string& name, const std::string& type) const;
  /// The id in the `v=STSv1` TXT at _mta-sts.<domain> as resolved; "" when none.
  std::string live_id(const std::string& domain) const;
  /// How many `v=STSv1` TXT strings _mta-sts.<domain> resolves to.
  size_t sts_record_count(const std::string& domain) const;

  /// curl https://mta-sts.<domain>/.well-known/mta-sts.txt, resolved by the
  /// system resolver, certificate checked against ca_file(), no redirects.
  PolicyFetch fetch_policy(const std::string& domain) const;

  /// Runs Debian's `mta-sts-query DOMAIN` (postfix-mta-sts-resolver) with
  /// SSL_CERT_FILE = the test CA: a real sender's fetch.
  CommandResult mta_sts_query(const std::string& domain) const;

  /// A complete stsctl config: providers `pdns` (default) and `bind`, policy
  /// host 127.0.0.1, TLS-RPT, publish to webroot() with verify and the test
  /// CA, no propagation wait. `domains` is the YAML under `domains:` (indented
  /// two spaces); `extra` is appended at top level (e.g. a rollout section).
  std::string config(const std::string& domains, const std::string& extra = "") const;
  /// Writes `text` to config_file().
  void write_config(const std::string& text) const;
  std::string config_file() const { return m_dir.file("stsctl.yaml"); }

  /// stsctl -c config_file() --now NOW ARGS..., with `extra_env` set.
  CommandResult stsctl(const std::string& now, const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& extra_env = {}) const;

  /// unbound's log so far (for failure messages).
  std::string unbound_log() const;

 private:
  void start_unbound();

  TempDir m_dir{"resolver-env"};
  std::unique_ptr<PdnsServer> m_pdns;
  std::unique_ptr<NamedServer> m_named;
  TestCa m_ca{"stsctl e2e Test CA"};
  std::unique_ptr<ChildProcess> m_unbound;
  std::unique_ptr<NginxServer> m_nginx;
  std::string m_webroot;
  std::string m_bind_secret_file;
};

}  // namespace stsctl::test

#pragma once
// A real PowerDNS Authoritative server (gsqlite3 backend, HTTP API) for
// tests: config, database and logs under a TempDir, listening only on
// 127.0.0.1 on free ports, in the foreground, stopped by PID.
//
//   PdnsServer pdns;                           // starts it (throws on failure)
//   std::string zone = pdns.unique_zone();     // "t3-4711.example.test"
//   pdns.create_zone(zone, {{"@", "MX", {"10 mail.example.net."}}});
//   auto config = pdns.provider_config();      // type powerdns, api_key_file
//   pdns.query("_mta-sts." + zone, "TXT");     // dig +short, sorted

#include "powerdns/powerdns_config.h"
#include "rfc2136/rfc2136_config.h"
#include "support/named_server.h"
#include "support/support.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace stsctl::test {

/// A record to seed, in API presentation format ("\"quoted txt\"").
/// `name` is relative to the zone ("@" = apex, "_mta-sts") or absolute ("x.").
struct PdnsRecord {
  std::string name;
  std::string type;
  std::vector<std::string> contents;
  uint32_t ttl = 3600;
  bool disabled = false;
};

struct PdnsApiResult {
  long status = 0;  // 0: no HTTP answer
  std::string body;
};

class PdnsServer {
 public:
  /// Starts pdns_server and waits for its API; throws std::runtime_error with
  /// the tail of its log when it does not come up. `extra_conf`: more
  /// pdns.conf lines.
  explicit PdnsServer(const std::string& extra_conf = "");
  ~PdnsServer();
  PdnsServer(const PdnsServer&) = delete;
  PdnsServer& operator=(const PdnsServer&) = delete;

  std::string api_url() const;  // "http://127.0.0.1:<port>"
  const std::string& api_key() const { return m_api_key; }
  int api_port() const { return m_api_port; }
  int dns_port() const { return m_dns_port; }
  const std::string& dir() const { return m_dir->path(); }

  /// A file holding the API key plus a trailing newline (like `echo key > f`).
  const std::string& api_key_file() const { return m_key_file; }

  /// A PowerdnsConfig pointing at this server (api_key_file set).
  PowerdnsConfig provider_config(const std::string& name = "pdns") const;

  /// A zone name not used before in this process: "<prefix><n>-<pid>.example.test".
  static std::string unique_zone(const std::string& prefix = "t");

  /// Creates a Native zone (POST /zones, NS ns1.<zone>.) then seeds `records`
  /// in one PATCH. Throws std::runtime_error with PowerDNS's answer on failure.
  void create_zone(const std::string& zone, const std::vector<PdnsRecord>& records = {});

  /// Seeds or replaces RRsets (changetype REPLACE); throws on failure.
  void replace_records(const std::string& zone, const std::vector<PdnsRecord>& records);

  /// A raw API call: `path` below /api/v1/servers/localhost (e.g. "/zones").
  PdnsApiResult api(const std::string& method, const std::string& path, const std::string& body = "") const;

  /// Answers of `dig @127.0.0.1 -p <dns_port> +short +norecurse NAME TYPE`,
  /// one rdata per entry in presentation format, sorted.
  std::vector<std::string> query(const std::string& name, const std::string& type) const;

  bool running();
  /// Stops the server (SIGTERM, then SIGKILL) by PID; idempotent.
  void stop();

 private:
  std::unique_ptr<TempDir> m_dir;
  std::unique_ptr<ChildProcess> m_process;
  std::string m_api_key;
  std::string m_key_file;
  int m_api_port = 0;
  int m_dns_port = 0;
};

/// PowerDNS's own DNS UPDATE (RFC 2136): a PdnsServer with dnsupdate=yes,
/// the zones loaded with pdnsutil, both TSIG keys in the database and only
/// the update key in each zone's TSIG-ALLOW-DNSUPDATE metadata.
class PdnsUpdateServer : public UpdateServer {
 public:
  explicit PdnsUpdateServer(const std::vector<ZoneSpec>& zones);
  std::string kind() const override { return "PowerDNS"; }
  std::string log() const override;
  void stop() override { m_server.stop(); }

 private:
  PdnsServer m_server;
};

}  // namespace stsctl::test

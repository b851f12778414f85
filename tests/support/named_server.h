#pragma once
// A throw-away BIND `named` for tests: primary zones under a TempDir, a TSIG
// key allowed to update every zone, listening on 127.0.0.1 only (a free port).
// Stopped by PID on destruction. UpdateServer is what every RFC 2136 test
// server offers (BIND here, Knot in knot_server.h, PowerDNS in pdns_server.h),
// so the same cases run against each.

#include "rfc2136/rfc2136_config.h"
#include "support/support.h"

#include <memory>
#include <string>
#include <vector>

namespace stsctl::test {

struct ZoneSpec {
  std::string name;           // no trailing dot, e.g. "example.test"
  std::string extra_records;  // zone-file text appended after SOA, NS and ns A; $ORIGIN is the zone
};

/// An RFC 2136 server under test: zones given at start, a TSIG key allowed to
/// update every zone and a second known key allowed to update none.
class UpdateServer {
 public:
  virtual ~UpdateServer() = default;
  /// "BIND", "Knot" or "PowerDNS" (for messages and per-server expectations).
  virtual std::string kind() const = 0;
  int port() const { return m_port; }
  /// The key allowed to update every zone.
  const std::string& key_name() const { return m_key_name; }
  const std::string& key_secret() const { return m_key_secret; }
  std::string key_algorithm() const { return "hmac-sha256"; }
  /// A second key the server knows but that may update nothing (REFUSED).
  const std::string& other_key_name() const { return m_other_key_name; }
  const std::string& other_key_secret() const { return m_other_key_secret; }
  /// Writes key_secret() (plus a newline) to `path`, mode 0600.
  void write_secret_file(const std::string& path) const;
  /// A ready rfc2136 Rfc2136Config for this server (TCP, key from `secret_file`).
  Rfc2136Config provider_config(const std::string& secret_file, const std::string& name = "bind") const;
  /// `dig +short +norecurse +tcp` answer lines (TXT as dig prints it: quoted strings).
  std::vector<std::string> query(const std::string& name, const std::string& type) const;
  /// Runs nsupdate (TCP, signed with the update key) on `commands`
  /// ("zone x\nupdate add ..."); a `server` line and a final `send` are added.
  CommandResult nsupdate(const std::string& commands) const;
  virtual void stop() = 0;
  /// The server's log so far.
  virtual std::string log() const = 0;

 protected:
  /// Makes both keys and writes the update key as a BIND key clause to
  /// `dir`/update.key (mode 0600, for nsupdate -k); returns the clauses of both.
  std::string make_keys(const std::string& dir);

  int m_port = 0;  // DNS port on 127.0.0.1, set by the server once chosen

 private:
  std::string m_key_dir;
  std::string m_key_name = "stsctl-key";
  std::string m_key_secret;
  std::string m_other_key_name = "other-key";
  std::string m_other_key_secret;
};

/// Starts the server of `kind` ("BIND", "Knot", "PowerDNS") serving `zones`.
std::unique_ptr<UpdateServer> start_update_server(const std::string& kind,
                                                  const std::vector<ZoneSpec>& zones);

/// The zone-file text of a test zone: SOA, NS ns.<zone>., ns A 127.0.0.1, extra records.
std::string zone_file_text(const ZoneSpec& zone);

/// A TSIG key clause as `tsig-keygen -a hmac-sha256 NAME` prints it; *secret gets the base64 secret.
std::string make_tsig_key(const std::string& name, std::string* secret);

class NamedServer : public UpdateServer {
 public:
  /// Writes the config and zones, checks them with named-checkconf -z, starts
  /// named and waits until every zone answers SOA. Throws std::runtime_error
  /// (with named's log) when anything fails.
  explicit NamedServer(const std::vector<ZoneSpec>& zones);
  ~NamedServer();
  NamedServer(const NamedServer&) = delete;
  NamedServer& operator=(const NamedServer&) = delete;

  std::string kind() const override { return "BIND"; }
  const std::string& dir() const { return m_dir.path(); }

  /// named's stderr log so far.
  std::string log() const override;

  bool running() { return m_process && m_process->running(); }
  void stop() override;

 private:
  /// Starts named on m_port; "" once it answers SOA for every zone, else why not.
  std::string start_and_wait(const std::vector<ZoneSpec>& zones, const std::string& conf_path);
  TempDir m_dir{"named"};
  std::unique_ptr<ChildProcess> m_process;
};

}  // namespace stsctl::test

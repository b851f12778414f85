#pragma once
// The validated, resolved configuration: every default applied, every name
// normalised (lowercase, no trailing dot). Produced only by load_config().

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace stsctl {

enum class PolicyMode { Testing, Enforce, None };
enum class IdFormat { Timestamp, Serial, Hash };

const char* to_string(PolicyMode mode);
const char* to_string(IdFormat format);

struct CaaEntry {
  uint8_t flags = 0;
  std::string tag;    // issue | issuewild | iodef
  std::string value;  // unquoted
};

/// Where mta-sts.D points: addresses, or exactly one CNAME target.
struct PolicyHost {
  std::vector<std::string> ipv4;  // canonical text (inet_ntop)
  std::vector<std::string> ipv6;  // canonical text (inet_ntop)
  std::string cname;              // empty unless a CNAME; no trailing dot
};

struct DomainConfig {
  std::string name;      // e.g. "example.net"
  std::string zone;      // zone holding the names; equal to or a parent of name
  std::string alias_of;  // non-empty for alias domains (names a non-alias domain)
  std::string provider;  // key into Config::providers; empty if none configured
  uint32_t ttl = 3600;

  // Policy domains only (ignored for aliases).
  PolicyMode mode = PolicyMode::Testing;
  uint32_t max_age = 86400;
  bool mode_pinned = false;     // policy.mode set on the domain itself: promote skips it
  std::vector<std::string> mx;  // lowercase patterns, as configured (may contain "*.")
  std::vector<std::string> tlsrpt_rua;
  PolicyHost policy_host;
  std::vector<CaaEntry> caa;
  IdFormat id_format = IdFormat::Timestamp;
  bool retire = false;  // publish mode none, delete after max_age

  bool is_alias() const { return !alias_of.empty(); }
};

struct RolloutStage {
  PolicyMode mode = PolicyMode::Testing;
  uint32_t max_age = 86400;
  std::optional<int64_t> hold_seconds;  // absent on the last stage
};

/// A backend's own settings (providers/<type>/<type>_config.h derives one);
/// the core never looks inside.
struct BackendConfig {
  virtual ~BackendConfig() = default;
};

struct ProviderConfig {
  std::string name;                               // key in providers:
  std::string type;                               // a type the provider registry knows
  std::shared_ptr<const BackendConfig> settings;  // read and checked by the backend of `type`
};

struct PublishConfig {
  std::string webroot;  // absolute path, or empty (no publishing)
  bool verify = false;
  std::string ca_file;                            // absolute path, or empty
  std::map<std::string, std::string> connect_to;  // "host:port" -> "addr:port"
  double timeout_seconds = 30;
  /// After a push, wait up to this long for every NS of the zone to serve the
  /// new id (0: do not wait). publish.propagation.timeout
  double propagation_timeout_seconds = 60;
  /// NS name -> "addr:port" for name servers not reachable by their names
  /// (publish.propagation.nameservers).
  std::map<std::string, std::string> nameserver_addresses;
};

/// rollout.gates.tlsrpt: {max_failure_rate: 0.01, min_sessions: 100}.
struct TlsrptGate {
  double max_failure_rate = 0.01;  // 0..1, failed / (successful + failed)
  uint64_t min_sessions = 100;     // sessions the reports must cover
};

/// rollout.gates: checks a domain must pass before it enters an enforce stage.
struct RolloutGates {
  bool starttls = true;  // every MX host offers STARTTLS with a certificate valid for its name
  int smtp_port = 25;
  std::string resolver;  // "IP[:port]" for MX lookups; empty: the system resolver
  std::string ca_file;   // absolute path, or empty (system store)
  std::map<std::string, std::string> smtp_connect_to;  // "host[:port]" or ":port" -> "addr[:port]"
  double timeout_seconds = 20;
  /// rollout.gates.tlsrpt: TLS-RPT reports over the current stage must show
  /// enough sessions and few enough failures. Absent: no such gate.
  std::optional<TlsrptGate> tlsrpt;
};

struct Config {
  std::string file;                   // the config file as given
  std::string base_dir;               // directory of the config file (absolute)
  std::vector<DomainConfig> domains;  // sorted by name
  std::vector<RolloutStage> stages;   // empty when no rollout section
  std::map<std::string, ProviderConfig> providers;
  PublishConfig publish;
  RolloutGates gates;      // rollout.gates
  std::string state_path;  // absolute SQLite path, or a postgresql:// URL as written

  const DomainConfig* find_domain(const std::string& name) const;
};

/// True for a postgresql:// or postgres:// state URL (else a file path).
inline bool is_database_url(const std::string& text) {
  return text.rfind("postgresql://", 0) == 0 || text.rfind("postgres://", 0) == 0;
}

}  // namespace stsctl

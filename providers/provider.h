#pragma once
// The provider interface: read what a DNS server holds for stsctl's names,
// and apply one zone's changes atomically. One folder per backend; a registry
// keyed by the config's `type:`.

#include "config/config.h"
#include "plan/plan.h"
#include "util/secrets.h"

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace stsctl {

/// A failure talking to a provider. The message names the provider, the zone,
/// the server, the cause and what to do next; it never contains a secret.
class ProviderError : public std::runtime_error {
 public:
  enum class Kind { Auth, ZoneMissing, Rejected, Conflict, Unreachable, Timeout, Other };
  /// The message is scrubbed of every registered secret (util/secrets.h): it
  /// may quote what a server answered.
  ProviderError(Kind kind, const std::string& message) : std::runtime_error(scrub(message)), m_kind(kind) {}
  Kind kind() const { return m_kind; }

 private:
  Kind m_kind;
};

struct ZoneQuery {
  std::string zone;                  // no trailing dot
  std::vector<RRsetKey> owned_keys;  // the RRsets stsctl owns in this zone
  // Whether the caller uses the apex MX (MX guards) and NS (propagation
  // wait). A backend may skip reading what is not wanted (reading it can cost
  // a read of the whole zone) and then leave it empty in the snapshot.
  bool want_mx = true;
  bool want_nameservers = true;
};

/// Per-zone outcome: exactly one of snapshot / error is meaningful.
struct ZoneReadResult {
  std::string zone;
  ZoneSnapshot snapshot;
  std::optional<ProviderError> error;
};

struct ZoneApplyResult {
  std::string zone;
  std::optional<ProviderError> error;  // nullopt: applied (all or nothing)
};

class Provider {
 public:
  virtual ~Provider() = default;

  /// Reads the owned RRsets (only those that exist), and the MX and NS each
  /// query wants, of each zone.
  /// Reads only owned names where the server allows it. Never throws for a
  /// single zone's failure: it is reported in that zone's result.
  virtual std::vector<ZoneReadResult> read_zones(const std::vector<ZoneQuery>& queries) = 0;

  /// Applies each non-empty plan atomically (per zone). `before` values in the
  /// changes are what read_zones returned; a backend may use them as
  /// prerequisites. Must not touch any RRset not named in the plan.
  virtual std::vector<ZoneApplyResult> apply_zones(const std::vector<ZonePlan>& plans) = 0;
};

/// Builds the backend for `config.type`. Reads secrets (files or environment)
/// here; throws ProviderError (Kind::Other) when one is missing.
std::unique_ptr<Provider> make_provider(const ProviderConfig& config);

/// The types the registry knows ("powerdns", "rfc2136").
std::vector<std::string> provider_types();

/// Where backends send request lines ("PATCH <url> -> 204") and warnings
/// ("warning: ..."); applies to providers made afterwards. Never given secrets.
void set_provider_log(std::function<void(const std::string& line)> log);

}  // namespace stsctl

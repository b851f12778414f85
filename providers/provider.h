#pragma once
// The provider interface: read what a DNS server holds for stsctl's names,
// and apply one zone's changes atomically. One folder per backend; a registry
// keyed by the config's `type:`.

#include "config/config.h"
#include "plan/plan.h"
#include "util/escape.h"
#include "util/secrets.h"

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace stsctl {

/// A failure talking to a provider. The message names the provider, the zone,
/// the server, the cause and what to do next; it never contains a secret.
class ProviderError : public std::runtime_error {
 public:
  /// NotAttempted: the zone was never sent, because the call's deadline had
  /// passed or earlier zones failed the same way (see CallLimits).
  enum class Kind { Auth, ZoneMissing, Rejected, Conflict, Unreachable, Timeout, Other, NotAttempted };
  /// The message is scrubbed of every registered secret (util/secrets.h) and
  /// its control characters escaped (util/escape.h): it may quote what a
  /// server answered.
  ProviderError(Kind kind, const std::string& message)
      : std::runtime_error(escape_control(scrub(message))), m_kind(kind) {}
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

/// Bounds on one read_zones/apply_zones call, so a hung or failing server
/// costs a bounded time instead of the per-request timeout for every zone.
struct CallLimits {
  /// No zone is started after this; the zones left get Kind::NotAttempted.
  /// A request already running ends by its own timeout.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  std::string deadline_text;  // how the deadline was given ("5m"), for messages
  /// After this many zones in a row failed the same way (same kind, same
  /// message but for the zone name; Auth, Unreachable, Timeout or Other),
  /// the remaining zones are not attempted. 0: never stop.
  size_t breaker_threshold = 3;
};

/// Applies CallLimits across the zones of one call; shared by the backends.
/// Thread-safe: zones may run on several workers.
class ZoneBreaker {
 public:
  ZoneBreaker(const CallLimits& limits, std::string provider_name);
  /// nullopt: go ahead with `zone`; else the NotAttempted error to report for it.
  std::optional<ProviderError> before(const std::string& zone);
  /// The outcome of `zone` (nullopt: it succeeded).
  void after(const std::string& zone, const std::optional<ProviderError>& error);
  /// True once the deadline passed (retries stop then).
  bool past_deadline() const;

 private:
  CallLimits m_limits;
  std::string m_provider;
  std::mutex m_mutex;
  std::string m_last_signature;  // kind and message of the last failure, zone name masked
  size_t m_same_in_a_row = 0;
  std::optional<std::string> m_tripped;  // the failure that stopped the call
};

/// Error lines with the failures that differ only in the zone name grouped
/// into one: "<first> (the same for 199 more zones: b.example, c.example, ...)".
/// Order is kept (by first occurrence). For what a command prints.
std::vector<std::string> group_zone_errors(const std::vector<std::string>& errors);

class Provider {
 public:
  virtual ~Provider() = default;

  /// Limits for the calls that follow (default: none but the breaker).
  void set_limits(const CallLimits& limits) { m_limits = limits; }

  /// Reads the owned RRsets (only those that exist), and the MX and NS each
  /// query wants, of each zone.
  /// Reads only owned names where the server allows it. Never throws for a
  /// single zone's failure: it is reported in that zone's result.
  virtual std::vector<ZoneReadResult> read_zones(const std::vector<ZoneQuery>& queries) = 0;

  /// Applies each non-empty plan atomically (per zone). `before` values in the
  /// changes are what read_zones returned; a backend may use them as
  /// prerequisites. Must not touch any RRset not named in the plan.
  virtual std::vector<ZoneApplyResult> apply_zones(const std::vector<ZonePlan>& plans) = 0;

 protected:
  CallLimits m_limits;
};

/// Where a backend sends request lines ("PATCH <url> -> 204") and warnings
/// ("warning: ..."); never given secrets. Called from worker threads, one
/// call at a time. Empty: no log.
using ProviderLog = std::function<void(const std::string& line)>;

/// Builds the backend for `config.type`. Reads secrets (files or environment)
/// here; throws ProviderError (Kind::Other) when one is missing.
std::unique_ptr<Provider> make_provider(const ProviderConfig& config, const ProviderLog& log = {});

}  // namespace stsctl

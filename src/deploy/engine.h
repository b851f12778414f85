#pragma once
// The deploy engine: plan reads the state and what is live, apply carries a
// plan out in explicit phases (record pending ids -> publish policy files ->
// verify them over HTTPS -> check invariants -> push each zone atomically ->
// record what went live -> wait for the name servers), reporting to an event
// sink. It knows no CLI: the caller passes the config, the state, the
// providers, the web edge, the clock and the sink, and takes the state lock.

#include "deploy/deployment.h"
#include "deploy/policy_web.h"
#include "provider.h"
#include "state/state.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace stsctl {

/// What the engine reports while it works. The CLI prints them; tests collect them.
class EventSink {
 public:
  enum class Kind {
    Info,     // "published <path>", "updated zone <zone>"
    Warning,  // printed as "warning: <text>"
    Blocked,  // "blocked (<guard>): <domain>: ..."
    Error,    // printed as "error: <text>"
    Progress  // a progress line that a terminal may overwrite
  };
  virtual ~EventSink() = default;
  virtual void emit(Kind kind, const std::string& text) = 0;
};

/// One provider object per configured provider for a whole run, made on first
/// use, used for reading and for applying.
class ProviderSet {
 public:
  using Factory = std::function<std::unique_ptr<Provider>(const ProviderConfig&)>;
  ProviderSet(const Config& config, Factory factory) : m_config(config), m_factory(std::move(factory)) {}
  /// Throws ProviderError when the provider cannot be made (e.g. its secret
  /// is missing) or is not configured.
  Provider& get(const std::string& name);

 private:
  const Config& m_config;
  Factory m_factory;
  std::map<std::string, std::unique_ptr<Provider>> m_made;
};

struct DeployEnvironment {
  StateStore& state;
  ProviderSet& providers;
  PolicyWeb& web;
  EventSink& events;
  int64_t now = 0;       // the run's time (--now, or the clock)
  int64_t real_now = 0;  // the system clock, to tell simulated time apart
};

struct ApplyResult {
  std::set<std::string> failed_zones;
  size_t recorded_ids = 0;
  bool errors = false;  // a zone failed or the deployment had errors: nothing of it was recorded
};

/// The state as the pure core reads it.
StateSnapshot snapshot_of(const StateStore& state);

class DeployEngine {
 public:
  DeployEngine(const Config& config, DeployEnvironment environment) : m_config(config), m_env(environment) {}

  /// Reads the state and what is live (DNS through the providers, policies
  /// whose id the state does not know) and builds the deployment. Writes
  /// nothing.
  Deployment plan(const DeployRequest& request);

  /// Carries out a deployment that plan() built on this engine. Domains whose
  /// zone fails are not recorded; a later run converges.
  ApplyResult apply(Deployment& deployment, const DeployRequest& request);

 private:
  void record_pending(const Deployment& deployment);
  void publish_files(const Deployment& deployment);
  void verify(Deployment& deployment);
  std::set<std::string> push(Deployment& deployment);
  size_t record(const Deployment& deployment, const DeployRequest& request,
                const std::set<std::string>& failed_zones);
  void wait_for_name_servers(const Deployment& deployment, const std::set<std::string>& failed_zones);

  const Config& m_config;
  DeployEnvironment m_env;
  StateSnapshot m_snapshot;
};

}  // namespace stsctl

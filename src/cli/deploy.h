#pragma once
// The shared path of `plan`, `apply` and `promote`: effective policies and
// ids, desired records, live reads, per-zone plans, guards, then (apply only)
// publish -> verify -> push -> record. `plan` and `promote --dry-run` stop
// before the first side effect.

#include "cli/context.h"
#include "plan/plan.h"
#include "policy/policy_id.h"
#include "records/desired.h"
#include "rollout/rollout.h"
#include "state/state.h"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace stsctl {

struct DomainDecision {
  std::string domain;
  DomainPolicy policy;
  IdDecision id;
  std::optional<DomainState> previous;
  int stage = 0;
  bool retired_out = false;  // retirement period over: records are deleted
  bool held = false;         // a guard keeps the id (and the policy file) as they are
};

struct DeployInput {
  /// Stage per domain to use instead of the state's (promote).
  std::map<std::string, int> stage_overrides;
  /// Domains whose id must stay at the state's (verification failed).
  std::set<std::string> hold_ids;
};

struct ZoneWork {
  std::string zone;
  std::string provider;
  std::vector<std::string> domains;  // every domain (policy or alias) whose names are in this zone
  std::vector<RRsetKey> owned_keys;
  std::vector<RRset> desired;
  std::optional<ZoneSnapshot> live;
  std::optional<std::string> read_error;
  ZonePlan plan;
};

struct Warning {
  std::string domain;
  std::string message;
};

struct Blocked {
  std::string domain;
  std::string guard;    // "mx-coverage", "policy-not-live", "gate"
  std::string message;  // what would make it pass
};

struct Deployment {
  std::map<std::string, DomainDecision> decisions;  // policy domains
  std::map<std::string, ZoneWork> zones;
  std::vector<Warning> warnings;
  std::vector<Blocked> blocked;
  std::vector<std::string> errors;  // read failures etc.
  std::set<std::string> hold;       // policy domains whose id a guard keeps
  std::set<std::string> removed;    // in the state but not the config file: retiring
  Config config;                    // the config file's, plus the removed domains

  size_t change_count() const;
  std::vector<const DomainDecision*> bumps() const;
};

/// The config plus a retiring entry for each domain the state knows (with its
/// zone and provider) that the file no longer lists; warns about the others.
Config with_removed_domains(const Config& config, const StateStore& state,
                            const std::map<std::string, DomainState>& known, Deployment& deployment);

/// Builds the whole deployment: decisions from state (read-only), desired
/// records, live reads from every provider, plans and the MX guards.
Deployment build_deployment(Context& context, StateStore& state, const DeployInput& input, bool force);

/// Human, JSON and Markdown forms of a deployment's plan.
std::string format_plan_text(const Deployment& deployment, int64_t now);
std::string format_plan_json(const Deployment& deployment, int64_t now);
std::string format_plan_markdown(const Deployment& deployment, int64_t now);

struct ApplyOptions {
  bool yes = false;
  bool force = false;
  DeployInput input;
  std::vector<Blocked>* blocked_out = nullptr;  // receives what guards blocked (promote)
};

/// `apply`: plan, confirm, lock, publish policy files, verify, push per zone,
/// record state per zone. Returns the exit code.
int run_apply(Context& context, const ApplyOptions& options);

/// `plan`: returns the exit code (2 with detailed_exitcode when changes).
int run_plan(Context& context, const std::string& format, bool detailed_exitcode);

/// For each policy domain: itself and its aliases, the hosts that serve its
/// policy file (an alias's mta-sts name is a CNAME to the primary's).
std::map<std::string, std::vector<std::string>> policy_hosts(const Config& config);

}  // namespace stsctl

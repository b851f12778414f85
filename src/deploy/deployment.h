#pragma once
// The pure core of plan/apply/promote: from the config, a snapshot of the
// state and what was read live (DNS and policy files), the decisions per
// policy domain, the desired records and plan per zone, and what the guards
// hold back. No I/O here: the engine (engine.h) gathers the inputs and
// carries the result out.

#include "plan/plan.h"
#include "policy/policy_id.h"
#include "provider.h"
#include "records/desired.h"
#include "rollout/rollout.h"
#include "state/state.h"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace stsctl {

/// What the state knows, read once at the start of a run.
struct StateSnapshot {
  std::map<std::string, DomainState> domains;
  std::map<std::string, PendingId> pending;
  std::map<std::string, std::vector<PublishedVersion>> history;  // oldest first
  int64_t latest_time = 0;
};

/// The state's history rows as the rollout logic reads them (the mx lines
/// come from the stored policy text).
std::vector<PublishedVersion> versions_of(const std::vector<HistoryEntry>& history);

/// A policy file as senders fetch it today, for a domain whose live
/// `_mta-sts` id the state does not know (a hand-made setup, a lost state).
struct LivePolicy {
  std::optional<Policy> policy;  // nullopt when it could not be fetched or parsed
  std::string error;             // why not, when nullopt
  std::string body;              // the bytes served, when fetched with HTTP 200
};

struct DomainDecision {
  std::string domain;
  DomainPolicy policy;
  IdDecision id;
  std::optional<DomainState> previous;  // the published state
  std::optional<PendingId> pending;     // an id decided earlier, not confirmed live
  std::string live_id;                  // the id DNS serves ("" when none, or not read yet)
  bool adopting = false;                // no state, but a live id: taking over a hand-made setup
  bool keeps_live_id = false;           // adopting, and the live file is the canonical policy: no new id
  bool pending_went_live = false;       // the pending id (of another hash) is live: record it first
  int stage = 0;
  bool stage_moves = false;               // promote: enters `stage` with this run
  bool retiring = false;                  // retire: true (or removed from the config)
  bool retired_out = false;               // retirement wait over: records are deleted
  bool restart_retirement = false;        // the live id is not ours: the wait starts again
  std::optional<int64_t> retiring_until;  // when the records may go (retiring only)
  bool held = false;                      // a guard keeps the id (and the policy file) as they are
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
  std::string guard;    // "mx-coverage", "policy-not-live", "gate", "retirement"
  std::string change;   // what is held back, e.g. "id 1 -> 2 (mode enforce, max_age 604800)"
  std::string message;  // why, and what would make it pass
};

/// A policy file the run writes (or would write) before any id is pushed.
struct PolicyFileChange {
  std::string domain;   // the policy domain
  std::string host;     // the domain whose mta-sts host serves it (the domain or an alias)
  bool exists = false;  // replaces a file with other bytes (else: creates it)
};

struct Deployment {
  int64_t now = 0;
  std::map<std::string, DomainDecision> decisions;  // policy domains
  std::map<std::string, ZoneWork> zones;
  std::vector<std::string> notices;  // e.g. "example.org: adopting live id 210803 → 20261127093000"
  std::vector<Warning> warnings;
  std::vector<Blocked> blocked;
  std::vector<std::string> errors;  // read failures etc.
  std::vector<PolicyFileChange> policy_files;
  std::set<std::string> removed;  // in the state but not the config file: retiring
  Config config;                  // the config file's, plus the removed domains

  size_t change_count() const;  // record changes over all zones
  std::vector<const DomainDecision*> bumps() const;
  /// Whether apply has anything to do: record changes, ids to record, policy
  /// files to write, stages to enter.
  bool has_pending_work() const;
};

/// What the caller asks beyond the config.
struct DeployRequest {
  std::map<std::string, int> stage_overrides;  // promote: the stage each domain enters
  bool force = false;                          // push enforce although the MX guard objects
  bool waits_for_propagation = false;          // apply waits for the new ids on every NS
};

/// Step 1: decisions from the config and the state alone (ids as if nothing
/// were live), the zones and the RRsets stsctl owns in each.
Deployment prepare_deployment(const Config& config, const StateSnapshot& state, const DeployRequest& request,
                              int64_t now);

/// Step 2 input: what to read per zone (owned RRsets, and the apex MX/NS where
/// the guards or the propagation wait need them). Zones without a provider
/// get an error instead.
std::map<std::string, std::vector<ZoneQuery>> zone_queries(Deployment& deployment, const StateSnapshot& state,
                                                           const DeployRequest& request);

/// Step 3: takes the live reads (zone -> snapshot or error), finds each
/// domain's live id, and decides again where the state does not know it
/// (adoption). Returns the domains whose live policy must be fetched: those
/// whose live id the state does not know.
std::vector<std::string> attach_live(Deployment& deployment, const StateSnapshot& state,
                                     std::vector<ZoneReadResult> reads);

/// Step 4: retirement times, desired records, plans and the MX guards.
/// `live_policies`: the result of fetching the domains attach_live named;
/// `current_files`: host -> the bytes the web root holds now ("" if none;
/// empty map when nothing is published to a web root).
void settle_deployment(Deployment& deployment, const StateSnapshot& state, const DeployRequest& request,
                       const std::map<std::string, LivePolicy>& live_policies,
                       const std::map<std::string, std::string>& current_files);

/// After settle: holds `domain` back (a verification or a gate failed) and
/// recomputes the desired records and plans.
void hold_domains(Deployment& deployment, const std::vector<Blocked>& reasons);

/// For each policy domain: itself and its aliases, the hosts that serve its
/// policy file (an alias's mta-sts name is a CNAME to the primary's).
std::map<std::string, std::vector<std::string>> policy_hosts(const Config& config);

/// "id 1 -> 2 (mode enforce, max_age 604800, was testing)".
std::string describe_bump(const DomainDecision& decision);

}  // namespace stsctl

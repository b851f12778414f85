#pragma once
// The state database (a SQLite file, or PostgreSQL for teams): per policy domain the current policy and id,
// rollout stage, and an append-only history of every published policy.
// This is an edge module (file I/O); the core never includes it.

#include "config/config.h"
#include "policy/policy_id.h"
#include "records/desired.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace stsctl {

class StateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct DomainState {
  std::string domain;
  std::string policy_hash;
  std::string policy_id;
  PolicyMode mode = PolicyMode::Testing;
  uint32_t max_age = 0;
  int stage = 0;                          // index into rollout.stages
  int64_t stage_since = 0;                // unix seconds (UTC)
  int64_t updated_at = 0;                 // when the current id was recorded
  std::optional<int64_t> retiring_until;  // set while a retired domain's mode-none policy ages out
  std::string gate_status;                // last promotion gate result (human text), empty if none
  int64_t last_check = 0;                 // 0 when never checked
  std::string zone;                       // where its records live ("" before schema 2)
  std::string provider;
  // When a retirement deleted the records. Set once and never undone, so a
  // later run with an earlier clock does not publish the domain again.
  std::optional<int64_t> retired_out_at;
};

/// An id decided for a policy hash but not (yet) confirmed live: recorded
/// before anything is pushed, so a run killed after its push and before its
/// record does not make the next run mint a second id for the same policy.
struct PendingId {
  std::string domain;
  std::string id;
  std::string hash;
  PolicyMode mode = PolicyMode::Testing;
  uint32_t max_age = 0;
  std::string policy_text;
  int64_t decided_at = 0;
};

struct HistoryEntry {
  int64_t seq = 0;
  std::string domain;
  int64_t published_at = 0;
  std::string id;
  std::string hash;
  PolicyMode mode = PolicyMode::Testing;
  uint32_t max_age = 0;
  std::string policy_text;
};

/// What a successful push (or a render) records for one domain.
struct PublishedPolicyRecord {
  std::string domain;
  std::string id;
  std::string hash;
  Policy policy;
  std::string policy_text;
};

class StateStore {
 public:
  /// Opens `path` when it exists, else an empty in-memory store: for commands
  /// that only read state (plan, status, promote --dry-run), which must not
  /// create the database.
  /// A PostgreSQL database without stsctl's tables reads as empty too.
  static std::unique_ptr<StateStore> open_for_reading(const std::string& location);

  /// Opens or creates the database at `location`, a SQLite file path or a
  /// postgresql:// URL (schema created/migrated; SQLite: WAL journal, waits
  /// up to 30 s for another process's write transaction). Throws StateError
  /// naming the location and the database's message, also for a schema newer
  /// than this build knows. Do not keep one open across fork().
  explicit StateStore(const std::string& location);
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  /// Groups every write made through this store while it lives into one
  /// transaction, so one disk flush instead of one per setter (apply records
  /// 1,000 domains' locations at once). Nothing is kept unless commit() runs.
  /// One batch at a time; not for resolve_and_record with a meanwhile.
  class Batch {
   public:
    explicit Batch(StateStore& store);
    ~Batch();
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;
    void commit();

   private:
    StateStore& m_store;
    bool m_done = false;
  };

  std::optional<DomainState> domain(const std::string& name) const;
  std::map<std::string, DomainState> all_domains() const;
  /// Every domain's rollout stage: all_domains() without the rest of each row.
  std::map<std::string, int> stages() const;
  std::vector<HistoryEntry> history(const std::string& domain) const;  // oldest first
  /// Every domain's history, oldest first per domain (one query).
  std::map<std::string, std::vector<HistoryEntry>> all_history() const;
  /// Every pending id (see PendingId).
  std::map<std::string, PendingId> pending() const;
  /// The latest time any run wrote into this state (0 when none): a run whose
  /// clock is earlier must not undo what that later time decided.
  int64_t latest_time() const;

  /// Read-only: the id each policy would get now (decide_next_id against the
  /// stored published and pending ids). Nothing is written.
  std::map<std::string, IdDecision> preview_ids(const std::vector<DomainPolicy>& policies,
                                                const std::map<std::string, IdFormat>& formats,
                                                int64_t now_unix) const;

  /// In ONE write transaction (BEGIN IMMEDIATE): decides ids against the
  /// stored state and records every bump (domain row + history row: the
  /// policy counts as published). Two processes calling this at once for the
  /// same policy end with one id.
  std::map<std::string, IdDecision> resolve_and_record(const std::vector<DomainPolicy>& policies,
                                                       const std::map<std::string, IdFormat>& formats,
                                                       int64_t now_unix);

  /// The same, but once the ids are decided `meanwhile(decisions)` runs on
  /// another thread while the bumps are written (render zone builds every
  /// zone then). The transaction commits only when both succeeded; if either
  /// throws, nothing is recorded and the exception (meanwhile's first)
  /// propagates.
  std::map<std::string, IdDecision> resolve_and_record(
      const std::vector<DomainPolicy>& policies, const std::map<std::string, IdFormat>& formats,
      int64_t now_unix, const std::function<void(const std::map<std::string, IdDecision>&)>& meanwhile,
      const std::set<std::string>& decided_only = {});
  // decided_only: domains whose bump is recorded as pending, not published
  // (render zone for domains that a provider publishes: apply verifies and
  // pushes that id later, and their stage clock starts then).

  /// Records ids decided for policies about to be pushed, in one transaction
  /// (replacing any older pending id of the domain). A record whose hash is
  /// the published one is a no-op.
  void record_pending(const std::vector<PublishedPolicyRecord>& records, int64_t now_unix);

  /// Records policies that were just pushed (or found live), in one
  /// transaction, and drops their pending ids. A row whose hash equals the
  /// stored one is a no-op (no history row).
  void record_published(const std::vector<PublishedPolicyRecord>& records, int64_t now_unix);

  /// Each setter is one write transaction. set_stage, set_gate_status and
  /// set_retiring_until throw StateError when the domain has no row yet;
  /// set_last_check and forget_domain are then no-ops.
  /// Remembers the zone and provider of a domain (no-op without a row).
  void set_location(const std::string& domain, const std::string& zone, const std::string& provider);
  void set_stage(const std::string& domain, int stage, int64_t since_unix);
  void set_gate_status(const std::string& domain, const std::string& status);
  void set_retiring_until(const std::string& domain, std::optional<int64_t> until_unix);
  void set_last_check(const std::string& domain, int64_t when_unix);
  /// Marks a retired domain's records as deleted (see retired_out_at).
  void set_retired_out(const std::string& domain, int64_t when_unix);
  /// Raises latest_time() to `when_unix` (never lowers it).
  void advance_latest_time(int64_t when_unix);
  void forget_domain(const std::string& domain);  // removes the domain row; history stays

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

/// Who holds the run lock (written when it is taken, removed on release).
struct LockHolder {
  std::string host;
  int64_t pid = 0;
  std::string command;  // "stsctl apply"
  int64_t since = 0;    // unix seconds
};

/// "stsctl apply (host h, pid 12, since 2026-11-27T09:00:00Z)".
std::string describe_holder(const LockHolder& holder);

/// An exclusive lock held for the whole of an apply/promote, so two stsctl
/// processes (on one machine or, with PostgreSQL state, on several) never
/// both bump. SQLite state: flock on "<state path>.lock", the holder written
/// into that file. PostgreSQL state: a transaction-level advisory lock on a
/// connection of its own (released by PostgreSQL when the session ends, also
/// on kill -9) and a stsctl_lock row naming the holder. Either way a holder
/// found on taking the lock was left by a process that died: stale_holder().
class StateLock {
 public:
  /// Waits up to `timeout_seconds` (0: one try); throws StateError naming
  /// the holder when still held. `command` names this run for others.
  explicit StateLock(const std::string& state_location, double timeout_seconds = 30,
                     const std::string& command = "stsctl");
  ~StateLock();
  StateLock(const StateLock&) = delete;
  StateLock& operator=(const StateLock&) = delete;

  /// The dead holder whose lock info this lock replaced, if any.
  const std::optional<LockHolder>& stale_holder() const { return m_stale; }

  struct Backend;

 private:
  std::unique_ptr<Backend> m_backend;
  std::optional<LockHolder> m_stale;
};

}  // namespace stsctl

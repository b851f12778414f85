#include "state/state.h"

#include "state/postgres_db.h"
#include "state/sqlite_db.h"
#include "state/state_schema.h"

#include <sys/stat.h>

#include <exception>
#include <functional>
#include <thread>

namespace stsctl {

namespace {

const char* mode_text(PolicyMode mode) { return to_string(mode); }

PolicyMode mode_from_text(const std::string& text, const std::string& path) {
  for (PolicyMode mode : {PolicyMode::Testing, PolicyMode::Enforce, PolicyMode::None}) {
    if (text == to_string(mode)) {
      return mode;
    }
  }
  throw StateError("failed to read state database '" + path + "' (unknown policy mode '" + text + "')");
}

}  // namespace

struct StateStore::Impl {
  std::unique_ptr<SqlDb> db;

  const std::string& path() const { return db->name(); }

  std::optional<DomainState> read_domain(const std::string& name) const {
    auto q = db->query(
        "SELECT domain, policy_hash, policy_id, mode, max_age, stage, stage_since, updated_at, "
        "retiring_until, "
        "gate_status, last_check, zone, provider, retired_out_at FROM domains WHERE domain = ?1");
    q->bind(1, name);
    if (!q->step()) {
      return std::nullopt;
    }
    return row_to_domain(*q);
  }

  DomainState row_to_domain(const SqlQuery& q) const {
    DomainState d;
    d.domain = q.text(0);
    d.policy_hash = q.text(1);
    d.policy_id = q.text(2);
    d.mode = mode_from_text(q.text(3), path());
    d.max_age = static_cast<uint32_t>(q.integer(4));
    d.stage = static_cast<int>(q.integer(5));
    d.stage_since = q.integer(6);
    d.updated_at = q.integer(7);
    if (!q.is_null(8)) {
      d.retiring_until = q.integer(8);
    }
    d.gate_status = q.text(9);
    d.last_check = q.integer(10);
    d.zone = q.text(11);
    d.provider = q.text(12);
    if (!q.is_null(13)) {
      d.retired_out_at = q.integer(13);
    }
    return d;
  }

  // seq, domain, published_at, id, hash, mode, max_age, policy_text
  HistoryEntry row_to_history(const SqlQuery& q) const {
    HistoryEntry e;
    e.seq = q.integer(0);
    e.domain = q.text(1);
    e.published_at = q.integer(2);
    e.id = q.text(3);
    e.hash = q.text(4);
    e.mode = mode_from_text(q.text(5), path());
    e.max_age = static_cast<uint32_t>(q.integer(6));
    e.policy_text = q.text(7);
    return e;
  }

  // Inserts a new domain row (stage 0 since now) or replaces the current
  // policy of an existing one (stage untouched), then appends history.
  void record(const std::string& domain, const std::string& id, const std::string& hash, const Policy& policy,
              const std::string& text, int64_t now) {
    auto up = db->query(
        "INSERT INTO domains (domain, policy_hash, policy_id, mode, max_age, stage, stage_since, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?6) "
        "ON CONFLICT(domain) DO UPDATE SET policy_hash = excluded.policy_hash, policy_id = "
        "excluded.policy_id, "
        "mode = excluded.mode, max_age = excluded.max_age, updated_at = excluded.updated_at, "
        "retired_out_at = NULL");
    up->bind(1, domain).bind(2, hash).bind(3, id).bind(4, std::string(mode_text(policy.mode)));
    up->bind(5, static_cast<int64_t>(policy.max_age)).bind(6, now);
    up->step();
    auto hist = db->query(
        "INSERT INTO history (domain, published_at, id, hash, mode, max_age, policy_text) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    hist->bind(1, domain).bind(2, now).bind(3, id).bind(4, hash).bind(5, std::string(mode_text(policy.mode)));
    hist->bind(6, static_cast<int64_t>(policy.max_age)).bind(7, text);
    hist->step();
    auto drop = db->query("DELETE FROM pending WHERE domain = ?1 AND id = ?2");
    drop->bind(1, domain).bind(2, id);
    drop->step();
  }

  void record_pending(const std::string& domain, const std::string& id, const std::string& hash,
                      const Policy& policy, const std::string& text, int64_t now) {
    auto up = db->query(
        "INSERT INTO pending (domain, id, hash, mode, max_age, policy_text, decided_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
        "ON CONFLICT(domain) DO UPDATE SET id = excluded.id, hash = excluded.hash, mode = excluded.mode, "
        "max_age = excluded.max_age, policy_text = excluded.policy_text, decided_at = excluded.decided_at "
        "WHERE pending.id != excluded.id");
    up->bind(1, domain).bind(2, id).bind(3, hash).bind(4, std::string(mode_text(policy.mode)));
    up->bind(5, static_cast<int64_t>(policy.max_age)).bind(6, text).bind(7, now);
    up->step();
  }

  // Records every bump in `decisions` (inside the caller's transaction):
  // as pending for the domains in decided_only, else as published.
  void record_bumps(const std::vector<DomainPolicy>& policies,
                    const std::map<std::string, IdDecision>& decisions, int64_t now,
                    const std::set<std::string>& decided_only) {
    for (const auto& p : policies) {
      auto found = decisions.find(p.domain);
      if (found == decisions.end() || !found->second.bumped) {
        continue;
      }
      if (decided_only.count(p.domain) != 0) {
        record_pending(p.domain, found->second.id, p.hash, p.policy, p.text, now);
      } else {
        record(p.domain, found->second.id, p.hash, p.policy, p.text, now);
      }
    }
  }

  std::map<std::string, IdDecision> decide(const std::vector<DomainPolicy>& policies,
                                           const std::map<std::string, IdFormat>& formats, int64_t now,
                                           bool write) {
    std::map<std::string, IdDecision> out;
    // One scan instead of a query per domain: a config may hold 100,000.
    std::map<std::string, IdHistory> known;
    {
      auto q = db->query("SELECT domain, policy_id, policy_hash FROM domains");
      while (q->step()) {
        known[q->text(0)].published = PublishedPolicy{q->text(1), q->text(2)};
      }
      auto pending = db->query("SELECT domain, id, hash FROM pending");
      while (pending->step()) {
        known[pending->text(0)].pending = PublishedPolicy{pending->text(1), pending->text(2)};
      }
    }
    static const IdHistory k_none;
    for (const auto& p : policies) {
      auto found = known.find(p.domain);
      const auto f = formats.find(p.domain);
      const IdFormat format = f == formats.end() ? IdFormat::Timestamp : f->second;
      IdDecision decision =
          decide_next_id(format, now, found == known.end() ? k_none : found->second, p.hash);
      if (write && decision.bumped) {
        record(p.domain, decision.id, p.hash, p.policy, p.text, now);
      }
      out.insert_or_assign(out.end(), p.domain, decision);  // policies come in name order
    }
    return out;
  }

  // The stored policy hash of each record's domain: one scan for many
  // records (a query each costs a round trip on PostgreSQL), else lookups.
  std::map<std::string, std::string> current_hashes(const std::vector<PublishedPolicyRecord>& records) const {
    std::map<std::string, std::string> out;
    if (records.size() > 32) {
      auto q = db->query("SELECT domain, policy_hash FROM domains");
      while (q->step()) {
        out.emplace(q->text(0), q->text(1));
      }
      return out;
    }
    for (const auto& r : records) {
      auto q = db->query("SELECT policy_hash FROM domains WHERE domain = ?1");
      q->bind(1, r.domain);
      if (q->step()) {
        out.emplace(r.domain, q->text(0));
      }
    }
    return out;
  }

  // Runs an UPDATE on one domain row; false when there is no such row.
  bool update_domain(const char* sql /* a string literal */, const std::string& domain,
                     const std::function<void(SqlQuery&)>& bind_rest) {
    WriteTxn txn(*db);
    auto q = db->query(sql);
    q->bind(1, domain);
    bind_rest(*q);
    q->step();
    const bool changed = q->changes() > 0;
    txn.commit();
    return changed;
  }

  void require_domain(bool found, const std::string& domain, const char* verb) const {
    if (!found) {
      throw StateError("failed to " + std::string(verb) + " in state database '" + path() +
                       "' (no state for domain '" + domain + "')");
    }
  }
};

StateStore::StateStore(const std::string& location) : m_impl(std::make_unique<Impl>()) {
  m_impl->db =
      is_postgres_url(location) ? open_postgres(location) : open_sqlite(location, SqliteOpen::Create);
  migrate_state_schema(*m_impl->db);
}

StateStore::~StateStore() = default;

StateStore::Batch::Batch(StateStore& store) : m_store(store) { m_store.m_impl->db->begin_write(); }

StateStore::Batch::~Batch() {
  if (!m_done) {
    m_store.m_impl->db->rollback();
  }
}

void StateStore::Batch::commit() {
  m_store.m_impl->db->commit();
  m_done = true;
}

std::unique_ptr<StateStore> StateStore::open_for_reading(const std::string& location) {
  if (is_postgres_url(location)) {
    // A database without stsctl's tables reads as empty, and stays so.
    const bool has_schema = open_postgres(location)->has_table("meta");
    return std::make_unique<StateStore>(has_schema ? location : ":memory:");
  }
  struct stat info {};
  return std::make_unique<StateStore>(::stat(location.c_str(), &info) == 0 ? location : ":memory:");
}

std::optional<DomainState> StateStore::domain(const std::string& name) const {
  return m_impl->read_domain(name);
}

std::map<std::string, DomainState> StateStore::all_domains() const {
  ReadTxn txn(*m_impl->db);
  auto q = m_impl->db->query(
      "SELECT domain, policy_hash, policy_id, mode, max_age, stage, stage_since, updated_at, retiring_until, "
      "gate_status, last_check, zone, provider, retired_out_at FROM domains ORDER BY domain");
  std::map<std::string, DomainState> out;
  while (q->step()) {
    DomainState d = m_impl->row_to_domain(*q);
    out.emplace_hint(out.end(), d.domain, std::move(d));  // rows come in key order
  }
  return out;
}

std::map<std::string, int> StateStore::stages() const {
  auto q = m_impl->db->query("SELECT domain, stage FROM domains ORDER BY domain");
  std::map<std::string, int> out;
  while (q->step()) {
    out.emplace_hint(out.end(), q->text(0), static_cast<int>(q->integer(1)));
  }
  return out;
}

std::vector<HistoryEntry> StateStore::history(const std::string& domain) const {
  auto q = m_impl->db->query(
      "SELECT seq, domain, published_at, id, hash, mode, max_age, policy_text FROM history "
      "WHERE domain = ?1 ORDER BY seq");
  q->bind(1, domain);
  std::vector<HistoryEntry> out;
  while (q->step()) {
    out.push_back(m_impl->row_to_history(*q));
  }
  return out;
}

std::map<std::string, IdDecision> StateStore::preview_ids(const std::vector<DomainPolicy>& policies,
                                                          const std::map<std::string, IdFormat>& formats,
                                                          int64_t now_unix) const {
  ReadTxn txn(*m_impl->db);
  return m_impl->decide(policies, formats, now_unix, false);
}

std::map<std::string, IdDecision> StateStore::resolve_and_record(
    const std::vector<DomainPolicy>& policies, const std::map<std::string, IdFormat>& formats,
    int64_t now_unix) {
  WriteTxn txn(*m_impl->db);
  auto out = m_impl->decide(policies, formats, now_unix, true);
  txn.commit();
  return out;
}

std::map<std::string, IdDecision> StateStore::resolve_and_record(
    const std::vector<DomainPolicy>& policies, const std::map<std::string, IdFormat>& formats,
    int64_t now_unix, const std::function<void(const std::map<std::string, IdDecision>&)>& meanwhile,
    const std::set<std::string>& decided_only) {
  WriteTxn txn(*m_impl->db);
  auto out = m_impl->decide(policies, formats, now_unix, false);
  std::exception_ptr failure;
  std::thread worker([&] {
    try {
      meanwhile(out);
    } catch (...) {
      failure = std::current_exception();
    }
  });
  try {
    m_impl->record_bumps(policies, out, now_unix, decided_only);
  } catch (...) {
    worker.join();
    throw;  // the transaction rolls back
  }
  worker.join();
  if (failure) {
    std::rethrow_exception(failure);
  }
  txn.commit();
  return out;
}

void StateStore::record_published(const std::vector<PublishedPolicyRecord>& records, int64_t now_unix) {
  WriteTxn txn(*m_impl->db);
  auto hashes = m_impl->current_hashes(records);
  for (const auto& r : records) {
    const auto current = hashes.find(r.domain);
    if (current != hashes.end() && current->second == r.hash) {
      continue;
    }
    m_impl->record(r.domain, r.id, r.hash, r.policy, r.policy_text, now_unix);
    hashes[r.domain] = r.hash;
  }
  txn.commit();
}

void StateStore::record_pending(const std::vector<PublishedPolicyRecord>& records, int64_t now_unix) {
  WriteTxn txn(*m_impl->db);
  const auto hashes = m_impl->current_hashes(records);
  for (const auto& r : records) {
    const auto current = hashes.find(r.domain);
    if (current != hashes.end() && current->second == r.hash) {
      continue;
    }
    m_impl->record_pending(r.domain, r.id, r.hash, r.policy, r.policy_text, now_unix);
  }
  txn.commit();
}

std::map<std::string, std::vector<HistoryEntry>> StateStore::all_history() const {
  ReadTxn txn(*m_impl->db);
  auto q = m_impl->db->query(
      "SELECT seq, domain, published_at, id, hash, mode, max_age, policy_text FROM history "
      "ORDER BY domain, seq");
  std::map<std::string, std::vector<HistoryEntry>> out;
  while (q->step()) {
    out[q->text(1)].push_back(m_impl->row_to_history(*q));
  }
  return out;
}

std::map<std::string, PendingId> StateStore::pending() const {
  auto q = m_impl->db->query(
      "SELECT domain, id, hash, mode, max_age, policy_text, decided_at FROM pending ORDER BY domain");
  std::map<std::string, PendingId> out;
  while (q->step()) {
    PendingId p;
    p.domain = q->text(0);
    p.id = q->text(1);
    p.hash = q->text(2);
    p.mode = mode_from_text(q->text(3), m_impl->path());
    p.max_age = static_cast<uint32_t>(q->integer(4));
    p.policy_text = q->text(5);
    p.decided_at = q->integer(6);
    out.emplace_hint(out.end(), p.domain, std::move(p));
  }
  return out;
}

int64_t StateStore::latest_time() const {
  auto q = m_impl->db->query("SELECT latest_time FROM meta");
  return q->step() ? q->integer(0) : 0;
}

void StateStore::advance_latest_time(int64_t when_unix) {
  WriteTxn txn(*m_impl->db);
  auto q = m_impl->db->query("UPDATE meta SET latest_time = ?1 WHERE latest_time < ?1");
  q->bind(1, when_unix);
  q->step();
  txn.commit();
}

void StateStore::set_retired_out(const std::string& domain, int64_t when_unix) {
  const bool found = m_impl->update_domain(
      "UPDATE domains SET retired_out_at = ?2 WHERE domain = ?1 AND retired_out_at IS NULL", domain,
      [&](SqlQuery& q) { q.bind(2, when_unix); });
  (void)found;  // already marked: the first time stands
}

void StateStore::set_location(const std::string& domain, const std::string& zone,
                              const std::string& provider) {
  m_impl->update_domain("UPDATE domains SET zone = ?2, provider = ?3 WHERE domain = ?1", domain,
                        [&](SqlQuery& q) { q.bind(2, zone).bind(3, provider); });
}

void StateStore::set_stage(const std::string& domain, int stage, int64_t since_unix) {
  const bool found =
      m_impl->update_domain("UPDATE domains SET stage = ?2, stage_since = ?3 WHERE domain = ?1", domain,
                            [&](SqlQuery& q) { q.bind(2, static_cast<int64_t>(stage)).bind(3, since_unix); });
  m_impl->require_domain(found, domain, "set the rollout stage");
}

void StateStore::set_gate_status(const std::string& domain, const std::string& status) {
  const bool found = m_impl->update_domain("UPDATE domains SET gate_status = ?2 WHERE domain = ?1", domain,
                                           [&](SqlQuery& q) { q.bind(2, status); });
  m_impl->require_domain(found, domain, "set the gate status");
}

void StateStore::set_retiring_until(const std::string& domain, std::optional<int64_t> until_unix) {
  const bool found = m_impl->update_domain("UPDATE domains SET retiring_until = ?2 WHERE domain = ?1", domain,
                                           [&](SqlQuery& q) {
                                             if (until_unix) {
                                               q.bind(2, *until_unix);
                                             } else {
                                               q.bind_null(2);
                                             }
                                           });
  m_impl->require_domain(found, domain, "set the retirement time");
}

void StateStore::set_last_check(const std::string& domain, int64_t when_unix) {
  // A check may run before the first apply: no row, nothing to record.
  m_impl->update_domain("UPDATE domains SET last_check = ?2 WHERE domain = ?1", domain,
                        [&](SqlQuery& q) { q.bind(2, when_unix); });
}

void StateStore::forget_domain(const std::string& domain) {
  m_impl->update_domain("DELETE FROM domains WHERE domain = ?1", domain, [](SqlQuery&) {});
}

}  // namespace stsctl

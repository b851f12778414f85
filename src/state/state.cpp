#include "state/state.h"

#include <sys/stat.h>

#include <sqlite3.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <functional>
#include <sstream>
#include <thread>

namespace stsctl {

namespace {

// Version 1: meta, domains, history. Bump and add a migration step in
// migrate() for every schema change; never edit a released step.
constexpr int k_schema_version = 3;
constexpr int k_busy_timeout_ms = 30000;

struct DbClose {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalize {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using DbPtr = std::unique_ptr<sqlite3, DbClose>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

const char* const k_schema_v1 = R"sql(
CREATE TABLE IF NOT EXISTS domains (
  domain         TEXT PRIMARY KEY NOT NULL,
  policy_hash    TEXT NOT NULL,
  policy_id      TEXT NOT NULL,
  mode           TEXT NOT NULL,
  max_age        INTEGER NOT NULL,
  stage          INTEGER NOT NULL DEFAULT 0,
  stage_since    INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  retiring_until INTEGER NULL,
  gate_status    TEXT NOT NULL DEFAULT '',
  last_check     INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS history (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  domain       TEXT NOT NULL,
  published_at INTEGER NOT NULL,
  id           TEXT NOT NULL,
  hash         TEXT NOT NULL,
  mode         TEXT NOT NULL,
  max_age      INTEGER NOT NULL,
  policy_text  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS history_domain ON history(domain, seq);
CREATE TRIGGER IF NOT EXISTS history_no_update BEFORE UPDATE ON history
  BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;
CREATE TRIGGER IF NOT EXISTS history_no_delete BEFORE DELETE ON history
  BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;
)sql";

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
  std::string path;
  DbPtr db;
  // Prepared once per process and reused: preparing is most of the cost of a
  // small query. Declared after db, so destroyed (finalised) before it closes.
  // Prepared statements by the address of their SQL text: every caller
  // passes a string literal, so one address is one text, and a lookup costs
  // no copy or compare of the text (a first render makes 200,000 of them).
  mutable std::map<const char*, StmtPtr> statements;

  [[noreturn]] void fail(const std::string& verb) const {
    throw StateError("failed to " + verb + " state database '" + path + "' (" +
                     (db ? sqlite3_errmsg(db.get()) : "out of memory") + ")");
  }

  void exec(const char* sql, const char* verb) {
    if (sqlite3_exec(db.get(), sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      fail(verb);
    }
  }

  // A prepared statement bound to this database; finalised on scope exit.
  class Stmt {
   public:
    /// `sql` must be a string literal (see statements).
    Stmt(const Impl& impl, const char* sql) : m_impl(impl) {
      StmtPtr& cached = impl.statements[sql];
      if (!cached) {
        sqlite3_stmt* raw = nullptr;
        if (sqlite3_prepare_v3(impl.db.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr) !=
            SQLITE_OK) {
          impl.fail("prepare a query on");
        }
        cached.reset(raw);
      }
      m_stmt = cached.get();
    }
    ~Stmt() {
      sqlite3_reset(m_stmt);
      sqlite3_clear_bindings(m_stmt);
    }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    Stmt& bind(int index, const std::string& value) {
      check(sqlite3_bind_text(m_stmt, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT));
      return *this;
    }
    Stmt& bind(int index, int64_t value) {
      check(sqlite3_bind_int64(m_stmt, index, value));
      return *this;
    }
    Stmt& bind_null(int index) {
      check(sqlite3_bind_null(m_stmt, index));
      return *this;
    }
    /// True while a row is available; throws on error.
    bool step() {
      int rc = sqlite3_step(m_stmt);
      if (rc == SQLITE_ROW) {
        return true;
      }
      if (rc == SQLITE_DONE) {
        return false;
      }
      m_impl.fail("query");
    }
    std::string text(int col) const {
      const auto* p = sqlite3_column_text(m_stmt, col);
      return p ? std::string(reinterpret_cast<const char*>(p),
                             static_cast<size_t>(sqlite3_column_bytes(m_stmt, col)))
               : std::string();
    }
    int64_t integer(int col) const { return sqlite3_column_int64(m_stmt, col); }
    bool is_null(int col) const { return sqlite3_column_type(m_stmt, col) == SQLITE_NULL; }

   private:
    void check(int rc) const {
      if (rc != SQLITE_OK) {
        m_impl.fail("bind a value for");
      }
    }
    const Impl& m_impl;
    sqlite3_stmt* m_stmt = nullptr;  // owned by Impl::statements
  };

  // BEGIN IMMEDIATE takes the write lock up front, so a transaction never
  // has to upgrade a read lock (which fails with SQLITE_BUSY at once instead
  // of waiting). Rolled back unless commit() ran.
  // Inside a StateStore::Batch it joins the batch's transaction instead.
  class WriteTxn {
   public:
    explicit WriteTxn(Impl& impl) : m_impl(impl), m_joined(sqlite3_get_autocommit(impl.db.get()) == 0) {
      if (!m_joined) {
        m_impl.exec("BEGIN IMMEDIATE", "begin a transaction on");
      }
    }
    ~WriteTxn() {
      if (!m_done && !m_joined) {
        sqlite3_exec(m_impl.db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
      }
    }
    WriteTxn(const WriteTxn&) = delete;
    WriteTxn& operator=(const WriteTxn&) = delete;
    void commit() {
      if (!m_joined) {
        m_impl.exec("COMMIT", "commit a transaction on");
      }
      m_done = true;
    }

   private:
    Impl& m_impl;
    bool m_joined;  // a batch's transaction is open: it commits or rolls back
    bool m_done = false;
  };

  // A read snapshot: every SELECT inside sees one consistent state.
  class ReadTxn {
   public:
    explicit ReadTxn(const Impl& impl) : m_impl(impl), m_joined(sqlite3_get_autocommit(impl.db.get()) == 0) {
      if (!m_joined &&
          sqlite3_exec(m_impl.db.get(), "BEGIN DEFERRED", nullptr, nullptr, nullptr) != SQLITE_OK) {
        m_impl.fail("begin a read on");
      }
    }
    ~ReadTxn() {
      if (!m_joined) {
        sqlite3_exec(m_impl.db.get(), "COMMIT", nullptr, nullptr, nullptr);
      }
    }
    ReadTxn(const ReadTxn&) = delete;
    ReadTxn& operator=(const ReadTxn&) = delete;

   private:
    const Impl& m_impl;
    bool m_joined;  // inside a batch: its snapshot already holds
  };

  void migrate() {
    WriteTxn txn(*this);
    exec("CREATE TABLE IF NOT EXISTS meta (schema_version INTEGER NOT NULL)", "create the schema of");
    int version = 0;
    {
      Stmt q(*this, "SELECT schema_version FROM meta");
      if (q.step()) {
        version = static_cast<int>(q.integer(0));
      }
    }
    if (version > k_schema_version) {
      throw StateError("failed to open state database '" + path + "' (schema version " +
                       std::to_string(version) + " is newer than this stsctl supports, " +
                       std::to_string(k_schema_version) + ")");
    }
    if (version < 1) {
      exec(k_schema_v1, "create the schema of");
      exec("DELETE FROM meta; INSERT INTO meta (schema_version) VALUES (1)", "create the schema of");
    }
    if (version < 2) {
      // Where a domain's records live, so a domain removed from the config
      // can still be retired (RFC 8461 section 8.3).
      exec(
          "ALTER TABLE domains ADD COLUMN zone TEXT NOT NULL DEFAULT '';"
          "ALTER TABLE domains ADD COLUMN provider TEXT NOT NULL DEFAULT '';"
          "UPDATE meta SET schema_version = 2",
          "migrate the schema of");
    }
    if (version < 3) {
      // Pending ids (decided before a push, confirmed after it), the time a
      // retirement deleted the records, and the latest time written: a crash
      // must not mint a second id, and an earlier clock must not undo a later
      // decision.
      exec(
          "CREATE TABLE pending ("
          "  domain TEXT PRIMARY KEY NOT NULL, id TEXT NOT NULL, hash TEXT NOT NULL, mode TEXT NOT NULL,"
          "  max_age INTEGER NOT NULL, policy_text TEXT NOT NULL, decided_at INTEGER NOT NULL);"
          "ALTER TABLE domains ADD COLUMN retired_out_at INTEGER NULL;"
          "ALTER TABLE meta ADD COLUMN latest_time INTEGER NOT NULL DEFAULT 0;"
          "UPDATE meta SET schema_version = 3",
          "migrate the schema of");
    }
    txn.commit();
  }

  std::optional<DomainState> read_domain(const std::string& name) const {
    Stmt q(*this,
           "SELECT domain, policy_hash, policy_id, mode, max_age, stage, stage_since, updated_at, "
           "retiring_until, "
           "gate_status, last_check, zone, provider, retired_out_at FROM domains WHERE domain = ?1");
    q.bind(1, name);
    if (!q.step()) {
      return std::nullopt;
    }
    return row_to_domain(q);
  }

  DomainState row_to_domain(const Stmt& q) const {
    DomainState d;
    d.domain = q.text(0);
    d.policy_hash = q.text(1);
    d.policy_id = q.text(2);
    d.mode = mode_from_text(q.text(3), path);
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
  HistoryEntry row_to_history(const Stmt& q) const {
    HistoryEntry e;
    e.seq = q.integer(0);
    e.domain = q.text(1);
    e.published_at = q.integer(2);
    e.id = q.text(3);
    e.hash = q.text(4);
    e.mode = mode_from_text(q.text(5), path);
    e.max_age = static_cast<uint32_t>(q.integer(6));
    e.policy_text = q.text(7);
    return e;
  }

  // Inserts a new domain row (stage 0 since now) or replaces the current
  // policy of an existing one (stage untouched), then appends history.
  void record(const std::string& domain, const std::string& id, const std::string& hash, const Policy& policy,
              const std::string& text, int64_t now) {
    Stmt up(
        *this,
        "INSERT INTO domains (domain, policy_hash, policy_id, mode, max_age, stage, stage_since, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?6) "
        "ON CONFLICT(domain) DO UPDATE SET policy_hash = excluded.policy_hash, policy_id = "
        "excluded.policy_id, "
        "mode = excluded.mode, max_age = excluded.max_age, updated_at = excluded.updated_at, "
        "retired_out_at = NULL");
    up.bind(1, domain).bind(2, hash).bind(3, id).bind(4, std::string(mode_text(policy.mode)));
    up.bind(5, static_cast<int64_t>(policy.max_age)).bind(6, now);
    up.step();
    Stmt hist(*this,
              "INSERT INTO history (domain, published_at, id, hash, mode, max_age, policy_text) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    hist.bind(1, domain).bind(2, now).bind(3, id).bind(4, hash).bind(5, std::string(mode_text(policy.mode)));
    hist.bind(6, static_cast<int64_t>(policy.max_age)).bind(7, text);
    hist.step();
    Stmt drop(*this, "DELETE FROM pending WHERE domain = ?1 AND id = ?2");
    drop.bind(1, domain).bind(2, id);
    drop.step();
  }

  void record_pending(const std::string& domain, const std::string& id, const std::string& hash,
                      const Policy& policy, const std::string& text, int64_t now) {
    Stmt up(
        *this,
        "INSERT INTO pending (domain, id, hash, mode, max_age, policy_text, decided_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
        "ON CONFLICT(domain) DO UPDATE SET id = excluded.id, hash = excluded.hash, mode = excluded.mode, "
        "max_age = excluded.max_age, policy_text = excluded.policy_text, decided_at = excluded.decided_at "
        "WHERE pending.id != excluded.id");
    up.bind(1, domain).bind(2, id).bind(3, hash).bind(4, std::string(mode_text(policy.mode)));
    up.bind(5, static_cast<int64_t>(policy.max_age)).bind(6, text).bind(7, now);
    up.step();
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
      Stmt q(*this, "SELECT domain, policy_id, policy_hash FROM domains");
      while (q.step()) {
        known[q.text(0)].published = PublishedPolicy{q.text(1), q.text(2)};
      }
      Stmt pending(*this, "SELECT domain, id, hash FROM pending");
      while (pending.step()) {
        known[pending.text(0)].pending = PublishedPolicy{pending.text(1), pending.text(2)};
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

  // Runs an UPDATE on one domain row; false when there is no such row.
  bool update_domain(const char* sql /* a string literal */, const std::string& domain,
                     const std::function<void(Stmt&)>& bind_rest) {
    WriteTxn txn(*this);
    Stmt q(*this, sql);
    q.bind(1, domain);
    bind_rest(q);
    q.step();
    const bool changed = sqlite3_changes(db.get()) > 0;
    txn.commit();
    return changed;
  }

  void require_domain(bool found, const std::string& domain, const char* verb) const {
    if (!found) {
      throw StateError("failed to " + std::string(verb) + " in state database '" + path +
                       "' (no state for domain '" + domain + "')");
    }
  }
};

StateStore::StateStore(const std::string& path) : m_impl(std::make_unique<Impl>()) {
  m_impl->path = path;
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  m_impl->db.reset(raw);
  if (rc != SQLITE_OK) {
    m_impl->fail("open");
  }
  sqlite3_extended_result_codes(raw, 1);
  // Concurrent stsctl processes wait for each other's write transaction
  // instead of failing with "database is locked".
  sqlite3_busy_timeout(raw, k_busy_timeout_ms);
  {
    Impl::Stmt q(*m_impl, "PRAGMA journal_mode = WAL");
    // An in-memory database (":memory:", used for read-only runs before the
    // first apply) has no journal file to put in WAL mode.
    if (q.step() && q.text(0) != "wal" && !(path == ":memory:" && q.text(0) == "memory")) {
      throw StateError("failed to open state database '" + path + "' (cannot use WAL journal mode, got '" +
                       q.text(0) + "')");
    }
  }
  // FULL rather than NORMAL: in WAL mode NORMAL survives a process crash but
  // may lose the last commits on power loss, and this database records ids
  // that are already live in DNS. stsctl commits a handful of transactions
  // per run, so the extra fsync costs nothing noticeable.
  m_impl->exec("PRAGMA synchronous = FULL", "configure");
  m_impl->migrate();
}

StateStore::~StateStore() = default;

StateStore::Batch::Batch(StateStore& store) : m_store(store) {
  m_store.m_impl->exec("BEGIN IMMEDIATE", "begin a transaction on");
}

StateStore::Batch::~Batch() {
  if (!m_done) {
    sqlite3_exec(m_store.m_impl->db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

void StateStore::Batch::commit() {
  m_store.m_impl->exec("COMMIT", "commit a transaction on");
  m_done = true;
}

std::unique_ptr<StateStore> StateStore::open_for_reading(const std::string& path) {
  struct stat info {};
  return std::make_unique<StateStore>(::stat(path.c_str(), &info) == 0 ? path : ":memory:");
}

std::optional<DomainState> StateStore::domain(const std::string& name) const {
  return m_impl->read_domain(name);
}

std::map<std::string, DomainState> StateStore::all_domains() const {
  Impl::ReadTxn txn(*m_impl);
  Impl::Stmt q(
      *m_impl,
      "SELECT domain, policy_hash, policy_id, mode, max_age, stage, stage_since, updated_at, retiring_until, "
      "gate_status, last_check, zone, provider, retired_out_at FROM domains ORDER BY domain");
  std::map<std::string, DomainState> out;
  while (q.step()) {
    DomainState d = m_impl->row_to_domain(q);
    out.emplace_hint(out.end(), d.domain, std::move(d));  // rows come in key order
  }
  return out;
}

std::map<std::string, int> StateStore::stages() const {
  Impl::Stmt q(*m_impl, "SELECT domain, stage FROM domains ORDER BY domain");
  std::map<std::string, int> out;
  while (q.step()) {
    out.emplace_hint(out.end(), q.text(0), static_cast<int>(q.integer(1)));
  }
  return out;
}

std::vector<HistoryEntry> StateStore::history(const std::string& domain) const {
  Impl::Stmt q(*m_impl,
               "SELECT seq, domain, published_at, id, hash, mode, max_age, policy_text FROM history "
               "WHERE domain = ?1 ORDER BY seq");
  q.bind(1, domain);
  std::vector<HistoryEntry> out;
  while (q.step()) {
    out.push_back(m_impl->row_to_history(q));
  }
  return out;
}

std::map<std::string, IdDecision> StateStore::preview_ids(const std::vector<DomainPolicy>& policies,
                                                          const std::map<std::string, IdFormat>& formats,
                                                          int64_t now_unix) const {
  Impl::ReadTxn txn(*m_impl);
  return m_impl->decide(policies, formats, now_unix, false);
}

std::map<std::string, IdDecision> StateStore::resolve_and_record(
    const std::vector<DomainPolicy>& policies, const std::map<std::string, IdFormat>& formats,
    int64_t now_unix) {
  Impl::WriteTxn txn(*m_impl);
  auto out = m_impl->decide(policies, formats, now_unix, true);
  txn.commit();
  return out;
}

std::map<std::string, IdDecision> StateStore::resolve_and_record(
    const std::vector<DomainPolicy>& policies, const std::map<std::string, IdFormat>& formats,
    int64_t now_unix, const std::function<void(const std::map<std::string, IdDecision>&)>& meanwhile,
    const std::set<std::string>& decided_only) {
  Impl::WriteTxn txn(*m_impl);
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
  Impl::WriteTxn txn(*m_impl);
  for (const auto& r : records) {
    const auto current = m_impl->read_domain(r.domain);
    if (current && current->policy_hash == r.hash) {
      continue;
    }
    m_impl->record(r.domain, r.id, r.hash, r.policy, r.policy_text, now_unix);
  }
  txn.commit();
}

void StateStore::record_pending(const std::vector<PublishedPolicyRecord>& records, int64_t now_unix) {
  Impl::WriteTxn txn(*m_impl);
  for (const auto& r : records) {
    const auto current = m_impl->read_domain(r.domain);
    if (current && current->policy_hash == r.hash) {
      continue;
    }
    m_impl->record_pending(r.domain, r.id, r.hash, r.policy, r.policy_text, now_unix);
  }
  txn.commit();
}

std::map<std::string, std::vector<HistoryEntry>> StateStore::all_history() const {
  Impl::ReadTxn txn(*m_impl);
  Impl::Stmt q(*m_impl,
               "SELECT seq, domain, published_at, id, hash, mode, max_age, policy_text FROM history "
               "ORDER BY domain, seq");
  std::map<std::string, std::vector<HistoryEntry>> out;
  while (q.step()) {
    out[q.text(1)].push_back(m_impl->row_to_history(q));
  }
  return out;
}

std::map<std::string, PendingId> StateStore::pending() const {
  Impl::Stmt q(
      *m_impl,
      "SELECT domain, id, hash, mode, max_age, policy_text, decided_at FROM pending ORDER BY domain");
  std::map<std::string, PendingId> out;
  while (q.step()) {
    PendingId p;
    p.domain = q.text(0);
    p.id = q.text(1);
    p.hash = q.text(2);
    p.mode = mode_from_text(q.text(3), m_impl->path);
    p.max_age = static_cast<uint32_t>(q.integer(4));
    p.policy_text = q.text(5);
    p.decided_at = q.integer(6);
    out.emplace_hint(out.end(), p.domain, std::move(p));
  }
  return out;
}

int64_t StateStore::latest_time() const {
  Impl::Stmt q(*m_impl, "SELECT latest_time FROM meta");
  return q.step() ? q.integer(0) : 0;
}

void StateStore::advance_latest_time(int64_t when_unix) {
  Impl::WriteTxn txn(*m_impl);
  Impl::Stmt q(*m_impl, "UPDATE meta SET latest_time = ?1 WHERE latest_time < ?1");
  q.bind(1, when_unix);
  q.step();
  txn.commit();
}

void StateStore::set_retired_out(const std::string& domain, int64_t when_unix) {
  const bool found = m_impl->update_domain(
      "UPDATE domains SET retired_out_at = ?2 WHERE domain = ?1 AND retired_out_at IS NULL", domain,
      [&](Impl::Stmt& q) { q.bind(2, when_unix); });
  (void)found;  // already marked: the first time stands
}

void StateStore::set_location(const std::string& domain, const std::string& zone,
                              const std::string& provider) {
  m_impl->update_domain("UPDATE domains SET zone = ?2, provider = ?3 WHERE domain = ?1", domain,
                        [&](Impl::Stmt& q) { q.bind(2, zone).bind(3, provider); });
}

void StateStore::set_stage(const std::string& domain, int stage, int64_t since_unix) {
  const bool found = m_impl->update_domain(
      "UPDATE domains SET stage = ?2, stage_since = ?3 WHERE domain = ?1", domain,
      [&](Impl::Stmt& q) { q.bind(2, static_cast<int64_t>(stage)).bind(3, since_unix); });
  m_impl->require_domain(found, domain, "set the rollout stage");
}

void StateStore::set_gate_status(const std::string& domain, const std::string& status) {
  const bool found = m_impl->update_domain("UPDATE domains SET gate_status = ?2 WHERE domain = ?1", domain,
                                           [&](Impl::Stmt& q) { q.bind(2, status); });
  m_impl->require_domain(found, domain, "set the gate status");
}

void StateStore::set_retiring_until(const std::string& domain, std::optional<int64_t> until_unix) {
  const bool found = m_impl->update_domain("UPDATE domains SET retiring_until = ?2 WHERE domain = ?1", domain,
                                           [&](Impl::Stmt& q) {
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
                        [&](Impl::Stmt& q) { q.bind(2, when_unix); });
}

void StateStore::forget_domain(const std::string& domain) {
  m_impl->update_domain("DELETE FROM domains WHERE domain = ?1", domain, [](Impl::Stmt&) {});
}

StateLock::StateLock(const std::string& state_path, double timeout_seconds) {
  const std::string lock_path = state_path + ".lock";
  m_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (m_fd < 0) {
    throw StateError("failed to open lock file '" + lock_path + "' (" + std::strerror(errno) + ")");
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  while (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err == EINTR) {
      continue;
    }
    if (err != EWOULDBLOCK) {
      ::close(m_fd);
      throw StateError("failed to lock '" + lock_path + "' (" + std::strerror(err) + ")");
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::close(m_fd);
      std::ostringstream waited;
      waited << timeout_seconds;
      throw StateError("failed to lock '" + lock_path + "' (another stsctl process holds it; waited " +
                       waited.str() + " s)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

StateLock::~StateLock() {
  if (m_fd >= 0) {
    ::flock(m_fd, LOCK_UN);
    ::close(m_fd);
  }
}

}  // namespace stsctl

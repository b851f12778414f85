#include "state/sqlite_db.h"

#include "state/state.h"

#include <sqlite3.h>

#include <map>

namespace stsctl {

namespace {

constexpr int k_busy_timeout_ms = 30000;

struct DbClose {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalize {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using DbPtr = std::unique_ptr<sqlite3, DbClose>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

class SqliteDb;

class SqliteQuery final : public SqlQuery {
 public:
  SqliteQuery(const SqliteDb& db, sqlite3_stmt* stmt, StmtPtr owned)
      : m_db(db), m_stmt(stmt), m_owned(std::move(owned)) {}
  ~SqliteQuery() override {
    // A cached statement is reset for its next use.
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
  }
  SqlQuery& bind(int index, const std::string& value) override {
    check(sqlite3_bind_text(m_stmt, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT));
    return *this;
  }
  SqlQuery& bind_kept(int index, const std::string& value) override {
    check(sqlite3_bind_text(m_stmt, index, value.data(), static_cast<int>(value.size()), SQLITE_STATIC));
    return *this;
  }
  SqlQuery& bind(int index, int64_t value) override {
    check(sqlite3_bind_int64(m_stmt, index, value));
    return *this;
  }
  SqlQuery& bind_null(int index) override {
    check(sqlite3_bind_null(m_stmt, index));
    return *this;
  }
  bool step() override;
  std::string text(int col) const override {
    const auto* p = sqlite3_column_text(m_stmt, col);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(m_stmt, col)))
             : std::string();
  }
  int64_t integer(int col) const override { return sqlite3_column_int64(m_stmt, col); }
  bool is_null(int col) const override { return sqlite3_column_type(m_stmt, col) == SQLITE_NULL; }
  int64_t changes() const override { return m_changes; }

 private:
  void check(int rc) const;
  const SqliteDb& m_db;
  sqlite3_stmt* m_stmt;
  StmtPtr m_owned;  // set for query_once
  int64_t m_changes = 0;
};

class SqliteDb final : public SqlDb {
 public:
  explicit SqliteDb(std::string path) : m_path(std::move(path)) {}
  ~SqliteDb() override { m_statements.clear(); }  // finalised before the handle closes

  void open(SqliteOpen mode, SqliteThreads threads) {
    sqlite3* raw = nullptr;
    int flags =
        mode == SqliteOpen::Create ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
    // Without a connection mutex every call saves a lock and an unlock.
    flags |= threads == SqliteThreads::OneAtATime ? SQLITE_OPEN_NOMUTEX : 0;
    const int rc = sqlite3_open_v2(m_path.c_str(), &raw, flags, nullptr);
    m_db.reset(raw);
    if (rc != SQLITE_OK) {
      fail("open");
    }
    sqlite3_extended_result_codes(raw, 1);
    // Concurrent stsctl processes wait for each other's write transaction
    // instead of failing with "database is locked".
    sqlite3_busy_timeout(raw, k_busy_timeout_ms);
    if (mode == SqliteOpen::ReadOnly) {
      return;
    }
    {
      auto q = query("PRAGMA journal_mode = WAL");
      // An in-memory database has no journal file to put in WAL mode.
      if (q->step() && q->text(0) != "wal" && !(m_path == ":memory:" && q->text(0) == "memory")) {
        fail("open", "cannot use WAL journal mode, got '" + q->text(0) + "'");
      }
    }
    // FULL rather than NORMAL: in WAL mode NORMAL survives a process crash
    // but may lose the last commits on power loss, and this database records
    // ids that are already live in DNS.
    exec("PRAGMA synchronous = FULL", "configure");
  }

  SqlDialect dialect() const override { return SqlDialect::Sqlite; }
  const std::string& name() const override { return m_path; }

  void exec(const std::string& sql, const char* verb) override {
    if (sqlite3_exec(m_db.get(), sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
      fail(verb);
    }
  }

  std::unique_ptr<SqlQuery> query(const char* sql) override {
    StmtPtr& cached = m_statements[sql];
    if (!cached) {
      cached = prepare(sql, SQLITE_PREPARE_PERSISTENT);
    }
    return std::make_unique<SqliteQuery>(*this, cached.get(), nullptr);
  }

  std::unique_ptr<SqlQuery> query_once(const std::string& sql) override {
    StmtPtr stmt = prepare(sql.c_str(), 0);
    sqlite3_stmt* raw = stmt.get();
    return std::make_unique<SqliteQuery>(*this, raw, std::move(stmt));
  }

  // BEGIN IMMEDIATE takes the write lock up front, so a transaction never
  // has to upgrade a read lock (which fails with SQLITE_BUSY at once instead
  // of waiting).
  void begin_write() override { exec("BEGIN IMMEDIATE", "begin a transaction on"); }
  void begin_read() override { exec("BEGIN DEFERRED", "begin a read on"); }
  void commit() override { exec("COMMIT", "commit a transaction on"); }
  void rollback() noexcept override { sqlite3_exec(m_db.get(), "ROLLBACK", nullptr, nullptr, nullptr); }
  bool in_transaction() const override { return sqlite3_get_autocommit(m_db.get()) == 0; }

  bool has_table(const std::string& table) override {
    auto q = query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1");
    q->bind(1, table);
    return q->step();
  }

  [[noreturn]] void fail(const std::string& verb, const std::string& cause) const override {
    throw StateError("failed to " + verb + " state database '" + m_path + "' (" + cause + ")");
  }
  [[noreturn]] void fail(const std::string& verb) const {
    fail(verb, m_db ? sqlite3_errmsg(m_db.get()) : "out of memory");
  }
  int64_t last_changes() const { return sqlite3_changes(m_db.get()); }

 private:
  StmtPtr prepare(const char* sql, unsigned flags) const {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v3(m_db.get(), sql, -1, flags, &raw, nullptr) != SQLITE_OK) {
      fail("prepare a query on");
    }
    return StmtPtr(raw);
  }
  std::string m_path;
  DbPtr m_db;
  // Declared after m_db: destroyed (finalised) before it closes.
  std::map<const char*, StmtPtr> m_statements;
};

bool SqliteQuery::step() {
  const int rc = sqlite3_step(m_stmt);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    m_changes = m_db.last_changes();
    return false;
  }
  m_db.fail("query");
}

void SqliteQuery::check(int rc) const {
  if (rc != SQLITE_OK) {
    m_db.fail("bind a value for");
  }
}

}  // namespace

std::unique_ptr<SqlDb> open_sqlite(const std::string& path, SqliteOpen mode, SqliteThreads threads) {
  // No allocation statistics (nothing here reads them): otherwise every
  // sqlite3_malloc and free takes a process-wide mutex. Only possible before
  // SQLite initialises, so once, before the first open.
  static const bool k_configured = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;
  (void)k_configured;
  auto db = std::make_unique<SqliteDb>(path);
  db->open(mode, threads);
  return db;
}

}  // namespace stsctl

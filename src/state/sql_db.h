#pragma once
// One SQL connection to a state database, SQLite or PostgreSQL, behind one
// small interface: StateStore, ReportStore and `state migrate` speak it and
// never touch sqlite3 or libpq themselves. Edge module (file/network I/O).

#include <cstdint>
#include <memory>
#include <string>

namespace stsctl {

enum class SqlDialect { Sqlite, Postgres };

/// One run of a prepared statement. SQL uses ?1, ?2, ... placeholders (both
/// backends). Rows are read with step() until it returns false.
class SqlQuery {
 public:
  virtual ~SqlQuery() = default;
  virtual SqlQuery& bind(int index, const std::string& value) = 0;
  /// Like bind(), without a copy: `value` must outlive this query.
  virtual SqlQuery& bind_kept(int index, const std::string& value) { return bind(index, value); }
  virtual SqlQuery& bind(int index, int64_t value) = 0;
  virtual SqlQuery& bind_null(int index) = 0;
  /// Runs the statement on the first call; true while a row is available.
  /// Throws StateError naming the database.
  virtual bool step() = 0;
  virtual std::string text(int col) const = 0;
  virtual int64_t integer(int col) const = 0;
  virtual bool is_null(int col) const = 0;
  /// Rows changed by the statement (after step()).
  virtual int64_t changes() const = 0;
};

class SqlDb {
 public:
  virtual ~SqlDb() = default;
  virtual SqlDialect dialect() const = 0;
  /// The file path or URL, for messages (never holds a password).
  virtual const std::string& name() const = 0;
  /// Runs one or more statements without results.
  virtual void exec(const std::string& sql, const char* verb) = 0;
  /// A statement prepared once per connection: `sql` must be a string
  /// literal, since the cache is keyed by its address (a lookup then costs no
  /// copy or compare; a first render runs 200,000 of them).
  virtual std::unique_ptr<SqlQuery> query(const char* sql) = 0;
  /// A statement built at run time, prepared for this one use.
  virtual std::unique_ptr<SqlQuery> query_once(const std::string& sql) = 0;
  /// Starts a write transaction that excludes every other writer of this
  /// database up front (so two deciders never both read the old state).
  virtual void begin_write() = 0;
  /// Starts a read transaction: every query inside sees one snapshot.
  virtual void begin_read() = 0;
  virtual void commit() = 0;
  virtual void rollback() noexcept = 0;
  virtual bool in_transaction() const = 0;
  /// True when the table exists.
  virtual bool has_table(const std::string& table) = 0;
  /// Throws StateError "failed to <verb> state database '<name>' (<cause>)".
  [[noreturn]] virtual void fail(const std::string& verb, const std::string& cause) const = 0;
};

/// True when `location` names a PostgreSQL database (postgresql:// or
/// postgres:// URL) rather than a SQLite file.
bool is_postgres_url(const std::string& location);

/// Opens the state database at `location` (file path or URL). With
/// `create`, a missing SQLite file is created. Throws StateError.
std::unique_ptr<SqlDb> open_sql_db(const std::string& location, bool create);

/// Runs the statements of a write transaction; rolled back unless commit()
/// ran. Inside an open transaction (a batch) it joins that one instead.
class WriteTxn {
 public:
  explicit WriteTxn(SqlDb& db) : m_db(db), m_joined(db.in_transaction()) {
    if (!m_joined) {
      m_db.begin_write();
    }
  }
  ~WriteTxn() {
    if (!m_done && !m_joined) {
      m_db.rollback();
    }
  }
  WriteTxn(const WriteTxn&) = delete;
  WriteTxn& operator=(const WriteTxn&) = delete;
  void commit() {
    if (!m_joined) {
      m_db.commit();
    }
    m_done = true;
  }

 private:
  SqlDb& m_db;
  bool m_joined;
  bool m_done = false;
};

/// A read snapshot (joins an open transaction).
class ReadTxn {
 public:
  explicit ReadTxn(SqlDb& db) : m_db(db), m_joined(db.in_transaction()) {
    if (!m_joined) {
      m_db.begin_read();
    }
  }
  ~ReadTxn() {
    if (!m_joined) {
      m_db.rollback();
    }
  }
  ReadTxn(const ReadTxn&) = delete;
  ReadTxn& operator=(const ReadTxn&) = delete;

 private:
  SqlDb& m_db;
  bool m_joined;
};

}  // namespace stsctl

#include "state/postgres_db.h"

#include "config/config.h"
#include "config/values.h"
#include "state/sqlite_db.h"
#include "state/state.h"
#include "util/handles.h"
#include "util/secret.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <vector>

namespace stsctl {

namespace {

using PgConn = std::unique_ptr<PGconn, handle::Deleter<PGconn, PQfinish>>;
using PgResult = std::unique_ptr<PGresult, handle::Deleter<PGresult, PQclear>>;

// Serialises writers like SQLite's BEGIN IMMEDIATE: a transaction-level
// advisory lock, released by COMMIT/ROLLBACK (safe behind a pooler).
constexpr const char* k_begin_write = "BEGIN; SELECT pg_advisory_xact_lock(1398035267, 2)";

// libpq messages end in a newline and may hold a tab-indented hint line.
std::string one_line(const char* text) {
  std::string out;
  for (const char* p = text ? text : ""; *p != '\0'; ++p) {
    const char c = *p == '\n' || *p == '\t' ? ' ' : *p;
    if (!(c == ' ' && (out.empty() || out.back() == ' '))) {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') {
    out.pop_back();
  }
  return out.empty() ? "unknown error" : out;
}

// "?1" -> "$1"; the number of parameters is the highest index.
std::string to_dollar_params(const char* sql, int* count) {
  std::string out;
  *count = 0;
  for (const char* p = sql; *p != '\0'; ++p) {
    if (*p == '?' && p[1] >= '0' && p[1] <= '9') {
      out += '$';
      int index = 0;
      while (p[1] >= '0' && p[1] <= '9') {
        index = index * 10 + (p[1] - '0');
        out += *++p;
      }
      *count = std::max(*count, index);
    } else {
      out += *p;
    }
  }
  return out;
}

class PostgresDb;

class PostgresQuery final : public SqlQuery {
 public:
  // statement: a prepared statement's name, or "" to send `sql` itself.
  PostgresQuery(const PostgresDb& db, std::string statement, std::string sql, int params)
      : m_db(db),
        m_statement(std::move(statement)),
        m_sql(std::move(sql)),
        m_values(static_cast<size_t>(params)) {}
  SqlQuery& bind(int index, const std::string& value) override {
    slot(index) = value;
    return *this;
  }
  SqlQuery& bind(int index, int64_t value) override {
    slot(index) = std::to_string(value);
    return *this;
  }
  SqlQuery& bind_null(int index) override {
    slot(index).reset();
    return *this;
  }
  bool step() override;
  std::string text(int col) const override {
    return std::string(PQgetvalue(m_result.get(), m_row, col),
                       static_cast<size_t>(PQgetlength(m_result.get(), m_row, col)));
  }
  int64_t integer(int col) const override {
    return std::strtoll(PQgetvalue(m_result.get(), m_row, col), nullptr, 10);
  }
  bool is_null(int col) const override { return PQgetisnull(m_result.get(), m_row, col) != 0; }
  int64_t changes() const override { return m_result ? std::atoll(PQcmdTuples(m_result.get())) : 0; }

 private:
  std::optional<std::string>& slot(int index);
  const PostgresDb& m_db;
  std::string m_statement;
  std::string m_sql;
  std::vector<std::optional<std::string>> m_values;
  PgResult m_result;
  int m_row = -1;
};

class PostgresDb final : public SqlDb {
 public:
  PostgresDb(std::string url, PgConn conn) : m_url(std::move(url)), m_conn(std::move(conn)) {}

  SqlDialect dialect() const override { return SqlDialect::Postgres; }
  const std::string& name() const override { return m_url; }
  PGconn* conn() const { return m_conn.get(); }

  void exec(const std::string& sql, const char* verb) override {
    PgResult result(PQexec(m_conn.get(), sql.c_str()));
    check(result.get(), verb);
  }

  std::unique_ptr<SqlQuery> query(const char* sql) override {
    auto found = m_prepared.find(sql);
    if (found == m_prepared.end()) {
      int params = 0;
      const std::string text = to_dollar_params(sql, &params);
      const std::string name = "stsctl_" + std::to_string(m_prepared.size() + 1);
      PgResult result(PQprepare(m_conn.get(), name.c_str(), text.c_str(), params, nullptr));
      check(result.get(), "prepare a query on");
      found = m_prepared.emplace(sql, Prepared{name, params}).first;
    }
    return std::make_unique<PostgresQuery>(*this, found->second.name, std::string(), found->second.params);
  }

  std::unique_ptr<SqlQuery> query_once(const std::string& sql) override {
    int params = 0;
    std::string text = to_dollar_params(sql.c_str(), &params);
    return std::make_unique<PostgresQuery>(*this, std::string(), std::move(text), params);
  }

  void begin_write() override {
    try {
      exec(k_begin_write, "begin a transaction on");
    } catch (...) {
      rollback();  // BEGIN ran, the lock did not: leave no aborted transaction behind
      throw;
    }
  }
  void begin_read() override { exec("BEGIN ISOLATION LEVEL REPEATABLE READ", "begin a read on"); }
  void commit() override {
    PgResult result(PQexec(m_conn.get(), "COMMIT"));
    check(result.get(), "commit a transaction on");
    // COMMIT of a failed transaction reports success but rolls back.
    if (std::string(PQcmdStatus(result.get())) != "COMMIT") {
      fail("commit a transaction on", "the transaction was rolled back");
    }
  }
  void rollback() noexcept override {
    if (PQtransactionStatus(m_conn.get()) != PQTRANS_IDLE) {
      PQclear(PQexec(m_conn.get(), "ROLLBACK"));
    }
  }
  bool in_transaction() const override { return PQtransactionStatus(m_conn.get()) != PQTRANS_IDLE; }

  bool has_table(const std::string& table) override {
    auto q = query("SELECT 1 WHERE to_regclass(?1) IS NOT NULL");
    q->bind(1, table);
    return q->step();
  }

  [[noreturn]] void fail(const std::string& verb, const std::string& cause) const override {
    throw StateError("failed to " + verb + " state database '" + m_url + "' (" + cause + ")");
  }

  void check(const PGresult* result, const char* verb) const {
    const ExecStatusType status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
      return;
    }
    const char* primary = result ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    fail(verb, one_line(primary ? primary : PQerrorMessage(m_conn.get())));
  }

 private:
  struct Prepared {
    std::string name;
    int params = 0;
  };
  std::string m_url;
  PgConn m_conn;
  std::map<const char*, Prepared> m_prepared;
};

std::optional<std::string>& PostgresQuery::slot(int index) {
  if (index < 1 || static_cast<size_t>(index) > m_values.size()) {
    m_db.fail("bind a value for", "no parameter ?" + std::to_string(index));
  }
  return m_values[static_cast<size_t>(index - 1)];
}

bool PostgresQuery::step() {
  if (!m_result) {
    std::vector<const char*> values;
    values.reserve(m_values.size());
    for (const auto& value : m_values) {
      values.push_back(value ? value->c_str() : nullptr);
    }
    const int count = static_cast<int>(values.size());
    PGconn* conn = m_db.conn();
    m_result.reset(
        m_statement.empty()
            ? PQexecParams(conn, m_sql.c_str(), count, nullptr, values.data(), nullptr, nullptr, 0)
            : PQexecPrepared(conn, m_statement.c_str(), count, values.data(), nullptr, nullptr, 0));
    m_db.check(m_result.get(), "query");
  }
  ++m_row;
  return m_row < PQntuples(m_result.get());
}

void ignore_notice(void*, const char*) {}  // "relation already exists, skipping" and the like

}  // namespace

bool is_postgres_url(const std::string& location) { return is_database_url(location); }

std::unique_ptr<SqlDb> open_postgres(const std::string& url) {
  std::string error;
  auto parsed = parse_postgres_url(url, &error);
  if (!parsed) {
    // The URL may hold the very password refused here.
    throw StateError("failed to connect to state database '" + redacted_url(url) + "' (" + error + ")");
  }
  Secret password;
  if (!parsed->password_file.empty()) {
    password = read_secret(SecretSource{parsed->password_file, ""}, &error);
    if (password.empty()) {
      throw StateError("failed to read the password of state database '" + url + "' (" + error + ")");
    }
  }
  std::vector<const char*> keys{"connect_timeout", "fallback_application_name", "dbname"};
  std::vector<const char*> values{"10", "stsctl", parsed->conninfo.c_str()};
  if (!password.empty()) {
    keys.push_back("password");
    values.push_back(password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PgConn conn(PQconnectdbParams(keys.data(), values.data(), 1));
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    throw StateError("failed to connect to state database '" + url + "' (" +
                     one_line(conn ? PQerrorMessage(conn.get()) : "out of memory") + ")");
  }
  PQsetNoticeProcessor(conn.get(), ignore_notice, nullptr);
  return std::make_unique<PostgresDb>(url, std::move(conn));
}

std::unique_ptr<SqlDb> open_sql_db(const std::string& location, bool create) {
  if (is_postgres_url(location)) {
    return open_postgres(location);
  }
  return open_sqlite(location, create ? SqliteOpen::Create : SqliteOpen::ReadOnly);
}

}  // namespace stsctl

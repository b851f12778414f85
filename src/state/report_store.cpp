#include "state/report_store.h"

#include "state/state.h"
#include "util/time.h"

#include "state/sql_db.h"
#include "state/sqlite_db.h"
#include "state/state_schema.h"

#include <sys/stat.h>

#include <algorithm>
#include <deque>
#include <initializer_list>
#include <map>
#include <string_view>

namespace stsctl {

namespace {

// Per-policy failure totals by result-type are kept beside the detail rows
// so a summary reads one row per policy and type, however many details the
// senders sent (report show over a million detail rows stays fast). Written
// once for both backends (see dialect_sql).
const char* const k_report_schema = R"sql(
CREATE TABLE IF NOT EXISTS tlsrpt_reports (
  id           {row_id},
  organization TEXT NOT NULL,
  report_id    TEXT NOT NULL,
  start_time   {int64} NOT NULL,
  end_time     {int64} NOT NULL,
  contact      TEXT NOT NULL,
  source       TEXT NOT NULL,
  ingested_at  {int64} NOT NULL,
  UNIQUE (organization, report_id)
);
CREATE TABLE IF NOT EXISTS tlsrpt_policies (
  id            {row_id},
  report        {int64} NOT NULL REFERENCES tlsrpt_reports(id),
  domain        {byte_text} NOT NULL,
  policy_type   TEXT NOT NULL,
  policy_string TEXT NOT NULL,
  policy_norm   {byte_text} NOT NULL,
  mx_hosts      TEXT NOT NULL,
  successful    {int64} NOT NULL,
  failed        {int64} NOT NULL,
  start_time    {int64} NOT NULL,
  end_time      {int64} NOT NULL
);
CREATE INDEX IF NOT EXISTS tlsrpt_policies_domain ON tlsrpt_policies(domain, start_time);
CREATE TABLE IF NOT EXISTS tlsrpt_failure_totals (
  policy      {int64} NOT NULL REFERENCES tlsrpt_policies(id),
  result_type {byte_text} NOT NULL,
  sessions    {int64} NOT NULL,
  PRIMARY KEY (policy, result_type)
){without_rowid};
CREATE TABLE IF NOT EXISTS tlsrpt_failures (
  policy                 {int64} NOT NULL REFERENCES tlsrpt_policies(id),
  result_type            TEXT NOT NULL,
  sending_mta_ip         TEXT NOT NULL,
  receiving_mx_hostname  TEXT NOT NULL,
  receiving_ip           TEXT NOT NULL,
  failure_reason_code    TEXT NOT NULL,
  additional_information TEXT NOT NULL,
  failed_sessions        {int64} NOT NULL
);
)sql";

/// `lines` joined by "\n" into `out` (reused: no allocation per row).
void join_lines(const std::vector<std::string>& lines, std::string& out) {
  out.clear();
  for (const auto& line : lines) {
    if (&line != &lines.front()) {
      out += '\n';
    }
    out += line;
  }
}

}  // namespace

void create_report_tables(SqlDb& db) {
  db.exec(dialect_sql(db.dialect(), k_report_schema), "create the report tables in");
}

struct ReportStore::Impl {
  std::string path;
  std::unique_ptr<SqlDb> db;
  bool has_tables = false;
  bool in_batch = false;

  void require_writable() const {
    if (!db || !has_tables) {
      throw StateError("failed to write state database '" + path + "' (opened for reading)");
    }
  }
  bool postgres() const { return db->dialect() == SqlDialect::Postgres; }
};

ReportStore::ReportStore(const std::string& path, bool create) : m_impl(std::make_unique<Impl>()) {
  m_impl->path = path;
  if (is_postgres_url(path)) {
    m_impl->db = open_sql_db(path, create);
    if (create) {
      WriteTxn txn(*m_impl->db);  // two first ingests at once: one creates
      create_report_tables(*m_impl->db);
      txn.commit();
    }
    m_impl->has_tables = create || m_impl->db->has_table("tlsrpt_failure_totals");
    return;
  }
  struct stat info {};
  if (!create && stat(path.c_str(), &info) != 0) {
    return;  // no database yet: no reports
  }
  // ReportStore is used by one thread at a time (its statements are cached per connection).
  m_impl->db =
      open_sqlite(path, create ? SqliteOpen::Create : SqliteOpen::ReadOnly, SqliteThreads::OneAtATime);
  if (create) {
    // An ingest of 10,000 reports writes ~5 MB of pages in one transaction:
    // with SQLite's default 2 MB cache it would spill to the WAL midway.
    m_impl->db->exec("PRAGMA cache_size=-65536", "set up");
    create_report_tables(*m_impl->db);
    m_impl->has_tables = true;
  } else {
    m_impl->has_tables = m_impl->db->has_table("tlsrpt_failure_totals");
  }
}

ReportStore::~ReportStore() = default;

ReportStore::Batch::Batch(ReportStore& store) : m_store(store) {
  Impl& impl = *store.m_impl;
  impl.require_writable();
  impl.db->begin_write();
  impl.in_batch = true;
}

ReportStore::Batch::~Batch() {
  if (!m_done) {
    m_store.m_impl->db->rollback();
    m_store.m_impl->in_batch = false;
  }
}

void ReportStore::Batch::commit() {
  m_store.m_impl->db->commit();
  m_store.m_impl->in_batch = false;
  m_done = true;
}

namespace {

const char* const k_insert_failures =
    "INSERT INTO tlsrpt_failures (policy, result_type, sending_mta_ip, receiving_mx_hostname, receiving_ip, "
    "failure_reason_code, additional_information, failed_sessions) VALUES";
const char* const k_insert_totals =
    "INSERT INTO tlsrpt_failure_totals (policy, result_type, sessions) VALUES";
const char* const k_totals_conflict =
    " ON CONFLICT (policy, result_type) DO UPDATE SET sessions = tlsrpt_failure_totals.sessions + "
    "excluded.sessions";

/// "INSERT ... VALUES (?1, ..., ?C), (?C+1, ...), ..." for `rows` rows.
std::string multi_row_insert(const char* head, int columns, int rows, const char* tail) {
  std::string sql = head;
  for (int row = 0; row < rows; ++row) {
    sql += row == 0 ? " (" : ", (";
    for (int column = 1; column <= columns; ++column) {
      sql += (column == 1 ? "?" : ", ?") + std::to_string(row * columns + column);
    }
    sql += ")";
  }
  return sql + tail;
}

/// The statements storing one row and k_rows rows. Built once per process
/// (static): their addresses key the statement cache.
struct InsertSql {
  std::string one_row;
  std::string many_rows;
};
InsertSql insert_sql(const char* head, int columns, int rows, const char* tail) {
  return {multi_row_insert(head, columns, 1, tail), multi_row_insert(head, columns, rows, tail)};
}

/// One bound value: text (kept alive by the caller until flush) or a number.
struct Cell {
  const std::string* text = nullptr;
  int64_t number = 0;
};

/// Rows of one table stored k_rows per statement, all at flush(): in SQLite
/// a statement per row costs more than its values (step, reset, halt, a lock
/// per call).
class RowBatcher {
 public:
  static constexpr int k_rows = 16;
  RowBatcher(SqlDb& db, const InsertSql& sql, int columns)
      : m_db(db),
        m_one_row(sql.one_row.c_str()),
        m_many_rows(sql.many_rows.c_str()),
        m_columns(static_cast<size_t>(columns)) {}
  void add(std::initializer_list<Cell> row) { m_cells.insert(m_cells.end(), row.begin(), row.end()); }
  /// Stores every row added; returns the rows changed.
  int64_t flush() {
    int64_t changed = 0;
    const size_t full = k_rows * m_columns;
    size_t at = 0;
    for (; at + full <= m_cells.size(); at += full) {
      changed += run(m_many_rows, at, full);
    }
    for (; at < m_cells.size(); at += m_columns) {
      changed += run(m_one_row, at, m_columns);
    }
    m_cells.clear();
    return changed;
  }

 private:
  int64_t run(const char* sql, size_t from, size_t count) {
    auto q = m_db.query(sql);
    for (size_t i = 0; i < count; ++i) {
      const Cell& cell = m_cells[from + i];
      const int index = static_cast<int>(i) + 1;
      if (cell.text != nullptr) {
        q->bind_kept(index, *cell.text);  // the rows' strings live until flush() returns
      } else {
        q->bind(index, cell.number);
      }
    }
    q->step();
    return q->changes();
  }
  SqlDb& m_db;
  const char* m_one_row;
  const char* m_many_rows;
  size_t m_columns;
  std::vector<Cell> m_cells;
};

/// The highest row id of `table` in SQLite (0 when empty): a seek to the
/// last row of the rowid b-tree.
int64_t max_row_id(SqlDb& db, const char* sql) {
  auto q = db.query(sql);
  return q->step() ? q->integer(0) : 0;
}

const char* const k_insert_reports =
    "INSERT INTO tlsrpt_reports (id, organization, report_id, start_time, end_time, contact, source, "
    "ingested_at) VALUES";
const char* const k_report_conflict = " ON CONFLICT (organization, report_id) DO NOTHING";
const char* const k_insert_policies =
    "INSERT INTO tlsrpt_policies (id, report, domain, policy_type, policy_string, policy_norm, mx_hosts, "
    "successful, failed, start_time, end_time) VALUES";

/// The failure-details rows of one stored policy, and its totals by
/// result-type.
class FailureRows {
 public:
  explicit FailureRows(SqlDb& db) : m_failures(db, failures_sql(), 8), m_totals(db, totals_sql(), 3) {}
  /// References into `policy`: keep it until flush().
  void add(const PolicyResult& policy, int64_t policy_row) {
    m_by_type.clear();
    for (const auto& failure : policy.failures) {
      auto& total = m_by_type[failure.result_type];
      total.first = &failure.result_type;
      total.second += failure.failed_session_count;
      m_failures.add({{nullptr, policy_row},
                      {&failure.result_type, 0},
                      {&failure.sending_mta_ip, 0},
                      {&failure.receiving_mx_hostname, 0},
                      {&failure.receiving_ip, 0},
                      {&failure.failure_reason_code, 0},
                      {&failure.additional_information, 0},
                      {nullptr, static_cast<int64_t>(failure.failed_session_count)}});
    }
    for (const auto& [type, total] : m_by_type) {
      m_totals.add({{nullptr, policy_row}, {total.first, 0}, {nullptr, static_cast<int64_t>(total.second)}});
    }
  }
  void flush() {
    m_failures.flush();
    m_totals.flush();
  }

 private:
  // Built once per process: their addresses key the statement cache.
  static const InsertSql& failures_sql() {
    static const InsertSql sql = insert_sql(k_insert_failures, 8, RowBatcher::k_rows, "");
    return sql;
  }
  static const InsertSql& totals_sql() {
    static const InsertSql sql = insert_sql(k_insert_totals, 3, RowBatcher::k_rows, k_totals_conflict);
    return sql;
  }
  RowBatcher m_failures;
  RowBatcher m_totals;
  // Per result-type: one of its names (kept by the report) and the sum.
  std::map<std::string_view, std::pair<const std::string*, uint64_t>> m_by_type;
};

/// The policy text as stored: normalised by the parser (on ingest's
/// workers) when it came from JSON.
std::string stored_norm(const PolicyResult& policy) {
  return policy.policy_string.empty() || !policy.policy_norm.empty()
             ? policy.policy_norm
             : normalise_policy_text(policy.policy_string);
}

/// SQLite: row ids given here rather than read back with RETURNING, which
/// SQLite implements with a temporary b-tree per statement (most of an
/// ingest's time), and rows stored 16 per statement. Safe: the write
/// transaction excludes other writers, and max + 1 is the id SQLite would
/// choose itself.
std::vector<bool> add_sqlite(SqlDb& db, const std::vector<const TlsReport*>& reports,
                             const std::vector<std::string>& sources, int64_t now_unix) {
  static const std::string k_no_source;
  static const InsertSql k_report_sql =
      insert_sql(k_insert_reports, 8, RowBatcher::k_rows, k_report_conflict);
  static const InsertSql k_policy_sql = insert_sql(k_insert_policies, 11, RowBatcher::k_rows, "");
  const int64_t first_report = max_row_id(db, "SELECT MAX(id) FROM tlsrpt_reports") + 1;
  int64_t next_policy = max_row_id(db, "SELECT MAX(id) FROM tlsrpt_policies") + 1;
  RowBatcher report_rows(db, k_report_sql, 8);
  for (size_t i = 0; i < reports.size(); ++i) {
    const TlsReport& report = *reports[i];
    report_rows.add({{nullptr, first_report + static_cast<int64_t>(i)},
                     {&report.organization_name, 0},
                     {&report.report_id, 0},
                     {nullptr, report.start},
                     {nullptr, report.end},
                     {&report.contact_info, 0},
                     {i < sources.size() ? &sources[i] : &k_no_source, 0},
                     {nullptr, now_unix}});
  }
  std::vector<bool> added(reports.size(), true);
  if (report_rows.flush() != static_cast<int64_t>(reports.size())) {
    // Some were stored before (or twice in this call): new are those that
    // got the id given here.
    for (size_t i = 0; i < reports.size(); ++i) {
      auto q = db.query("SELECT id FROM tlsrpt_reports WHERE organization = ?1 AND report_id = ?2");
      q->bind(1, reports[i]->organization_name).bind(2, reports[i]->report_id);
      added[i] = q->step() && q->integer(0) == first_report + static_cast<int64_t>(i);
    }
  }
  std::deque<std::string> texts;  // joined lists, bound by address until flush
  RowBatcher policy_rows(db, k_policy_sql, 11);
  FailureRows failure_rows(db);
  for (size_t i = 0; i < reports.size(); ++i) {
    if (!added[i]) {
      continue;
    }
    const TlsReport& report = *reports[i];
    for (const auto& policy : report.policies) {
      const int64_t policy_row = next_policy++;
      const std::string& policy_string = texts.emplace_back();
      join_lines(policy.policy_string, texts.back());
      const std::string& norm = policy.policy_string.empty() || !policy.policy_norm.empty()
                                    ? policy.policy_norm
                                    : texts.emplace_back(stored_norm(policy));
      const std::string& mx_hosts = texts.emplace_back();
      join_lines(policy.mx_hosts, texts.back());
      policy_rows.add({{nullptr, policy_row},
                       {nullptr, first_report + static_cast<int64_t>(i)},
                       {&policy.policy_domain, 0},
                       {&policy.policy_type, 0},
                       {&policy_string, 0},
                       {&norm, 0},
                       {&mx_hosts, 0},
                       {nullptr, static_cast<int64_t>(policy.successful_sessions)},
                       {nullptr, static_cast<int64_t>(policy.failed_sessions)},
                       {nullptr, report.start},
                       {nullptr, report.end}});
      failure_rows.add(policy, policy_row);
    }
  }
  policy_rows.flush();  // before the rows that refer to them
  failure_rows.flush();
  return added;
}

/// PostgreSQL: row ids from the identity columns (RETURNING).
std::vector<bool> add_postgres(SqlDb& db, const std::vector<const TlsReport*>& reports,
                               const std::vector<std::string>& sources, int64_t now_unix) {
  static const std::string k_no_source;
  std::vector<bool> added;
  added.reserve(reports.size());
  std::string joined;
  FailureRows failure_rows(db);
  for (size_t i = 0; i < reports.size(); ++i) {
    const TlsReport& report = *reports[i];
    auto r = db.query(
        "INSERT INTO tlsrpt_reports (organization, report_id, start_time, end_time, contact, source, "
        "ingested_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (organization, report_id) DO NOTHING "
        "RETURNING id");
    r->bind(1, report.organization_name).bind(2, report.report_id).bind(3, report.start);
    r->bind(4, report.end)
        .bind(5, report.contact_info)
        .bind(6, i < sources.size() ? sources[i] : k_no_source);
    r->bind(7, now_unix);
    if (!r->step()) {
      added.push_back(false);  // stored before
      continue;
    }
    added.push_back(true);
    const int64_t report_row = r->integer(0);
    r.reset();
    for (const auto& policy : report.policies) {
      auto p = db.query(
          "INSERT INTO tlsrpt_policies (report, domain, policy_type, policy_string, policy_norm, mx_hosts, "
          "successful, failed, start_time, end_time) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
          "RETURNING id");
      p->bind(1, report_row).bind(2, policy.policy_domain).bind(3, policy.policy_type);
      join_lines(policy.policy_string, joined);
      p->bind(4, joined).bind(5, stored_norm(policy));
      join_lines(policy.mx_hosts, joined);
      p->bind(6, joined);
      p->bind(7, static_cast<int64_t>(policy.successful_sessions));
      p->bind(8, static_cast<int64_t>(policy.failed_sessions));
      p->bind(9, report.start).bind(10, report.end);
      if (!p->step()) {
        db.fail("store a report in", "no row id returned");
      }
      failure_rows.add(policy, p->integer(0));
    }
  }
  failure_rows.flush();
  return added;
}

}  // namespace

std::vector<bool> ReportStore::add(const std::vector<const TlsReport*>& reports,
                                   const std::vector<std::string>& sources, int64_t now_unix) {
  m_impl->require_writable();
  SqlDb& db = *m_impl->db;
  WriteTxn txn(db);  // joins the open Batch
  std::vector<bool> added = m_impl->postgres() ? add_postgres(db, reports, sources, now_unix)
                                               : add_sqlite(db, reports, sources, now_unix);
  txn.commit();
  return added;
}

std::vector<ReportSummary> ReportStore::summarise(const ReportQuery& query) const {
  std::vector<ReportSummary> out;
  if (!m_impl->db || !m_impl->has_tables) {
    return out;
  }
  SqlDb& db = *m_impl->db;
  // Placeholders numbered in order of use (PostgreSQL wants every number
  // from 1 to the highest used).
  std::string where = " WHERE TRUE";
  int next = 0;
  if (!query.domain.empty()) {
    where += " AND p.domain = ?" + std::to_string(++next);
  }
  if (query.from) {
    where += " AND p.start_time >= ?" + std::to_string(++next);
  }
  if (query.to) {
    where += " AND p.end_time <= ?" + std::to_string(++next);
  }
  auto run = [&](const std::string& sql) {
    auto q = db.query_once(sql);
    int index = 0;
    if (!query.domain.empty()) {
      q->bind(++index, query.domain);
    }
    if (query.from) {
      q->bind(++index, *query.from);
    }
    if (query.to) {
      q->bind(++index, *query.to);
    }
    return q;
  };
  const std::string day = m_impl->postgres()
                              ? "to_char(to_timestamp(p.start_time) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
                              : "date(p.start_time, 'unixepoch')";
  auto count = [](const SqlQuery& q, int col) { return static_cast<uint64_t>(q.integer(col)); };
  std::map<std::string, ReportSummary> by_domain;
  {
    auto q =
        run("SELECT p.domain, COUNT(DISTINCT p.report), SUM(p.successful), SUM(p.failed) "
            "FROM tlsrpt_policies p" +
            where + " GROUP BY p.domain");
    while (q->step()) {
      ReportSummary& summary = by_domain[q->text(0)];
      summary.domain = q->text(0);
      summary.reports = count(*q, 1);
      summary.successful_sessions = count(*q, 2);
      summary.failed_sessions = count(*q, 3);
    }
  }
  {
    auto q =
        run("SELECT p.domain, f.result_type, SUM(f.sessions) FROM tlsrpt_policies p "
            "JOIN tlsrpt_failure_totals f ON f.policy = p.id" +
            where + " GROUP BY 1, 2");
    while (q->step()) {
      by_domain[q->text(0)].failures[q->text(1)] = count(*q, 2);
    }
  }
  {
    // Senders in byte order, as SQLite sorts them.
    const std::string organization = m_impl->postgres() ? "r.organization COLLATE \"C\"" : "r.organization";
    auto q = run("SELECT DISTINCT p.domain, " + organization +
                 " FROM tlsrpt_policies p "
                 "JOIN tlsrpt_reports r ON r.id = p.report" +
                 where + " ORDER BY 1, 2");
    while (q->step()) {
      by_domain[q->text(0)].senders.push_back(q->text(1));
    }
  }
  {
    auto q = run("SELECT DISTINCT p.domain, p.policy_norm FROM tlsrpt_policies p" + where +
                 " AND p.policy_type = 'sts' AND p.policy_norm <> '' ORDER BY 1, 2");
    while (q->step()) {
      by_domain[q->text(0)].policy_strings.push_back(q->text(1));
    }
  }
  if (query.by_day) {
    std::map<std::string, std::map<std::string, DaySummary>> days;
    auto q = run("SELECT p.domain, " + day +
                 ", COUNT(DISTINCT p.report), SUM(p.successful), SUM(p.failed) "
                 "FROM tlsrpt_policies p" +
                 where + " GROUP BY 1, 2");
    while (q->step()) {
      DaySummary& summary = days[q->text(0)][q->text(1)];
      summary.date = q->text(1);
      summary.reports = count(*q, 2);
      summary.successful_sessions = count(*q, 3);
      summary.failed_sessions = count(*q, 4);
    }
    auto failures = run("SELECT p.domain, " + day +
                        ", f.result_type, SUM(f.sessions) FROM tlsrpt_policies p "
                        "JOIN tlsrpt_failure_totals f ON f.policy = p.id" +
                        where + " GROUP BY 1, 2, 3");
    while (failures->step()) {
      days[failures->text(0)][failures->text(1)].failures[failures->text(2)] = count(*failures, 3);
    }
    for (auto& [domain, dated] : days) {
      for (auto& [date, summary] : dated) {
        by_domain[domain].days.push_back(std::move(summary));
      }
    }
  }
  for (auto& [domain, summary] : by_domain) {
    out.push_back(std::move(summary));
  }
  return out;
}

uint64_t ReportStore::report_count() const {
  if (!m_impl->db || !m_impl->has_tables) {
    return 0;
  }
  auto q = m_impl->db->query("SELECT COUNT(*) FROM tlsrpt_reports");
  return q->step() ? static_cast<uint64_t>(q->integer(0)) : 0;
}

}  // namespace stsctl

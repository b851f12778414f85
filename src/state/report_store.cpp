#include "state/report_store.h"

#include "state/state.h"
#include "util/time.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>

namespace stsctl {

namespace {

constexpr int k_busy_timeout_ms = 30000;

// Per-policy failure totals by result-type are kept beside the detail rows
// so a summary reads one row per policy and type, however many details the
// senders sent (report show over a million detail rows stays fast).
const char* const k_report_schema = R"sql(
CREATE TABLE IF NOT EXISTS tlsrpt_reports (
  id           INTEGER PRIMARY KEY,
  organization TEXT NOT NULL,
  report_id    TEXT NOT NULL,
  start_time   INTEGER NOT NULL,
  end_time     INTEGER NOT NULL,
  contact      TEXT NOT NULL,
  source       TEXT NOT NULL,
  ingested_at  INTEGER NOT NULL,
  UNIQUE (organization, report_id)
);
CREATE TABLE IF NOT EXISTS tlsrpt_policies (
  id            INTEGER PRIMARY KEY,
  report        INTEGER NOT NULL REFERENCES tlsrpt_reports(id),
  domain        TEXT NOT NULL,
  policy_type   TEXT NOT NULL,
  policy_string TEXT NOT NULL,
  policy_norm   TEXT NOT NULL,
  mx_hosts      TEXT NOT NULL,
  successful    INTEGER NOT NULL,
  failed        INTEGER NOT NULL,
  start_time    INTEGER NOT NULL,
  end_time      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tlsrpt_policies_domain ON tlsrpt_policies(domain, start_time);
CREATE TABLE IF NOT EXISTS tlsrpt_failure_totals (
  policy      INTEGER NOT NULL REFERENCES tlsrpt_policies(id),
  result_type TEXT NOT NULL,
  sessions    INTEGER NOT NULL,
  PRIMARY KEY (policy, result_type)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tlsrpt_failures (
  policy                 INTEGER NOT NULL REFERENCES tlsrpt_policies(id),
  result_type            TEXT NOT NULL,
  sending_mta_ip         TEXT NOT NULL,
  receiving_mx_hostname  TEXT NOT NULL,
  receiving_ip           TEXT NOT NULL,
  failure_reason_code    TEXT NOT NULL,
  additional_information TEXT NOT NULL,
  failed_sessions        INTEGER NOT NULL
);
)sql";

struct DbClose {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalize {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) {
    out += (out.empty() ? "" : "\n") + line;
  }
  return out;
}

}  // namespace

struct ReportStore::Impl {
  std::string path;
  std::unique_ptr<sqlite3, DbClose> db;
  bool has_tables = false;
  bool in_batch = false;
  // Insert statements, prepared on first use; finalised before db closes.
  StmtPtr insert_report, insert_policy, insert_total, insert_failure;

  [[noreturn]] void fail(const std::string& verb) const {
    throw StateError("failed to " + verb + " state database '" + path + "' (" +
                     (db ? sqlite3_errmsg(db.get()) : "out of memory") + ")");
  }
  void exec(const char* sql, const char* verb) {
    if (sqlite3_exec(db.get(), sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      fail(verb);
    }
  }
  StmtPtr prepare(const std::string& sql) const {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db.get(), sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
      fail("prepare a query on");
    }
    return StmtPtr(raw);
  }
  void step_done(sqlite3_stmt* stmt, const char* verb) const {
    if (sqlite3_step(stmt) != SQLITE_DONE) {
      fail(verb);
    }
    sqlite3_reset(stmt);
  }
};

ReportStore::ReportStore(const std::string& path, bool create) : m_impl(std::make_unique<Impl>()) {
  m_impl->path = path;
  struct stat info {};
  if (!create && stat(path.c_str(), &info) != 0) {
    return;  // no database yet: no reports
  }
  sqlite3* raw = nullptr;
  int flags = create ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
  int code = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  m_impl->db.reset(raw);
  if (code != SQLITE_OK) {
    m_impl->fail("open");
  }
  sqlite3_busy_timeout(raw, k_busy_timeout_ms);
  if (create) {
    m_impl->exec("PRAGMA journal_mode=WAL", "set up");
    // An ingest of 10,000 reports writes ~5 MB of pages in one transaction:
    // with SQLite's default 2 MB cache it would spill to the WAL midway.
    m_impl->exec("PRAGMA cache_size=-65536", "set up");
    m_impl->exec(k_report_schema, "create the report tables in");
    m_impl->has_tables = true;
  } else {
    auto stmt = m_impl->prepare(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tlsrpt_failure_totals'");
    m_impl->has_tables = sqlite3_step(stmt.get()) == SQLITE_ROW;
  }
}

ReportStore::~ReportStore() {
  if (m_impl) {
    m_impl->insert_report.reset();
    m_impl->insert_policy.reset();
    m_impl->insert_total.reset();
    m_impl->insert_failure.reset();
  }
}

ReportStore::Batch::Batch(ReportStore& store) : m_store(store) {
  Impl& impl = *store.m_impl;
  if (!impl.db || !impl.has_tables) {
    throw StateError("failed to write state database '" + impl.path + "' (opened for reading)");
  }
  impl.exec("BEGIN IMMEDIATE", "start a transaction on");
  impl.in_batch = true;
}

ReportStore::Batch::~Batch() {
  if (!m_done) {
    sqlite3_exec(m_store.m_impl->db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    m_store.m_impl->in_batch = false;
  }
}

void ReportStore::Batch::commit() {
  m_store.m_impl->exec("COMMIT", "commit to");
  m_store.m_impl->in_batch = false;
  m_done = true;
}

std::vector<bool> ReportStore::add(const std::vector<const TlsReport*>& reports,
                                   const std::vector<std::string>& sources, int64_t now_unix) {
  if (!m_impl->db || !m_impl->has_tables) {
    throw StateError("failed to write state database '" + m_impl->path + "' (opened for reading)");
  }
  Impl& impl = *m_impl;
  std::vector<bool> added;
  added.reserve(reports.size());
  bool own_transaction = !impl.in_batch;
  if (own_transaction) {
    impl.exec("BEGIN IMMEDIATE", "start a transaction on");
  }
  try {
    if (!impl.insert_report) {
      impl.insert_report = impl.prepare(
          "INSERT OR IGNORE INTO tlsrpt_reports (organization, report_id, start_time, end_time, contact, "
          "source, "
          "ingested_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
      impl.insert_policy = impl.prepare(
          "INSERT INTO tlsrpt_policies (report, domain, policy_type, policy_string, policy_norm, mx_hosts, "
          "successful, failed, start_time, end_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      impl.insert_total = impl.prepare(
          "INSERT INTO tlsrpt_failure_totals (policy, result_type, sessions) VALUES (?, ?, ?) "
          "ON CONFLICT (policy, result_type) DO UPDATE SET sessions = sessions + excluded.sessions");
      impl.insert_failure = impl.prepare(
          "INSERT INTO tlsrpt_failures (policy, result_type, sending_mta_ip, receiving_mx_hostname, "
          "receiving_ip, "
          "failure_reason_code, additional_information, failed_sessions) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    }
    StmtPtr& insert_report = impl.insert_report;
    StmtPtr& insert_policy = impl.insert_policy;
    StmtPtr& insert_total = impl.insert_total;
    StmtPtr& insert_failure = impl.insert_failure;
    auto text = [](sqlite3_stmt* stmt, int index, const std::string& value) {
      // Every bound string outlives the step that reads it.
      sqlite3_bind_text(stmt, index, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
    };
    for (size_t i = 0; i < reports.size(); ++i) {
      const TlsReport& report = *reports[i];
      sqlite3_stmt* r = insert_report.get();
      text(r, 1, report.organization_name);
      text(r, 2, report.report_id);
      sqlite3_bind_int64(r, 3, report.start);
      sqlite3_bind_int64(r, 4, report.end);
      text(r, 5, report.contact_info);
      static const std::string k_no_source;
      const std::string& source = i < sources.size() ? sources[i] : k_no_source;
      text(r, 6, source);
      sqlite3_bind_int64(r, 7, now_unix);
      impl.step_done(r, "store a report in");
      if (sqlite3_changes(impl.db.get()) == 0) {
        added.push_back(false);
        continue;
      }
      added.push_back(true);
      int64_t report_row = sqlite3_last_insert_rowid(impl.db.get());
      for (const auto& policy : report.policies) {
        sqlite3_stmt* p = insert_policy.get();
        sqlite3_bind_int64(p, 1, report_row);
        text(p, 2, policy.policy_domain);
        text(p, 3, policy.policy_type);
        const std::string policy_string = join_lines(policy.policy_string);
        // Normalised by the parser (on ingest's workers) when it came from JSON.
        const std::string policy_norm = policy.policy_string.empty() || !policy.policy_norm.empty()
                                            ? policy.policy_norm
                                            : normalise_policy_text(policy.policy_string);
        const std::string mx_hosts = join_lines(policy.mx_hosts);
        text(p, 4, policy_string);
        text(p, 5, policy_norm);
        text(p, 6, mx_hosts);
        sqlite3_bind_int64(p, 7, static_cast<int64_t>(policy.successful_sessions));
        sqlite3_bind_int64(p, 8, static_cast<int64_t>(policy.failed_sessions));
        sqlite3_bind_int64(p, 9, report.start);
        sqlite3_bind_int64(p, 10, report.end);
        impl.step_done(p, "store a report in");
        int64_t policy_row = sqlite3_last_insert_rowid(impl.db.get());
        std::map<std::string, uint64_t> totals;
        for (const auto& failure : policy.failures) {
          totals[failure.result_type] += failure.failed_session_count;
          sqlite3_stmt* f = insert_failure.get();
          sqlite3_bind_int64(f, 1, policy_row);
          text(f, 2, failure.result_type);
          text(f, 3, failure.sending_mta_ip);
          text(f, 4, failure.receiving_mx_hostname);
          text(f, 5, failure.receiving_ip);
          text(f, 6, failure.failure_reason_code);
          text(f, 7, failure.additional_information);
          sqlite3_bind_int64(f, 8, static_cast<int64_t>(failure.failed_session_count));
          impl.step_done(f, "store a report in");
        }
        for (const auto& [type, sessions] : totals) {
          sqlite3_stmt* t = insert_total.get();
          sqlite3_bind_int64(t, 1, policy_row);
          text(t, 2, type);
          sqlite3_bind_int64(t, 3, static_cast<int64_t>(sessions));
          impl.step_done(t, "store a report in");
        }
      }
    }
    if (own_transaction) {
      impl.exec("COMMIT", "commit to");
    }
  } catch (...) {
    if (own_transaction) {
      sqlite3_exec(impl.db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
    throw;
  }
  return added;
}

std::vector<ReportSummary> ReportStore::summarise(const ReportQuery& query) const {
  std::vector<ReportSummary> out;
  if (!m_impl->db || !m_impl->has_tables) {
    return out;
  }
  const Impl& impl = *m_impl;
  std::string where = " WHERE 1";
  if (!query.domain.empty()) {
    where += " AND p.domain = ?1";
  }
  if (query.from) {
    where += " AND p.start_time >= ?2";
  }
  if (query.to) {
    where += " AND p.end_time <= ?3";
  }
  auto bind = [&](sqlite3_stmt* stmt) {
    if (!query.domain.empty()) {
      sqlite3_bind_text(stmt, 1, query.domain.c_str(), -1, SQLITE_TRANSIENT);
    }
    if (query.from) {
      sqlite3_bind_int64(stmt, 2, *query.from);
    }
    if (query.to) {
      sqlite3_bind_int64(stmt, 3, *query.to);
    }
  };
  auto column_text = [](sqlite3_stmt* stmt, int index) {
    const unsigned char* value = sqlite3_column_text(stmt, index);
    return value ? std::string(reinterpret_cast<const char*>(value)) : std::string();
  };
  std::map<std::string, ReportSummary> by_domain;
  {
    auto stmt = impl.prepare(
        "SELECT p.domain, COUNT(DISTINCT p.report), SUM(p.successful), SUM(p.failed) "
        "FROM tlsrpt_policies p" +
        where + " GROUP BY p.domain");
    bind(stmt.get());
    while (sqlite3_step(stmt.get()) == SQLITE_ROW) {
      ReportSummary& summary = by_domain[column_text(stmt.get(), 0)];
      summary.domain = column_text(stmt.get(), 0);
      summary.reports = static_cast<uint64_t>(sqlite3_column_int64(stmt.get(), 1));
      summary.successful_sessions = static_cast<uint64_t>(sqlite3_column_int64(stmt.get(), 2));
      summary.failed_sessions = static_cast<uint64_t>(sqlite3_column_int64(stmt.get(), 3));
    }
  }
  {
    auto stmt = impl.prepare(
        "SELECT p.domain, f.result_type, SUM(f.sessions) FROM tlsrpt_policies p "
        "JOIN tlsrpt_failure_totals f ON f.policy = p.id" +
        where + " GROUP BY 1, 2");
    bind(stmt.get());
    while (sqlite3_step(stmt.get()) == SQLITE_ROW) {
      by_domain[column_text(stmt.get(), 0)].failures[column_text(stmt.get(), 1)] =
          static_cast<uint64_t>(sqlite3_column_int64(stmt.get(), 2));
    }
  }
  {
    auto stmt = impl.prepare(
        "SELECT DISTINCT p.domain, r.organization FROM tlsrpt_policies p "
        "JOIN tlsrpt_reports r ON r.id = p.report" +
        where + " ORDER BY 1, 2");
    bind(stmt.get());
    while (sqlite3_step(stmt.get()) == SQLITE_ROW) {
      by_domain[column_text(stmt.get(), 0)].senders.push_back(column_text(stmt.get(), 1));
    }
  }
  {
    auto stmt = impl.prepare("SELECT DISTINCT p.domain, p.policy_norm FROM tlsrpt_policies p" + where +
                             " AND p.policy_type = 'sts' AND p.policy_norm <> '' ORDER BY 1, 2");
    bind(stmt.get());
    while (sqlite3_step(stmt.get()) == SQLITE_ROW) {
      by_domain[column_text(stmt.get(), 0)].policy_strings.push_back(column_text(stmt.get(), 1));
    }
  }
  if (query.by_day) {
    std::map<std::string, std::map<std::string, DaySummary>> days;
    auto stmt = impl.prepare(
        "SELECT p.domain, date(p.start_time, 'unixepoch'), COUNT(DISTINCT p.report), "
        "SUM(p.successful), SUM(p.failed) FROM tlsrpt_policies p" +
        where + " GROUP BY 1, 2");
    bind(stmt.get());
    while (sqlite3_step(stmt.get()) == SQLITE_ROW) {
      DaySummary& day = days[column_text(stmt.get(), 0)][column_text(stmt.get(), 1)];
      day.date = column_text(stmt.get(), 1);
      day.reports = static_cast<uint64_t>(sqlite3_column_int64(stmt.get(), 2));
      day.successful_sessions = static_cast<uint64_t>(sqlite3_column_int64(stmt.get(), 3));
      day.failed_sessions = static_cast<uint64_t>(sqlite3_column_int64(stmt.get(), 4));
    }
    auto failures = impl.prepare(
        "SELECT p.domain, date(p.start_time, 'unixepoch'), f.result_type, SUM(f.sessions) "
        "FROM tlsrpt_policies p JOIN tlsrpt_failure_totals f ON f.policy = p.id" +
        where + " GROUP BY 1, 2, 3");
    bind(failures.get());
    while (sqlite3_step(failures.get()) == SQLITE_ROW) {
      days[column_text(failures.get(), 0)][column_text(failures.get(), 1)]
          .failures[column_text(failures.get(), 2)] =
          static_cast<uint64_t>(sqlite3_column_int64(failures.get(), 3));
    }
    for (auto& [domain, dated] : days) {
      for (auto& [date, day] : dated) {
        by_domain[domain].days.push_back(std::move(day));
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
  auto stmt = m_impl->prepare("SELECT COUNT(*) FROM tlsrpt_reports");
  return sqlite3_step(stmt.get()) == SQLITE_ROW ? static_cast<uint64_t>(sqlite3_column_int64(stmt.get(), 0))
                                                : 0;
}

}  // namespace stsctl

#include "state/report_store.h"

#include "state/state.h"
#include "util/time.h"

#include "state/sql_db.h"
#include "state/sqlite_db.h"
#include "state/state_schema.h"

#include <sys/stat.h>

#include <algorithm>
#include <map>

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

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) {
    out += (out.empty() ? "" : "\n") + line;
  }
  return out;
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
  m_impl->db = open_sqlite(path, create ? SqliteOpen::Create : SqliteOpen::ReadOnly);
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

std::vector<bool> ReportStore::add(const std::vector<const TlsReport*>& reports,
                                   const std::vector<std::string>& sources, int64_t now_unix) {
  m_impl->require_writable();
  SqlDb& db = *m_impl->db;
  std::vector<bool> added;
  added.reserve(reports.size());
  WriteTxn txn(db);  // joins the open Batch
  for (size_t i = 0; i < reports.size(); ++i) {
    const TlsReport& report = *reports[i];
    auto r = db.query(
        "INSERT INTO tlsrpt_reports (organization, report_id, start_time, end_time, contact, source, "
        "ingested_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (organization, report_id) DO NOTHING "
        "RETURNING id");
    static const std::string k_no_source;
    r->bind(1, report.organization_name).bind(2, report.report_id).bind(3, report.start).bind(4, report.end);
    r->bind(5, report.contact_info).bind(6, i < sources.size() ? sources[i] : k_no_source).bind(7, now_unix);
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
      p->bind(4, join_lines(policy.policy_string));
      // Normalised by the parser (on ingest's workers) when it came from JSON.
      p->bind(5, policy.policy_string.empty() || !policy.policy_norm.empty()
                     ? policy.policy_norm
                     : normalise_policy_text(policy.policy_string));
      p->bind(6, join_lines(policy.mx_hosts));
      p->bind(7, static_cast<int64_t>(policy.successful_sessions));
      p->bind(8, static_cast<int64_t>(policy.failed_sessions));
      p->bind(9, report.start).bind(10, report.end);
      if (!p->step()) {
        db.fail("store a report in", "no row id returned");
      }
      const int64_t policy_row = p->integer(0);
      p.reset();
      std::map<std::string, uint64_t> totals;
      for (const auto& failure : policy.failures) {
        totals[failure.result_type] += failure.failed_session_count;
        auto f = db.query(
            "INSERT INTO tlsrpt_failures (policy, result_type, sending_mta_ip, receiving_mx_hostname, "
            "receiving_ip, failure_reason_code, additional_information, failed_sessions) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
        f->bind(1, policy_row).bind(2, failure.result_type).bind(3, failure.sending_mta_ip);
        f->bind(4, failure.receiving_mx_hostname).bind(5, failure.receiving_ip);
        f->bind(6, failure.failure_reason_code).bind(7, failure.additional_information);
        f->bind(8, static_cast<int64_t>(failure.failed_session_count));
        f->step();
      }
      for (const auto& [type, sessions] : totals) {
        auto t = db.query(
            "INSERT INTO tlsrpt_failure_totals (policy, result_type, sessions) VALUES (?1, ?2, ?3) "
            "ON CONFLICT (policy, result_type) DO UPDATE SET sessions = tlsrpt_failure_totals.sessions + "
            "excluded.sessions");
        t->bind(1, policy_row).bind(2, type).bind(3, static_cast<int64_t>(sessions));
        t->step();
      }
    }
  }
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

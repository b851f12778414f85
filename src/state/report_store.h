#pragma once
// TLS-RPT reports in the state database: its own tables (tlsrpt_*), created
// IF NOT EXISTS through its own connection, beside the tables of StateStore.
// Reports are unique by (organization-name, report-id): storing one twice
// keeps the first. Edge module (file I/O).

#include "report/report.h"
#include "report/summary.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace stsctl {

/// Which stored reports a summary covers: those of `domain` (all when empty)
/// whose date range lies within [from, to].
struct ReportQuery {
  std::string domain;
  std::optional<int64_t> from;
  std::optional<int64_t> to;
  bool by_day = false;
};

class SqlDb;

/// Creates the report tables when missing (inside the caller's transaction,
/// if one is open).
void create_report_tables(SqlDb& db);

class ReportStore {
 public:
  /// Opens the database at `path`. With `create`, creates the file and the
  /// report tables when missing; without, a missing file or table reads as
  /// no reports and nothing is written. Throws StateError naming the path.
  ReportStore(const std::string& path, bool create);
  ~ReportStore();
  ReportStore(const ReportStore&) = delete;
  ReportStore& operator=(const ReportStore&) = delete;

  /// Groups every add() until commit() into one write transaction (BEGIN
  /// IMMEDIATE), so ingest stores while it still parses. Without commit()
  /// nothing of it is kept. One at a time.
  class Batch {
   public:
    explicit Batch(ReportStore& store);
    ~Batch();
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;
    void commit();

   private:
    ReportStore& m_store;
    bool m_done = false;
  };

  /// Stores reports in ONE write transaction (or the open Batch's); per
  /// report true when it was new, false when (organization-name, report-id)
  /// was already stored. `sources[i]` names where report i came from.
  std::vector<bool> add(const std::vector<const TlsReport*>& reports, const std::vector<std::string>& sources,
                        int64_t now_unix);

  /// Per policy domain (sorted by name), the reports selected by `query`.
  std::vector<ReportSummary> summarise(const ReportQuery& query) const;

  /// Total stored reports.
  uint64_t report_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace stsctl

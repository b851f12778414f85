// ReportStore: its own tables beside the state, deduplication by
// (organization-name, report-id), and summaries over date ranges.

#include "state/report_store.h"
#include "report/report.h"
#include "state/backends_fixture.h"
#include "state/state.h"
#include "support/support.h"

#include <catch2/catch.hpp>

using namespace stsctl;

namespace {

TlsReport make_report(const std::string& org, const std::string& id, int64_t start, uint64_t ok,
                      uint64_t failed, const std::string& domain = "example.net") {
  TlsReport report;
  report.organization_name = org;
  report.report_id = id;
  report.start = start;
  report.end = start + 86399;
  PolicyResult policy;
  policy.policy_type = "sts";
  policy.policy_domain = domain;
  policy.policy_string = {"version: STSv1", "mode: testing", "mx: mail.example.net", "max_age: 86400"};
  policy.successful_sessions = ok;
  policy.failed_sessions = failed;
  if (failed > 0) {
    FailureDetail detail;
    detail.result_type = "validation-failure";
    detail.failed_session_count = failed - 1;
    policy.failures.push_back(detail);
    detail.result_type = "x-new-type";
    detail.failed_session_count = 1;
    policy.failures.push_back(detail);
  }
  report.policies.push_back(policy);
  return report;
}

#define EACH_BACKEND(backend)                                                             \
  const test::Backend backend = GENERATE(test::Backend::Sqlite, test::Backend::Postgres); \
  INFO("backend: " << test::backend_name(backend))

constexpr int64_t k_day = 86400;
constexpr int64_t k_nov20 = 1795132800;  // 2026-11-20T00:00:00Z

}  // namespace

TEST_CASE("the report store deduplicates by organisation and report id", "[state][report]") {
  EACH_BACKEND(backend);
  test::TempDir dir("report-store");
  std::string path = test::fresh_state(backend, dir);
  TlsReport a = make_report("Google Inc.", "r1", k_nov20, 100, 3);
  TlsReport b = make_report("Microsoft Corporation", "r1", k_nov20, 50, 0);  // same id, other sender
  TlsReport c = make_report("Google Inc.", "r2", k_nov20 + k_day, 200, 0, "example.org");
  {
    ReportStore store(path, true);
    CHECK(store.add({&a, &b, &a}, {"a.json", "b.json", "a-again.eml"}, k_nov20) ==
          std::vector<bool>{true, true, false});
    CHECK(store.add({&a, &c}, {"a.json.gz", "c.json"}, k_nov20) == std::vector<bool>{false, true});
    CHECK(store.report_count() == 3);
  }
  // The state store opens the same file with its own schema, and the reports stay.
  { StateStore state(path); }
  ReportStore reader(path, false);
  ReportQuery all;
  all.by_day = true;
  auto summaries = reader.summarise(all);
  REQUIRE(summaries.size() == 2);
  CHECK(summaries[0].domain == "example.net");
  CHECK(summaries[0].reports == 2);
  CHECK(summaries[0].successful_sessions == 150);
  CHECK(summaries[0].failed_sessions == 3);
  CHECK(summaries[0].failures ==
        std::map<std::string, uint64_t>{{"validation-failure", 2}, {"x-new-type", 1}});
  CHECK(summaries[0].senders == std::vector<std::string>{"Google Inc.", "Microsoft Corporation"});
  CHECK(summaries[0].policy_strings.size() == 1);
  REQUIRE(summaries[0].days.size() == 1);
  CHECK(summaries[0].days[0].date == "2026-11-20");
  CHECK(summaries[1].domain == "example.org");
  CHECK(summaries[1].days[0].date == "2026-11-21");
}

TEST_CASE("summaries take the reports whose date range lies within the query", "[state][report]") {
  EACH_BACKEND(backend);
  test::TempDir dir("report-store");
  ReportStore store(test::fresh_state(backend, dir), true);
  TlsReport d1 = make_report("S", "d1", k_nov20, 10, 0);
  TlsReport d2 = make_report("S", "d2", k_nov20 + k_day, 20, 0);
  TlsReport d3 = make_report("S", "d3", k_nov20 + 2 * k_day, 40, 0);
  store.add({&d1, &d2, &d3}, {"", "", ""}, k_nov20);
  ReportQuery query;
  query.from = k_nov20 + k_day;
  CHECK(store.summarise(query).at(0).successful_sessions == 60);
  query.to = k_nov20 + 2 * k_day;  // d2 ends before, d3 only starts then
  CHECK(store.summarise(query).at(0).successful_sessions == 20);
  query.domain = "example.org";
  CHECK(store.summarise(query).empty());
}

TEST_CASE("reading a database without reports, or no database, gives none and creates nothing",
          "[state][report]") {
  test::TempDir dir("report-store");
  ReportStore missing(dir.file("none.db"), false);
  CHECK(missing.summarise({}).empty());
  CHECK_FALSE(test::file_exists(dir.file("none.db")));
  EACH_BACKEND(backend);
  const std::string path =
      backend == test::Backend::Sqlite ? dir.file("state.db") : test::fresh_state(backend, dir);
  { StateStore state(path); }
  ReportStore empty(path, false);
  CHECK(empty.summarise({}).empty());
  CHECK(empty.report_count() == 0);
  TlsReport a = make_report("S", "a", k_nov20, 1, 0);
  CHECK_THROWS_WITH(empty.add({&a}, {""}, 0),
                    "failed to write state database '" + path + "' (opened for reading)");
}

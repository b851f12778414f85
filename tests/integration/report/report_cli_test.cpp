// report ingest / show through the stsctl binary: every input kind, the exact
// refusals, deduplication across kinds, exit codes, --json, and the HTML page
// opened in a real headless Chromium.

#include "support/support.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>

using namespace stsctl::test;

namespace {

std::string corpus(const std::string& name) { return source_path("tests/report/corpus/" + name); }

struct Reports {
  TempDir dir{"it-report"};
  std::string db = dir.file("stsctl.db");

  CommandResult run(std::vector<std::string> args) {
    std::vector<std::string> all{"--state", db};
    all.insert(all.end(), args.begin(), args.end());
    return run_stsctl(all);
  }
};

}  // namespace

TEST_CASE("report ingest: files, gzip, mails; a duplicate as file and as mail counts once", "[report][cli]") {
  Reports r;
  auto first = r.run({"report", "ingest", corpus("google-day1.json"), corpus("microsoft.json"),
                      corpus("google-day2-gzip-base64.eml")});
  INFO(first.out << first.err);
  CHECK(first.exit_code == 0);
  CHECK(first.out == "report ingest: 3 reports from 3 inputs: 3 new, 0 already stored\n");
  CHECK(first.err.empty());

  // The same Google report again: gzip (named and unnamed) and as a mail attachment.
  auto again = r.run({"report", "ingest", corpus("google-day1.json.gz"), corpus("google-day1-no-extension"),
                      corpus("google-day1-octet.eml"), corpus("microsoft-json-qp.eml")});
  INFO(again.out << again.err);
  CHECK(again.exit_code == 0);
  CHECK(again.out == "report ingest: 4 reports from 4 inputs: 0 new, 4 already stored\n");

  auto show = r.run({"--json", "report", "show"});
  REQUIRE(show.exit_code == 0);
  CHECK(
      show.out ==
      R"({"domains": [{"domain": "example.net", "reports": 3, "successful_sessions": 1099, "failed_sessions": 3, )"
      R"("failures": {"certificate-expired": 1, "validation-failure": 2}, "senders": ["Google Inc.", )"
      R"("Microsoft Corporation"]}]})"
      "\n");

  auto by_day = r.run({"--json", "report", "show", "--by", "day", "--since", "2026-11-21"});
  REQUIRE(by_day.exit_code == 0);
  CHECK(
      by_day.out ==
      R"({"domains": [{"domain": "example.net", "reports": 1, "successful_sessions": 499, "failed_sessions": 0, )"
      R"("failures": {}, "senders": ["Google Inc."], "days": [{"date": "2026-11-21", "reports": 1, )"
      R"("successful_sessions": 499, "failed_sessions": 0, "failures": {}}]}]})"
      "\n");

  auto until = r.run({"--json", "report", "show", "--until", "2026-11-20", "--domain", "example.net"});
  auto parsed = nlohmann::json::parse(until.out);
  CHECK(parsed["domains"][0]["reports"] == 2);
  CHECK(parsed["domains"][0]["successful_sessions"] == 600);

  auto text = r.run({"report", "show", "--by", "day"});
  CHECK(text.out ==
        "DOMAIN                      REPORTS  SUCCESSFUL  FAILED  RATE    FAILURES\n"
        "example.net                 3        1099        3       0.3%    certificate-expired 1, "
        "validation-failure 2\n"
        "  senders: Google Inc., Microsoft Corporation\n"
        "  2026-11-20                2        600         3       0.5%    certificate-expired 1, "
        "validation-failure 2\n"
        "  2026-11-21                1        499         0       0%      -\n");
}

TEST_CASE("report ingest: a failing input does not stop the others; exit 1; each refusal named",
          "[report][cli]") {
  Reports r;
  auto result = r.run({"report", "ingest", corpus("truncated.json.gz"), corpus("sparse.json"),
                       corpus("dmarc.json"), corpus("bad-count.json"), corpus("no-report.eml"),
                       corpus("one-bad-part.eml"), corpus("rfc8460.json"), r.dir.file("missing.json")});
  CHECK(result.exit_code == 1);
  CHECK(result.out == "report ingest: 3 reports from 8 inputs: 2 new, 1 already stored; 6 inputs failed\n");
  CHECK(result.err ==
        "stsctl: report ingest: " + r.dir.file("missing.json") + ": no such file or directory\n" +
            "stsctl: report ingest: " + corpus("truncated.json.gz") + ": truncated gzip data\n" +
            "stsctl: report ingest: " + corpus("dmarc.json") +
            ": not a TLS-RPT report (no organization-name, report-id or policies)\n" +
            "stsctl: report ingest: " + corpus("bad-count.json") +
            ": policies[0].summary.total-successful-session-count: expected a session count (a whole number, "
            "0 or "
            "more), got \"lots\"\n" +
            "stsctl: report ingest: " + corpus("no-report.eml") +
            ": mail <hello@reports.example> has no TLS-RPT report part (application/tlsrpt+gzip or "
            "application/tlsrpt+json)\n" +
            "stsctl: report ingest: " + corpus("one-bad-part.eml") +
            ", part 4 (application/tlsrpt+gzip, broken.json.gz): truncated gzip data\n");
  auto show = r.run({"--json", "report", "show", "--domain", "example.org"});
  CHECK(nlohmann::json::parse(show.out)["domains"][0]["failed_sessions"] == 303);
}

TEST_CASE("report ingest: control characters quoted from a report do not reach the terminal",
          "[report][cli]") {
  Reports r;
  std::string path = r.dir.file("escape.json");
  write_file(path,
             R"({"organization-name": "Evil", "report-id": "x1", "contact-info": null,
  "date-range": {"start-datetime": "2026-01-01T00:00:00Z\u001b]0;owned\u0007\n", "end-datetime": "2026-01-02T00:00:00Z"},
  "policies": []})");
  auto result = r.run({"report", "ingest", path});
  CHECK(result.exit_code == 1);
  CHECK(result.err == "stsctl: report ingest: " + path +
                          ": date-range.start-datetime: '2026-01-01T00:00:00Z ]0;owned  ' is not an RFC 3339 "
                          "date-time\n");
}

TEST_CASE("report ingest: Maildir folders (cur and new) and mbox files", "[report][cli]") {
  Reports r;
  std::string maildir = r.dir.file("Maildir");
  for (const char* sub : {"", "/cur", "/new", "/tmp"}) {
    std::filesystem::create_directories(maildir + sub);
  }
  write_file(maildir + "/new/1.host", read_file(corpus("google-day2-gzip-base64.eml")));
  write_file(maildir + "/cur/2.host:2,S", read_file(corpus("microsoft-json-qp.eml")));
  write_file(maildir + "/tmp/3.host", "half a message");  // a delivery in progress: not read
  auto maildir_run = r.run({"report", "ingest", maildir});
  INFO(maildir_run.out << maildir_run.err);
  CHECK(maildir_run.exit_code == 0);
  CHECK(maildir_run.out == "report ingest: 2 reports from 2 inputs: 2 new, 0 already stored\n");

  auto mbox = r.run({"--json", "report", "ingest", corpus("two-reports.mbox")});
  CHECK(mbox.exit_code == 0);
  CHECK(mbox.out == R"({"duplicates":2,"errors":[],"failed_inputs":0,"inputs":1,"new":0,"reports":2})"
                    "\n");
}

TEST_CASE("report show: bad dates are refused; no database means no reports", "[report][cli]") {
  Reports r;
  auto empty = r.run({"report", "show"});
  CHECK(empty.exit_code == 0);
  CHECK(empty.out == "no TLS-RPT reports stored (for this selection)\n");
  CHECK_FALSE(file_exists(r.db));
  auto bad = r.run({"report", "show", "--since", "last week"});
  CHECK(bad.exit_code == 1);
  CHECK(bad.err ==
        "stsctl: report show: --since: 'last week' is not a date (like 2026-11-20) or an RFC 3339 time (like "
        "2026-11-20T00:00:00Z)\n");
}

TEST_CASE("report show --html: one self-contained page; every domain's chart is in Chromium's DOM",
          "[report][cli][html]") {
  REQUIRE(have_program("chromium"));
  Reports r;
  REQUIRE(r.run({"report", "ingest", corpus("google-day1.json"), corpus("google-day2-gzip-base64.eml"),
                 corpus("microsoft.json"), corpus("rfc8460.json")})
              .exit_code == 0);
  std::string page = r.dir.file("reports.html");
  auto html = r.run({"report", "show", "--html", page});
  INFO(html.out << html.err);
  REQUIRE(html.exit_code == 0);
  CHECK(html.out == "report show: wrote " + page + " (2 domains)\n");
  std::string text = read_file(page);
  CHECK(text.find("<script") == std::string::npos);
  CHECK(text.find("<link") == std::string::npos);
  CHECK(text.find("http://") == text.find("http://www.w3.org/2000/svg"));  // only the SVG namespace
  CHECK(text.find("https://") == std::string::npos);

  TempDir home("chromium-home");
  std::map<std::string, std::string> env{{"HOME", home.path()}};
  auto dom = run_command({"chromium", "--headless", "--no-sandbox", "--disable-gpu",
                          "--user-data-dir=" + home.path(), "--dump-dom", "file://" + page},
                         "", env);
  REQUIRE(dom.exit_code == 0);
  CHECK(dom.out.find("<svg id=\"chart-example.net\"") != std::string::npos);
  CHECK(dom.out.find("<svg id=\"chart-example.org\"") != std::string::npos);
  CHECK(dom.out.find("class=\"failed\"") != std::string::npos);

  // Kept in the build tree for a person to look at.
  std::string shots = std::string(STSCTL_TEST_TMP) + "/../screenshots";
  std::filesystem::create_directories(shots);
  std::string png = shots + "/report-show.png";
  std::filesystem::remove(png);
  auto shot = run_command(
      {"chromium", "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + home.path(),
       "--window-size=1000,2400", "--screenshot=" + png, "file://" + page},
      "", env);
  CHECK(shot.exit_code == 0);
  REQUIRE(file_exists(png));
  CHECK(read_file(png).substr(1, 3) == "PNG");
}

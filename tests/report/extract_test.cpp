// extract_reports: JSON, gzip by magic bytes, MIME mails in any transfer
// encoding (decoded by GMime), mbox, and the refusals that name the part.

#include "report/extract.h"
#include "support/support.h"

#include <catch2/catch.hpp>

using namespace stsctl;

namespace {

std::vector<ExtractedReport> extract(const std::string& name) {
  return extract_reports(test::read_file(test::source_path("tests/report/corpus/" + name)));
}

}  // namespace

TEST_CASE("a gzip report is found by its magic bytes whatever its name", "[report][extract]") {
  auto found = extract("google-day1-no-extension");
  REQUIRE(found.size() == 1);
  REQUIRE(found[0].report.has_value());
  CHECK(found[0].where.empty());
  CHECK(found[0].report->report_id == "2026-11-20T00:00:00Z_example.net");
}

TEST_CASE("mails: tlsrpt+gzip in base64, tlsrpt+json in quoted-printable, octet-stream .json.gz",
          "[report][extract]") {
  auto gzip = extract("google-day2-gzip-base64.eml");
  REQUIRE(gzip.size() == 1);
  INFO(gzip[0].error);
  REQUIRE(gzip[0].report.has_value());
  CHECK(gzip[0].report->report_id == "2026-11-21T00:00:00Z_example.net");
  CHECK(gzip[0].where ==
        "part 3 (application/tlsrpt+gzip, reports.example!example.net!1795478400!1795564799.json.gz)");

  auto json = extract("microsoft-json-qp.eml");
  REQUIRE(json.size() == 1);
  REQUIRE(json[0].report.has_value());
  CHECK(json[0].report->organization_name == "Microsoft Corporation");

  auto octet = extract("google-day1-octet.eml");
  REQUIRE(octet.size() == 1);
  REQUIRE(octet[0].report.has_value());
  CHECK(octet[0].report->report_id == "2026-11-20T00:00:00Z_example.net");
}

TEST_CASE("an mbox gives each message's reports", "[report][extract]") {
  auto found = extract("two-reports.mbox");
  REQUIRE(found.size() == 2);
  REQUIRE(found[0].report.has_value());
  REQUIRE(found[1].report.has_value());
  CHECK(found[0].where.rfind("message 1, part 3 (application/tlsrpt+gzip", 0) == 0);
  CHECK(found[1].where.rfind("message 2, part 3 (application/tlsrpt+json", 0) == 0);
  CHECK(found[1].report->organization_name == "Microsoft Corporation");
}

TEST_CASE("refusals name the message and the MIME part", "[report][extract]") {
  auto none = extract("no-report.eml");
  REQUIRE(none.size() == 1);
  CHECK(none[0].error ==
        "mail <hello@reports.example> has no TLS-RPT report part (application/tlsrpt+gzip or "
        "application/tlsrpt+json)");

  auto mixed = extract("one-bad-part.eml");
  REQUIRE(mixed.size() == 2);
  CHECK(mixed[0].report.has_value());
  CHECK_FALSE(mixed[1].report.has_value());
  CHECK(mixed[1].where == "part 4 (application/tlsrpt+gzip, broken.json.gz)");
  CHECK(mixed[1].error == "truncated gzip data");

  auto empty = extract_reports("  \n");
  REQUIRE(empty.size() == 1);
  CHECK(empty[0].error == "empty file");

  auto text = extract_reports("just some words\nand more\n");
  REQUIRE(text.size() == 1);
  CHECK(text[0].error == "not a TLS-RPT report (neither JSON, gzip nor a mail message)");

  auto truncated = extract("truncated.json.gz");
  REQUIRE(truncated.size() == 1);
  CHECK(truncated[0].error == "truncated gzip data");
}

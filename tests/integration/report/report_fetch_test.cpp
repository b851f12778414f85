// report fetch against a real Dovecot (IMAPS on loopback, test CA): unseen
// report mails are stored, then flagged \Seen or moved; a mail without a
// report stays unseen; the password never shows in any output.

#include "support/dovecot_server.h"
#include "support/support.h"
#include "support/test_ca.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace stsctl::test;

namespace {

const std::string k_password = "tlsrpt-Secret-7f3a";

std::string corpus(const std::string& name) { return read_file(source_path("tests/report/corpus/" + name)); }

struct Imap {
  TestCa ca;
  DovecotServer dovecot{ca, "reports", k_password};
  TempDir dir{"it-report-fetch"};
  std::string db = dir.file("stsctl.db");

  CommandResult fetch(const std::vector<std::string>& extra, const std::map<std::string, std::string>& env,
                      const std::string& mailbox = "INBOX") {
    std::vector<std::string> args{"--state",
                                  db,
                                  "report",
                                  "fetch",
                                  dovecot.url(mailbox),
                                  "--ca-file",
                                  ca.ca_file(),
                                  "--connect-to",
                                  dovecot.connect_to()};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_stsctl(args, "", env);
  }
};

void no_secret(const CommandResult& result) {
  CHECK(result.out.find(k_password) == std::string::npos);
  CHECK(result.err.find(k_password) == std::string::npos);
}

}  // namespace

TEST_CASE("report fetch: stores unseen report mails and marks them seen", "[report][imap]") {
  Imap imap;
  imap.dovecot.deliver(corpus("google-day2-gzip-base64.eml"));
  imap.dovecot.deliver(corpus("microsoft-json-qp.eml"));
  imap.dovecot.deliver(corpus("no-report.eml"));
  auto result = imap.fetch({}, {{"STSCTL_IMAP_PASSWORD", k_password}});
  INFO(result.out << result.err << imap.dovecot.log());
  no_secret(result);
  CHECK(result.exit_code == 1);  // the mail without a report
  CHECK(result.out == "report fetch: 2 reports from 3 inputs: 2 new, 0 already stored; 1 input failed\n");
  CHECK(result.err ==
        "stsctl: report fetch: imaps://imap.example.test:" + std::to_string(imap.dovecot.port()) +
            "/INBOX;UID=3: mail <hello@reports.example> has no TLS-RPT report part "
            "(application/tlsrpt+gzip or application/tlsrpt+json)\n");
  CHECK(imap.dovecot.messages().size() == 3);
  CHECK(imap.dovecot.seen_count() == 2);

  // Seen mails are not fetched again; the unseen one is, and fails again.
  auto again = imap.fetch({}, {{"STSCTL_IMAP_PASSWORD", k_password}});
  CHECK(again.out == "report fetch: 0 reports from 1 input: 0 new, 0 already stored; 1 input failed\n");

  auto show = run_stsctl({"--state", imap.db, "--json", "report", "show"});
  auto parsed = nlohmann::json::parse(show.out);
  CHECK(parsed["domains"][0]["reports"] == 2);
  CHECK(parsed["domains"][0]["successful_sessions"] == 599);
}

TEST_CASE("report fetch --move-to: processed mails move; the password comes from a file", "[report][imap]") {
  Imap imap;
  imap.dovecot.deliver(corpus("google-day1-octet.eml"));
  imap.dovecot.deliver(corpus("google-day2-gzip-base64.eml"));
  write_file(imap.dir.file("imap.pass"), k_password + "\n");
  auto result = imap.fetch({"--password-file", imap.dir.file("imap.pass"), "--move-to", "Processed"}, {});
  INFO(result.out << result.err << imap.dovecot.log());
  no_secret(result);
  CHECK(result.exit_code == 0);
  CHECK(result.out == "report fetch: 2 reports from 2 inputs: 2 new, 0 already stored\n");
  CHECK(imap.dovecot.messages().empty());
  CHECK(imap.dovecot.messages("Processed").size() == 2);
}

TEST_CASE("report fetch: a wrong or missing password fails without showing it", "[report][imap]") {
  Imap imap;
  imap.dovecot.deliver(corpus("google-day1-octet.eml"));
  auto wrong = imap.fetch({}, {{"STSCTL_IMAP_PASSWORD", "not-" + k_password}});
  no_secret(wrong);
  CHECK(wrong.exit_code == 1);
  CHECK(wrong.err.find("not-" + k_password) == std::string::npos);
  CHECK(wrong.err == "stsctl: report fetch: failed to search unseen messages on imaps://imap.example.test:" +
                         std::to_string(imap.dovecot.port()) + "/INBOX as reports (Login denied)\n");

  auto missing = imap.fetch({"--password-env", "STSCTL_TEST_NO_SUCH_VARIABLE"}, {});
  CHECK(missing.exit_code == 1);
  CHECK(missing.err ==
        "stsctl: report fetch: no password: give --password-file FILE or set STSCTL_TEST_NO_SUCH_VARIABLE\n");

  auto plain = run_stsctl({"--state", imap.db, "report", "fetch", "imap://reports@127.0.0.1/INBOX"});
  CHECK(plain.exit_code == 1);
  CHECK(plain.err ==
        "stsctl: report fetch: 'imap://reports@127.0.0.1/INBOX' is not imaps://USER@HOST[:PORT]/MAILBOX "
        "(only imaps:// is allowed: the password must not travel in clear)\n");
  CHECK(imap.dovecot.seen_count() == 0);
}

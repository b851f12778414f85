#include "support/tlsrpt_report.h"

namespace stsctl::test {

nlohmann::json tlsrpt_report(const TlsrptDay& day) {
  nlohmann::json policy{
      {"policy-type", "sts"}, {"policy-domain", day.policy_domain}, {"mx-host", {day.mx_host}}};
  if (!day.policy_string.empty()) {
    policy["policy-string"] = day.policy_string;
  }
  nlohmann::json entry{
      {"policy", policy},
      {"summary",
       {{"total-successful-session-count", day.successful}, {"total-failure-session-count", day.failed}}}};
  if (day.failed > 0) {
    entry["failure-details"] = {{{"result-type", day.failure_type},
                                 {"receiving-mx-hostname", day.mx_host},
                                 {"failed-session-count", day.failed}}};
  }
  return nlohmann::json{
      {"organization-name", day.organization},
      {"report-id", day.report_id},
      {"contact-info", nullptr},
      {"date-range", {{"start-datetime", day.day + "T00:00:00Z"}, {"end-datetime", day.day + "T23:59:59Z"}}},
      {"policies", {entry}}};
}

std::string tlsrpt_mail(const TlsrptDay& day) {
  const std::string& domain = day.policy_domain;
  return "From: tlsrpt-noreply@sender.example\nTo: tlsrpt@example.net\nSubject: Report Domain: " + domain +
         " Submitter: sender.example Report-ID: <" + day.report_id +
         ">\nDate: Mon, 4 Jan 2027 06:00:00 +0000\n" + "Message-ID: <" + day.report_id +
         "@sender.example>\nTLS-Report-Domain: " + domain +
         "\nTLS-Report-Submitter: sender.example\nMIME-Version: 1.0\n"
         "Content-Type: multipart/report; report-type=\"tlsrpt\"; boundary=\"tlsrpt-boundary\"\n\n"
         "--tlsrpt-boundary\nContent-Type: text/plain; charset=us-ascii\n\n"
         "This is an aggregate TLS report from sender.example\n"
         "--tlsrpt-boundary\nContent-Type: application/tlsrpt+json\n"
         "Content-Disposition: attachment; filename=\"sender.example!" +
         domain + "!" + day.day + "!" + day.report_id + ".json\"\n\n" + tlsrpt_report(day).dump(2) +
         "\n--tlsrpt-boundary--\n";
}

}  // namespace stsctl::test

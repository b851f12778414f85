// libFuzzer target: TLS-RPT report inputs as `report ingest` reads them
// (RFC 8460 section 4): JSON, gzip (found by its magic bytes), RFC 5322 mails
// and mbox files with report parts (GMime). Any input must give, per
// candidate, either a report that keeps the parser's promises or an error.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "report/extract.h"

namespace {

bool is_domain_name(const std::string& name) {
  for (unsigned char c : name) {
    if (c >= 'A' && c <= 'Z') {
      return false;
    }
  }
  return name.empty() || name.back() != '.';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (const stsctl::ExtractedReport& found : stsctl::extract_reports(bytes)) {
    if (found.report.has_value() == !found.error.empty()) {
      std::abort();  // exactly one of a report and an error
    }
    if (!found.report) {
      continue;
    }
    const stsctl::TlsReport& report = *found.report;
    if (report.organization_name.empty() || report.report_id.empty() || report.end < report.start) {
      std::abort();
    }
    for (const auto& policy : report.policies) {
      if (policy.policy_type.empty() || !is_domain_name(policy.policy_domain)) {
        std::abort();
      }
      for (const auto& failure : policy.failures) {
        if (failure.result_type.empty() || !is_domain_name(failure.receiving_mx_hostname)) {
          std::abort();
        }
      }
    }
  }
  return 0;
}

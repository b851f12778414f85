#pragma once
// From the bytes of one input file to the reports it holds: a JSON report, a
// gzip report (detected by its magic bytes, not its name), an RFC 5322 mail
// with application/tlsrpt+gzip or +json parts (GMime decodes the MIME
// structure and transfer encodings), or an mbox of such mails. No file I/O.

#include "report/report.h"

#include <string>
#include <string_view>
#include <vector>

namespace stsctl {

/// One report found in an input, or why a candidate is not one.
struct ExtractedReport {
  /// Where inside the input: "" for the whole file, else e.g.
  /// "message 2, part 3 (application/tlsrpt+gzip, report.json.gz)".
  std::string where;
  std::optional<TlsReport> report;
  std::string error;  // set when report is empty
};

/// A JSON or gzip payload: decompresses when it starts with the gzip magic.
ParsedReport parse_report_bytes(std::string_view bytes);

/// Every report in one input. An input with no report at all gives one entry
/// with an error ("no TLS-RPT report part (application/tlsrpt+gzip or
/// application/tlsrpt+json)", "empty file", ...). Thread-safe.
std::vector<ExtractedReport> extract_reports(std::string_view bytes);

}  // namespace stsctl

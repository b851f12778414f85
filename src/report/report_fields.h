#pragma once
// The members of one RFC 8460 report as the JSON text holds them, read with
// nlohmann-json's SAX interface (no DOM of the whole text): kinds and
// strings, judged afterwards by parse_report_json. Internal to src/report.

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace stsctl::report_fields {

enum class Kind { Absent, Null, Boolean, Number, String, Array, Object };

/// As nlohmann::json::type_name() names them.
const char* type_name(Kind kind);

/// One member as sent: a string in `text`; another value in `value` (the
/// whole of it only where it is kept as JSON text, else its kind alone).
struct Field {
  Kind kind = Kind::Absent;
  std::string text;
  nlohmann::json value;
};

/// mx-host or policy-string: a string, a list of strings, or something else.
struct StringList {
  Field field;                     // kind, and the string when it is one
  std::vector<std::string> items;  // the strings of a list, up to the first other value
  size_t bad_index = 0;            // the first item that is not a string
  Kind bad_kind = Kind::Absent;    // its kind; Absent when there is none
  size_t count = 0;
};

struct RawDetail {
  Kind kind = Kind::Absent;
  Field result_type, sending_mta_ip, receiving_mx_hostname, receiving_ip, failure_reason_code,
      additional_information, failed_session_count;
};

struct RawPolicy {
  Kind kind = Kind::Absent;
  Kind policy_kind = Kind::Absent;
  Field policy_type, policy_domain;
  StringList policy_string, mx_host;
  Kind summary_kind = Kind::Absent;
  Field successful, failed;
  Kind details_kind = Kind::Absent;
  std::vector<RawDetail> details;
};

struct RawReport {
  Kind kind = Kind::Absent;
  Field organization_name, report_id, contact_info;
  Kind range_kind = Kind::Absent;
  Field start, end;
  Kind policies_kind = Kind::Absent;
  std::vector<RawPolicy> policies;
};

/// Reads `text` into `out`; false when it is not JSON. A repeated key counts
/// with its last value, as in a DOM.
bool read_report_fields(std::string_view text, RawReport& out);

}  // namespace stsctl::report_fields

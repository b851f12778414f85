// parse_report_json: the members of one RFC 8460 report, read by
// report_fields (SAX, no DOM of the whole text: ingest parses thousands),
// then judged here in a fixed order, so the first error named does not
// depend on the order of keys.
#include "report/report.h"

#include "report/report_fields.h"
#include "util/text.h"
#include "util/time.h"

#include <unordered_map>

namespace stsctl {

namespace {

using Json = nlohmann::json;
using namespace report_fields;

/// Thrown while judging, with the JSON path of the bad field.
struct Refused {
  std::string message;
};

std::string domain_name(std::string_view raw) {
  std::string text = ascii_lower(trim(raw));
  while (!text.empty() && text.back() == '.') {
    text.pop_back();
  }
  return text;
}

/// A string field: absent and null give "", other types are refused.
std::string optional_string(Field& field, const char* key, const std::string& path) {
  if (field.kind == Kind::Absent || field.kind == Kind::Null) {
    return "";
  }
  if (field.kind != Kind::String) {
    throw Refused{path + key + ": expected a string, got " + type_name(field.kind)};
  }
  return std::move(field.text);
}

/// Free-text fields that some senders fill with other JSON: kept as JSON text.
std::string any_text(Field& field) {
  if (field.kind == Kind::Absent || field.kind == Kind::Null) {
    return "";
  }
  return field.kind == Kind::String ? std::move(field.text) : field.value.dump();
}

uint64_t count(const Field& field, const char* key, const std::string& path, bool required) {
  if (field.kind == Kind::Absent || field.kind == Kind::Null) {
    if (required) {
      throw Refused{path + key + ": missing"};
    }
    return 0;
  }
  if (field.kind == Kind::Number && field.value.is_number_unsigned()) {
    return field.value.get<uint64_t>();
  }
  if (field.kind == Kind::Number && field.value.is_number_integer() && field.value.get<int64_t>() >= 0) {
    return static_cast<uint64_t>(field.value.get<int64_t>());
  }
  std::string shown = field.kind == Kind::String                                  ? Json(field.text).dump()
                      : field.kind == Kind::Number || field.kind == Kind::Boolean ? field.value.dump()
                                                                                  : type_name(field.kind);
  throw Refused{path + key + ": expected a session count (a whole number, 0 or more), got " + shown};
}

/// parse_rfc3339 with a per-thread memo: a day's reports from every sender
/// share the same date-range (RFC 8460 section 4.1: whole UTC days), and
/// ingest parses thousands of them.
std::optional<int64_t> parse_rfc3339_memo(const std::string& text) {
  thread_local std::unordered_map<std::string, std::optional<int64_t>> memo;
  auto it = memo.find(text);
  if (it != memo.end()) {
    return it->second;
  }
  if (memo.size() >= 1024) {
    memo.clear();
  }
  return memo.emplace(text, parse_rfc3339(text)).first->second;
}

int64_t timestamp(Field& field, const char* key, const std::string& path) {
  std::string text = optional_string(field, key, path);
  if (text.empty()) {
    throw Refused{path + key + ": missing"};
  }
  auto parsed = parse_rfc3339_memo(text);
  if (!parsed) {
    throw Refused{path + key + ": '" + text + "' is not an RFC 3339 date-time"};
  }
  return *parsed;
}

/// A string or an array of strings (mx-host, policy-string); absent gives none.
std::vector<std::string> string_list(StringList& list, const char* key, const std::string& path) {
  std::vector<std::string> out;
  switch (list.field.kind) {
    case Kind::Absent:
    case Kind::Null:
      return out;
    case Kind::String:
      out.push_back(std::move(list.field.text));
      return out;
    case Kind::Array:
      break;
    default:
      throw Refused{path + key + ": expected a string or a list of strings, got " +
                    type_name(list.field.kind)};
  }
  if (list.bad_kind != Kind::Absent) {
    throw Refused{path + key + "[" + std::to_string(list.bad_index) + "]: expected a string, got " +
                  type_name(list.bad_kind)};
  }
  return std::move(list.items);
}

FailureDetail read_failure(RawDetail& entry, const std::string& path) {
  if (entry.kind != Kind::Object) {
    throw Refused{path + ": expected an object, got " + type_name(entry.kind)};
  }
  std::string prefix = path + ".";
  FailureDetail detail;
  detail.result_type = optional_string(entry.result_type, "result-type", prefix);
  if (detail.result_type.empty()) {
    detail.result_type = "unknown";
  }
  detail.sending_mta_ip = optional_string(entry.sending_mta_ip, "sending-mta-ip", prefix);
  detail.receiving_mx_hostname =
      domain_name(optional_string(entry.receiving_mx_hostname, "receiving-mx-hostname", prefix));
  detail.receiving_ip = optional_string(entry.receiving_ip, "receiving-ip", prefix);
  detail.failure_reason_code = any_text(entry.failure_reason_code);
  detail.additional_information = any_text(entry.additional_information);
  detail.failed_session_count = count(entry.failed_session_count, "failed-session-count", prefix, false);
  return detail;
}

/// "missing" or "expected <what>, got <kind>" for a required member.
std::string wrong(Kind kind, const char* expected) {
  return kind == Kind::Absent ? std::string("missing")
                              : std::string("expected ") + expected + ", got " + type_name(kind);
}

PolicyResult read_policy(RawPolicy& entry, const std::string& path) {
  if (entry.kind != Kind::Object) {
    throw Refused{path + ": expected an object, got " + type_name(entry.kind)};
  }
  PolicyResult result;
  if (entry.policy_kind != Kind::Object) {
    throw Refused{path + ".policy: " + wrong(entry.policy_kind, "an object")};
  }
  std::string prefix = path + ".policy.";
  result.policy_type = optional_string(entry.policy_type, "policy-type", prefix);
  if (result.policy_type.empty()) {
    throw Refused{prefix + "policy-type: missing"};
  }
  result.policy_domain = domain_name(optional_string(entry.policy_domain, "policy-domain", prefix));
  result.policy_string = string_list(entry.policy_string, "policy-string", prefix);
  if (!result.policy_string.empty()) {
    result.policy_norm = normalise_policy_text(result.policy_string);
  }
  for (auto& host : string_list(entry.mx_host, "mx-host", prefix)) {
    result.mx_hosts.push_back(ascii_lower(trim(host)));
  }
  if (entry.summary_kind != Kind::Object) {
    throw Refused{path + ".summary: " + wrong(entry.summary_kind, "an object")};
  }
  result.successful_sessions =
      count(entry.successful, "total-successful-session-count", path + ".summary.", true);
  result.failed_sessions = count(entry.failed, "total-failure-session-count", path + ".summary.", true);
  if (entry.details_kind != Kind::Absent && entry.details_kind != Kind::Null) {
    if (entry.details_kind != Kind::Array) {
      throw Refused{path + ".failure-details: expected a list, got " +
                    std::string(type_name(entry.details_kind))};
    }
    result.failures.reserve(entry.details.size());
    for (size_t i = 0; i < entry.details.size(); ++i) {
      result.failures.push_back(
          read_failure(entry.details[i], path + ".failure-details[" + std::to_string(i) + "]"));
    }
  }
  return result;
}

}  // namespace

ParsedReport parse_report_json(std::string_view text) {
  ParsedReport out;
  RawReport raw;
  if (!read_report_fields(text, raw)) {
    out.error = "not JSON";
    return out;
  }
  if (raw.kind != Kind::Object) {
    out.error = std::string("not a TLS-RPT report (a JSON ") + type_name(raw.kind) + ", not an object)";
    return out;
  }
  if (raw.organization_name.kind == Kind::Absent && raw.policies_kind == Kind::Absent) {
    out.error = "not a TLS-RPT report (no organization-name, report-id or policies)";
    return out;
  }
  try {
    TlsReport report;
    report.organization_name =
        std::string(trim(optional_string(raw.organization_name, "organization-name", "")));
    if (report.organization_name.empty()) {
      throw Refused{"organization-name: missing"};
    }
    report.report_id = std::string(trim(optional_string(raw.report_id, "report-id", "")));
    if (report.report_id.empty()) {
      throw Refused{"report-id: missing"};
    }
    report.contact_info = any_text(raw.contact_info);
    if (raw.range_kind != Kind::Object) {
      throw Refused{"date-range: " + wrong(raw.range_kind, "an object")};
    }
    report.start = timestamp(raw.start, "start-datetime", "date-range.");
    report.end = timestamp(raw.end, "end-datetime", "date-range.");
    if (report.end < report.start) {
      throw Refused{"date-range: end-datetime is before start-datetime"};
    }
    if (raw.policies_kind != Kind::Array) {
      throw Refused{"policies: " + wrong(raw.policies_kind, "a list")};
    }
    report.policies.reserve(raw.policies.size());
    for (size_t i = 0; i < raw.policies.size(); ++i) {
      report.policies.push_back(read_policy(raw.policies[i], "policies[" + std::to_string(i) + "]"));
    }
    out.report = std::move(report);
  } catch (const Refused& refused) {
    out.error = refused.message;
  }
  return out;
}

}  // namespace stsctl

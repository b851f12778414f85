// parse_report_json: the JSON of one RFC 8460 report read with
// nlohmann-json's SAX interface straight into what the report keeps (no DOM
// of the whole text; ingest parses thousands). The fields are collected
// first and judged after the text parsed, in a fixed order, so the first
// error named does not depend on the order of keys; a repeated key counts
// with its last value, as in a DOM.
#include "report/report.h"

#include "util/text.h"
#include "util/time.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <unordered_map>

namespace stsctl {

namespace {

using Json = nlohmann::json;

enum class Kind { Absent, Null, Boolean, Number, String, Array, Object };

const char* type_name(Kind kind) {
  switch (kind) {
    case Kind::Null:
      return "null";
    case Kind::Boolean:
      return "boolean";
    case Kind::Number:
      return "number";
    case Kind::String:
      return "string";
    case Kind::Array:
      return "array";
    case Kind::Object:
      return "object";
    case Kind::Absent:
      break;
  }
  return "nothing";
}

/// One member as sent: a string in `text`; another value in `value` (the
/// whole of it only where it is kept as JSON text, else its kind alone).
struct Field {
  Kind kind = Kind::Absent;
  std::string text;
  Json value;
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

/// Where the next value goes.
enum class Slot {
  Skip,
  Scalar,       // a Field whose kind alone matters when it is not a scalar
  AnyText,      // a Field kept as JSON text when it is not a string
  DateRange,    // root.date-range
  Policies,     // root.policies
  PolicyEntry,  // an element of policies
  Policy,       // policies[i].policy
  Summary,      // policies[i].summary
  Details,      // policies[i].failure-details
  Detail,       // an element of failure-details
  List,         // mx-host, policy-string
  ListItem,     // an element of those
  Root,
};

/// The SAX events of one report into a RawReport.
class Reader {
 public:
  explicit Reader(RawReport& out) : m_out(out) {}

  bool null() { return scalar(Kind::Null, Json()); }
  bool boolean(bool value) { return scalar(Kind::Boolean, Json(value)); }
  bool number_integer(Json::number_integer_t value) { return scalar(Kind::Number, Json(value)); }
  bool number_unsigned(Json::number_unsigned_t value) { return scalar(Kind::Number, Json(value)); }
  bool number_float(Json::number_float_t value, const std::string& /*text*/) {
    return scalar(Kind::Number, Json(value));
  }
  bool binary(Json::binary_t& /*value*/) { return true; }  // not produced by JSON text
  bool string(std::string& value) {
    if (m_capture) {
      return m_capture->string(value);
    }
    auto [slot, field] = next();
    if (slot == Slot::Scalar || slot == Slot::AnyText) {
      field->kind = Kind::String;
      field->text.swap(value);  // the lexer clears its buffer before the next token
    } else if (slot == Slot::List) {
      StringList& list = *m_list;
      list = StringList{};
      list.field.kind = Kind::String;
      list.field.text.swap(value);
    } else if (slot == Slot::ListItem) {
      add_item(Kind::String, &value);
    } else {
      mark(slot, Kind::String);
    }
    return true;
  }

  bool start_object(std::size_t /*size*/) { return open(Kind::Object); }
  bool start_array(std::size_t /*size*/) { return open(Kind::Array); }
  bool end_object() { return close(true); }
  bool end_array() { return close(false); }

  bool key(std::string& name) {
    if (m_capture) {
      return m_capture->key(name);
    }
    Frame& frame = m_frames.back();
    frame.field = nullptr;
    frame.slot = Slot::Skip;
    switch (frame.context) {
      case Slot::Root:
        if (name == "organization-name") {
          frame.set(Slot::Scalar, &m_out.organization_name);
        } else if (name == "report-id") {
          frame.set(Slot::Scalar, &m_out.report_id);
        } else if (name == "contact-info") {
          frame.set(Slot::AnyText, &m_out.contact_info);
        } else if (name == "date-range") {
          frame.slot = Slot::DateRange;
        } else if (name == "policies") {
          frame.slot = Slot::Policies;
        }
        break;
      case Slot::DateRange:
        if (name == "start-datetime") {
          frame.set(Slot::Scalar, &m_out.start);
        } else if (name == "end-datetime") {
          frame.set(Slot::Scalar, &m_out.end);
        }
        break;
      case Slot::PolicyEntry:
        if (name == "policy") {
          frame.slot = Slot::Policy;
        } else if (name == "summary") {
          frame.slot = Slot::Summary;
        } else if (name == "failure-details") {
          frame.slot = Slot::Details;
        }
        break;
      case Slot::Policy: {
        RawPolicy& policy = m_out.policies.back();
        if (name == "policy-type") {
          frame.set(Slot::Scalar, &policy.policy_type);
        } else if (name == "policy-domain") {
          frame.set(Slot::Scalar, &policy.policy_domain);
        } else if (name == "policy-string") {
          frame.slot = Slot::List;
          m_list = &policy.policy_string;
        } else if (name == "mx-host") {
          frame.slot = Slot::List;
          m_list = &policy.mx_host;
        }
        break;
      }
      case Slot::Summary: {
        RawPolicy& policy = m_out.policies.back();
        if (name == "total-successful-session-count") {
          frame.set(Slot::Scalar, &policy.successful);
        } else if (name == "total-failure-session-count") {
          frame.set(Slot::Scalar, &policy.failed);
        }
        break;
      }
      case Slot::Detail: {
        RawDetail& detail = m_out.policies.back().details.back();
        if (name == "result-type") {
          frame.set(Slot::Scalar, &detail.result_type);
        } else if (name == "sending-mta-ip") {
          frame.set(Slot::Scalar, &detail.sending_mta_ip);
        } else if (name == "receiving-mx-hostname") {
          frame.set(Slot::Scalar, &detail.receiving_mx_hostname);
        } else if (name == "receiving-ip") {
          frame.set(Slot::Scalar, &detail.receiving_ip);
        } else if (name == "failure-reason-code") {
          frame.set(Slot::AnyText, &detail.failure_reason_code);
        } else if (name == "additional-information") {
          frame.set(Slot::AnyText, &detail.additional_information);
        } else if (name == "failed-session-count") {
          frame.set(Slot::Scalar, &detail.failed_session_count);
        }
        break;
      }
      default:
        break;
    }
    return true;
  }

  template <class Exception>
  bool parse_error(std::size_t /*position*/, const std::string& /*token*/, const Exception& /*error*/) {
    return false;
  }

 private:
  struct Frame {
    Slot context;            // what this object or array is
    Slot slot = Slot::Skip;  // where its next member goes (objects)
    Field* field = nullptr;
    void set(Slot where, Field* target) {
      slot = where;
      field = target;
    }
  };

  /// Where the next value goes, and its Field for Scalar and AnyText.
  std::pair<Slot, Field*> next() {
    if (m_frames.empty()) {
      return {Slot::Root, nullptr};
    }
    Frame& frame = m_frames.back();
    switch (frame.context) {
      case Slot::Policies:
        return {Slot::PolicyEntry, nullptr};
      case Slot::Details:
        return {Slot::Detail, nullptr};
      case Slot::List:
        return {Slot::ListItem, nullptr};
      case Slot::Root:
      case Slot::DateRange:
      case Slot::PolicyEntry:
      case Slot::Policy:
      case Slot::Summary:
      case Slot::Detail:
        return {frame.slot, frame.field};
      default:
        return {Slot::Skip, nullptr};
    }
  }

  void add_item(Kind kind, std::string* text) {
    StringList& list = *m_list;
    if (list.bad_kind == Kind::Absent) {
      if (kind == Kind::String) {
        list.items.emplace_back(std::move(*text));
      } else {
        list.bad_kind = kind;
        list.bad_index = list.count;
      }
    }
    ++list.count;
  }

  /// A value that is not kept here: its kind, at the place it stands.
  void mark(Slot slot, Kind kind) {
    switch (slot) {
      case Slot::Root:
        m_out.kind = kind;
        break;
      case Slot::DateRange:
        m_out.range_kind = kind;
        break;
      case Slot::Policies:
        m_out.policies_kind = kind;
        m_out.policies.clear();
        break;
      case Slot::PolicyEntry:
        m_out.policies.emplace_back().kind = kind;
        break;
      case Slot::Policy:
        m_out.policies.back().policy_kind = kind;
        break;
      case Slot::Summary:
        m_out.policies.back().summary_kind = kind;
        break;
      case Slot::Details:
        m_out.policies.back().details_kind = kind;
        m_out.policies.back().details.clear();
        break;
      case Slot::Detail:
        m_out.policies.back().details.emplace_back().kind = kind;
        break;
      case Slot::List:
        *m_list = StringList{};
        m_list->field.kind = kind;
        break;
      case Slot::ListItem:
        add_item(kind, nullptr);
        break;
      default:
        break;
    }
  }

  bool scalar(Kind kind, Json value) {
    if (m_capture) {
      return forward(std::move(value));
    }
    auto [slot, field] = next();
    if (slot == Slot::Scalar || slot == Slot::AnyText) {
      field->kind = kind;
      field->value = std::move(value);
    } else {
      mark(slot, kind);
    }
    return true;
  }

  bool forward(Json value) {
    switch (value.type()) {
      case Json::value_t::boolean:
        return m_capture->boolean(value.get<bool>());
      case Json::value_t::number_integer:
        return m_capture->number_integer(value.get<Json::number_integer_t>());
      case Json::value_t::number_unsigned:
        return m_capture->number_unsigned(value.get<Json::number_unsigned_t>());
      case Json::value_t::number_float:
        return m_capture->number_float(value.get<double>(), "");
      default:
        return m_capture->null();
    }
  }

  bool open(Kind kind) {
    if (m_capture) {
      ++m_capture_depth;
      return kind == Kind::Object ? m_capture->start_object(std::size_t(-1))
                                  : m_capture->start_array(std::size_t(-1));
    }
    auto [slot, field] = next();
    Slot context = Slot::Skip;
    if (slot == Slot::AnyText) {
      // Kept as JSON text: the value is built whole.
      field->kind = kind;
      field->value = Json();
      m_capture = std::make_unique<nlohmann::detail::json_sax_dom_parser<Json>>(field->value, false);
      m_capture_depth = 1;
      m_frames.push_back(Frame{Slot::Skip});
      return kind == Kind::Object ? m_capture->start_object(std::size_t(-1))
                                  : m_capture->start_array(std::size_t(-1));
    }
    if (slot == Slot::Scalar) {
      field->kind = kind;
    } else {
      mark(slot, kind);
      const bool object = kind == Kind::Object;
      switch (slot) {
        case Slot::Root:
          context = object ? Slot::Root : Slot::Skip;
          break;
        case Slot::DateRange:
          if (object) {
            context = Slot::DateRange;
            m_out.start = Field{};
            m_out.end = Field{};
          }
          break;
        case Slot::Policies:
          context = object ? Slot::Skip : Slot::Policies;
          break;
        case Slot::PolicyEntry:
          context = object ? Slot::PolicyEntry : Slot::Skip;
          break;
        case Slot::Policy:
          if (object) {
            RawPolicy& policy = m_out.policies.back();
            context = Slot::Policy;
            policy.policy_type = Field{};
            policy.policy_domain = Field{};
            policy.policy_string = StringList{};
            policy.mx_host = StringList{};
          }
          break;
        case Slot::Summary:
          if (object) {
            RawPolicy& policy = m_out.policies.back();
            context = Slot::Summary;
            policy.successful = Field{};
            policy.failed = Field{};
          }
          break;
        case Slot::Details:
          context = object ? Slot::Skip : Slot::Details;
          break;
        case Slot::Detail:
          context = object ? Slot::Detail : Slot::Skip;
          break;
        case Slot::List:
          context = object ? Slot::Skip : Slot::List;
          break;
        default:
          break;
      }
    }
    m_frames.push_back(Frame{context});
    return true;
  }

  bool close(bool object) {
    if (m_capture) {
      bool ok = object ? m_capture->end_object() : m_capture->end_array();
      if (--m_capture_depth == 0) {
        m_capture.reset();
        m_frames.pop_back();
      }
      return ok;
    }
    m_frames.pop_back();
    return true;
  }

  RawReport& m_out;
  std::vector<Frame> m_frames;
  StringList* m_list = nullptr;
  std::unique_ptr<nlohmann::detail::json_sax_dom_parser<Json>> m_capture;
  int m_capture_depth = 0;
};

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
  Reader reader(raw);
  if (!Json::sax_parse(text.begin(), text.end(), &reader)) {
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

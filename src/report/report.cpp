#include "report/report.h"

#include "util/text.h"
#include "util/time.h"

#include <zlib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <stdexcept>
#include <unordered_map>

namespace stsctl {

namespace {

using Json = nlohmann::json;

std::string domain_name(std::string_view raw) {
  std::string text = ascii_lower(trim(raw));
  while (!text.empty() && text.back() == '.') {
    text.pop_back();
  }
  return text;
}

/// Thrown inside the parser with the JSON path of the bad field.
struct Refused {
  std::string message;
};

/// A string field: absent and null give "", other types are refused.
std::string optional_string(const Json& object, const char* key, const std::string& path) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    return "";
  }
  if (!it->is_string()) {
    throw Refused{path + key + ": expected a string, got " + it->type_name()};
  }
  return it->get<std::string>();
}

/// Free-text fields that some senders fill with other JSON: kept as JSON text.
std::string any_text(const Json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    return "";
  }
  return it->is_string() ? it->get<std::string>() : it->dump();
}

uint64_t count(const Json& object, const char* key, const std::string& path, bool required) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    if (required) {
      throw Refused{path + key + ": missing"};
    }
    return 0;
  }
  if (it->is_number_unsigned()) {
    return it->get<uint64_t>();
  }
  if (it->is_number_integer() && it->get<int64_t>() >= 0) {
    return static_cast<uint64_t>(it->get<int64_t>());
  }
  throw Refused{path + key + ": expected a session count (a whole number, 0 or more), got " +
                (it->is_primitive() ? it->dump() : std::string(it->type_name()))};
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

int64_t timestamp(const Json& object, const char* key, const std::string& path) {
  std::string text = optional_string(object, key, path);
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
std::vector<std::string> string_list(const Json& object, const char* key, const std::string& path) {
  std::vector<std::string> out;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    return out;
  }
  if (it->is_string()) {
    out.push_back(it->get<std::string>());
    return out;
  }
  if (!it->is_array()) {
    throw Refused{path + key + ": expected a string or a list of strings, got " + it->type_name()};
  }
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& item = (*it)[i];
    if (!item.is_string()) {
      throw Refused{path + key + "[" + std::to_string(i) + "]: expected a string, got " + item.type_name()};
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

FailureDetail read_failure(const Json& entry, const std::string& path) {
  if (!entry.is_object()) {
    throw Refused{path + ": expected an object, got " + entry.type_name()};
  }
  std::string prefix = path + ".";
  FailureDetail detail;
  detail.result_type = optional_string(entry, "result-type", prefix);
  if (detail.result_type.empty()) {
    detail.result_type = "unknown";
  }
  detail.sending_mta_ip = optional_string(entry, "sending-mta-ip", prefix);
  detail.receiving_mx_hostname = domain_name(optional_string(entry, "receiving-mx-hostname", prefix));
  detail.receiving_ip = optional_string(entry, "receiving-ip", prefix);
  detail.failure_reason_code = any_text(entry, "failure-reason-code");
  detail.additional_information = any_text(entry, "additional-information");
  detail.failed_session_count = count(entry, "failed-session-count", prefix, false);
  return detail;
}

PolicyResult read_policy(const Json& entry, const std::string& path) {
  if (!entry.is_object()) {
    throw Refused{path + ": expected an object, got " + entry.type_name()};
  }
  PolicyResult result;
  auto policy = entry.find("policy");
  if (policy == entry.end() || !policy->is_object()) {
    throw Refused{path + ".policy: " +
                  (policy == entry.end() ? std::string("missing")
                                         : "expected an object, got " + std::string(policy->type_name()))};
  }
  std::string prefix = path + ".policy.";
  result.policy_type = optional_string(*policy, "policy-type", prefix);
  if (result.policy_type.empty()) {
    throw Refused{prefix + "policy-type: missing"};
  }
  result.policy_domain = domain_name(optional_string(*policy, "policy-domain", prefix));
  result.policy_string = string_list(*policy, "policy-string", prefix);
  if (!result.policy_string.empty()) {
    result.policy_norm = normalise_policy_text(result.policy_string);
  }
  for (auto& host : string_list(*policy, "mx-host", prefix)) {
    result.mx_hosts.push_back(ascii_lower(trim(host)));
  }
  auto summary = entry.find("summary");
  if (summary == entry.end() || !summary->is_object()) {
    throw Refused{path + ".summary: " +
                  (summary == entry.end() ? std::string("missing")
                                          : "expected an object, got " + std::string(summary->type_name()))};
  }
  result.successful_sessions = count(*summary, "total-successful-session-count", path + ".summary.", true);
  result.failed_sessions = count(*summary, "total-failure-session-count", path + ".summary.", true);
  auto details = entry.find("failure-details");
  if (details != entry.end() && !details->is_null()) {
    if (!details->is_array()) {
      throw Refused{path + ".failure-details: expected a list, got " + std::string(details->type_name())};
    }
    result.failures.reserve(details->size());
    for (size_t i = 0; i < details->size(); ++i) {
      result.failures.push_back(
          read_failure((*details)[i], path + ".failure-details[" + std::to_string(i) + "]"));
    }
  }
  return result;
}

}  // namespace

ParsedReport parse_report_json(std::string_view text) {
  ParsedReport out;
  Json root = Json::parse(text.begin(), text.end(), nullptr, false);
  if (root.is_discarded()) {
    out.error = "not JSON";
    return out;
  }
  if (!root.is_object()) {
    out.error = std::string("not a TLS-RPT report (a JSON ") + root.type_name() + ", not an object)";
    return out;
  }
  if (root.find("organization-name") == root.end() && root.find("policies") == root.end()) {
    out.error = "not a TLS-RPT report (no organization-name, report-id or policies)";
    return out;
  }
  try {
    TlsReport report;
    report.organization_name = std::string(trim(optional_string(root, "organization-name", "")));
    if (report.organization_name.empty()) {
      throw Refused{"organization-name: missing"};
    }
    report.report_id = std::string(trim(optional_string(root, "report-id", "")));
    if (report.report_id.empty()) {
      throw Refused{"report-id: missing"};
    }
    report.contact_info = any_text(root, "contact-info");
    auto range = root.find("date-range");
    if (range == root.end() || !range->is_object()) {
      throw Refused{"date-range: " + (range == root.end()
                                          ? std::string("missing")
                                          : "expected an object, got " + std::string(range->type_name()))};
    }
    report.start = timestamp(*range, "start-datetime", "date-range.");
    report.end = timestamp(*range, "end-datetime", "date-range.");
    if (report.end < report.start) {
      throw Refused{"date-range: end-datetime is before start-datetime"};
    }
    auto policies = root.find("policies");
    if (policies == root.end() || !policies->is_array()) {
      throw Refused{"policies: " + (policies == root.end()
                                        ? std::string("missing")
                                        : "expected a list, got " + std::string(policies->type_name()))};
    }
    for (size_t i = 0; i < policies->size(); ++i) {
      report.policies.push_back(read_policy((*policies)[i], "policies[" + std::to_string(i) + "]"));
    }
    out.report = std::move(report);
  } catch (const Refused& refused) {
    out.error = refused.message;
  }
  return out;
}

bool is_gzip(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

namespace {

/// One inflate state per thread, reset between inputs: inflateInit2 and
/// inflateEnd allocate and free ~40 KiB each time, once per report file.
class Inflater {
 public:
  Inflater() { m_ready = inflateInit2(&m_stream, 16 + MAX_WBITS) == Z_OK; }  // gzip framing (RFC 1952)
  ~Inflater() {
    if (m_ready) {
      inflateEnd(&m_stream);
    }
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  /// The stream, reset for a new input; nullptr when zlib could not start.
  z_stream* fresh() {
    if (!m_ready || inflateReset(&m_stream) != Z_OK) {
      return nullptr;
    }
    return &m_stream;
  }

 private:
  z_stream m_stream{};
  bool m_ready = false;
};

}  // namespace

std::string gunzip(std::string_view bytes, size_t max_output) {
  thread_local Inflater inflater;
  z_stream* stream_pointer = inflater.fresh();
  if (stream_pointer == nullptr) {
    throw std::runtime_error("cannot start gzip decompression");
  }
  z_stream& stream = *stream_pointer;
  std::string out;
  out.resize(std::min<size_t>(std::max<size_t>(bytes.size() * 8, 4096), max_output + 1));
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  stream.avail_in = static_cast<uInt>(bytes.size());
  size_t produced = 0;
  int code = Z_OK;
  std::string error;
  while (true) {
    if (produced == out.size()) {
      if (out.size() > max_output) {
        error = "more than " + std::to_string(max_output) + " bytes once decompressed";
        break;
      }
      out.resize(std::min(out.size() * 2, max_output + 1));
    }
    stream.next_out = reinterpret_cast<Bytef*>(&out[produced]);
    stream.avail_out = static_cast<uInt>(out.size() - produced);
    code = inflate(&stream, Z_NO_FLUSH);
    produced = out.size() - stream.avail_out;
    if (code == Z_STREAM_END) {
      // Another gzip member may follow; a trailing CRLF or padding may too.
      std::string_view rest(reinterpret_cast<const char*>(stream.next_in), stream.avail_in);
      if (is_gzip(rest)) {
        inflateReset(&stream);
        continue;
      }
      if (trim(rest).empty() || rest.find_first_not_of('\0') == std::string_view::npos) {
        break;
      }
      error = "corrupt gzip data (unexpected bytes after the end)";
      break;
    }
    if (code == Z_BUF_ERROR && stream.avail_in == 0) {
      error = "truncated gzip data";
      break;
    }
    if (code != Z_OK && code != Z_BUF_ERROR) {
      error = std::string("corrupt gzip data (") +
              (stream.msg ? stream.msg : "zlib error " + std::to_string(code)) + ")";
      break;
    }
    if (stream.avail_in == 0 && stream.avail_out != 0) {
      error = "truncated gzip data";
      break;
    }
  }
  if (produced > max_output && error.empty()) {
    error = "more than " + std::to_string(max_output) + " bytes once decompressed";
  }
  if (!error.empty()) {
    throw std::runtime_error(error);
  }
  out.resize(produced);
  return out;
}

std::string normalise_policy_text(const std::vector<std::string>& lines) {
  std::vector<std::string> normal;
  for (const auto& raw : lines) {
    std::string line(trim(raw));
    if (line.empty()) {
      continue;
    }
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string_view whole(line);
      line = ascii_lower(trim(whole.substr(0, colon))) + ": " + std::string(trim(whole.substr(colon + 1)));
    }
    if (line.rfind("mx: ", 0) == 0) {
      line = ascii_lower(line);
    }
    normal.push_back(line);
  }
  std::sort(normal.begin(), normal.end());
  std::string out;
  for (const auto& line : normal) {
    out += (out.empty() ? "" : "\n") + line;
  }
  return out;
}

std::string normalise_policy_text(std::string_view text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    lines.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return normalise_policy_text(lines);
}

}  // namespace stsctl

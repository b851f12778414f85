#include "check/policy_parse.h"

#include "dns/name.h"
#include "util/text.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

namespace stsctl {

const char* to_string(CheckStatus status) {
  switch (status) {
    case CheckStatus::Pass:
      return "pass";
    case CheckStatus::Warn:
      return "warn";
    case CheckStatus::Fail:
      return "fail";
  }
  return "fail";
}

namespace {

constexpr uint64_t k_max_max_age = 31557600;  // RFC 8461 3.2
const std::vector<std::string> k_policy_keys = {"version", "mode", "mx", "max_age"};

Finding make(const std::string& check, CheckStatus status, const std::string& message,
             const std::string& hint = "") {
  return Finding{check, status, message, hint};
}

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

std::string trim_wsp(const std::string& s) {
  size_t begin = 0;
  size_t end = s.size();
  while (begin < end && is_wsp(s[begin])) {
    ++begin;
  }
  while (end > begin && is_wsp(s[end - 1])) {
    --end;
  }
  return s.substr(begin, end - begin);
}

int levenshtein(const std::string& a, const std::string& b) {
  std::vector<int> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) {
    row[j] = static_cast<int>(j);
  }
  for (size_t i = 1; i <= a.size(); ++i) {
    int diagonal = row[0];
    row[0] = static_cast<int>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      int above = row[j];
      int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// RFC 8461 3.2 sts-policy-ext-name: (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
bool is_field_name(const std::string& name) {
  if (name.empty() || name.size() > 32 || !std::isalnum(static_cast<unsigned char>(name[0]))) {
    return false;
  }
  return std::all_of(name.begin(), name.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-' || c == '.'; });
}

bool is_all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

bool is_ip_literal(const std::string& text) {
  std::string t = text;
  if (!t.empty() && t.front() == '[' && t.back() == ']') {
    return true;
  }
  if (t.find(':') != std::string::npos) {
    return true;
  }
  in_addr v4{};
  return inet_pton(AF_INET, t.c_str(), &v4) == 1;
}

// Splits a TXT record into key=value fields at ";" with optional WSP around
// (RFC 8461 3.1 sts-sep, RFC 8460 3 tlsrpt-sep). Empty trailing field allowed.
std::vector<std::pair<std::string, std::string>> split_fields(const std::string& record, bool* ok) {
  std::vector<std::pair<std::string, std::string>> fields;
  *ok = true;
  size_t pos = 0;
  while (pos <= record.size()) {
    size_t semi = record.find(';', pos);
    std::string part =
        trim_wsp(record.substr(pos, semi == std::string::npos ? std::string::npos : semi - pos));
    bool last = semi == std::string::npos;
    if (part.empty()) {
      // Only one trailing ";" may leave an empty field.
      if (!last || fields.empty()) {
        *ok = false;
      }
    } else {
      size_t eq = part.find('=');
      if (eq == std::string::npos || eq == 0) {
        *ok = false;
        fields.emplace_back(part, "");
      } else {
        fields.emplace_back(part.substr(0, eq), part.substr(eq + 1));
      }
    }
    if (last) {
      break;
    }
    pos = semi + 1;
  }
  return fields;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// True when a record begins with the version tag itself (followed by ";",
// WSP or the end), case-sensitively as RFC 8461 3.1 and RFC 8460 3 require.
bool has_version(const std::string& record, const std::string& tag) {
  if (!starts_with(record, tag)) {
    return false;
  }
  return record.size() == tag.size() || record[tag.size()] == ';' || is_wsp(record[tag.size()]);
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\r') {
      out += "\\r";
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += '?';
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

std::string suggest_policy_key(const std::string& key) {
  std::string best;
  int best_distance = 3;
  std::string lowered = ascii_lower(key);
  for (const auto& known : k_policy_keys) {
    int distance = levenshtein(lowered, known);
    // Short keys like "mx" tolerate one edit only, else "id" would look like "mx".
    int limit = known.size() <= 2 ? 1 : 2;
    if (distance <= limit && distance < best_distance) {
      best = known;
      best_distance = distance;
    }
  }
  return best;
}

ParsedPolicy parse_policy_body(const std::string& body) {
  ParsedPolicy result;
  auto& findings = result.findings;
  const std::string check = "policy.syntax";
  if (body.empty()) {
    findings.push_back(make(check, CheckStatus::Fail, "the policy file is empty",
                            "serve version, mode, mx and max_age lines (RFC 8461 3.2)"));
    return result;
  }

  // Split into lines, noting line endings.
  std::vector<std::string> lines;
  int lf_only = 0;
  int crlf = 0;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t nl = body.find('\n', pos);
    std::string line = body.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    if (nl != std::string::npos) {
      if (!line.empty() && line.back() == '\r') {
        line.pop_back();
        ++crlf;
      } else {
        ++lf_only;
      }
    } else if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    lines.push_back(line);
    if (nl == std::string::npos) {
      break;
    }
    pos = nl + 1;
  }
  if (lf_only > 0) {
    findings.push_back(make(check, CheckStatus::Warn,
                            std::to_string(lf_only) + " line(s) end in LF only; RFC 8461 3.2 prescribes CRLF",
                            "serve the file with CRLF line endings (stsctl render policy writes CRLF)"));
  }

  std::set<std::string> seen;
  std::set<std::string> seen_mx;
  bool version_ok = false;
  bool any_fail = false;
  auto fail = [&](const std::string& message, const std::string& hint) {
    findings.push_back(make(check, CheckStatus::Fail, message, hint));
    any_fail = true;
  };

  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    const std::string where = "line " + std::to_string(i + 1);
    if (trim_wsp(line).empty()) {
      if (i + 1 != lines.size() || !line.empty()) {
        findings.push_back(make(check, CheckStatus::Warn, where + ": blank line",
                                "remove blank lines; some senders stop parsing there"));
      }
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string::npos) {
      fail(where + ": " + quote(line) + " is not 'key: value'", "write each line as 'key: value'");
      continue;
    }
    std::string key = line.substr(0, colon);
    std::string value = trim_wsp(line.substr(colon + 1));
    if (!is_field_name(key)) {
      fail(where + ": " + quote(key) + " is not a valid key",
           "keys are letters, digits, '_', '-', '.' with no spaces before ':'");
      continue;
    }
    if (i == 0 && key != "version") {
      fail(where + ": the first line must be 'version: STSv1', found " + quote(line),
           "put 'version: STSv1' on the first line");
    }
    bool known = std::find(k_policy_keys.begin(), k_policy_keys.end(), key) != k_policy_keys.end();
    if (!known) {
      std::string suggestion = suggest_policy_key(key);
      if (!suggestion.empty()) {
        findings.push_back(
            make(check, CheckStatus::Warn,
                 where + ": unknown key " + quote(key) + " (did you mean '" + suggestion + "'?)",
                 "senders ignore unknown keys; rename it to '" + suggestion + "'"));
      } else {
        findings.push_back(make(check, CheckStatus::Pass,
                                where + ": unknown key " + quote(key) + " ignored (RFC 8461 3.2 extension)"));
      }
      continue;
    }
    if (key != "mx" && !seen.insert(key).second) {
      findings.push_back(make(check, CheckStatus::Warn,
                              where + ": duplicate key '" + key + "' (the first one counts)",
                              "keep exactly one '" + key + ":' line"));
      continue;
    }
    if (value.empty()) {
      fail(where + ": '" + key + "' has no value", "give '" + key + ":' a value");
      continue;
    }
    if (key == "version") {
      if (value != "STSv1") {
        fail(where + ": version is " + quote(value) + ", expected 'STSv1'", "write 'version: STSv1'");
      } else if (i == 0) {
        version_ok = true;
      }
    } else if (key == "mode") {
      if (value == "testing") {
        result.mode = PolicyMode::Testing;
      } else if (value == "enforce") {
        result.mode = PolicyMode::Enforce;
      } else if (value == "none") {
        result.mode = PolicyMode::None;
      } else if (value == "report") {
        fail(where + ": mode 'report' is from an obsolete draft; senders reject it",
             "use 'mode: testing' (report-only) or 'mode: enforce'");
      } else {
        fail(where + ": mode " + quote(value) + " is not testing, enforce or none",
             "use 'mode: testing', 'mode: enforce' or 'mode: none' (lowercase)");
      }
    } else if (key == "mx") {
      if (is_ip_literal(value)) {
        fail(where + ": mx " + quote(value) + " is an IP address; patterns are host names",
             "list the MX host name (as in the MX record), not its address");
        continue;
      }
      // RFC 8461 3.2: sts-policy-mx-value is a domain without a final dot;
      // senders compare it with the MX host name, which has none.
      if (!value.empty() && value.back() == '.') {
        fail(where + ": mx " + quote(value) + " ends with a dot; senders match no MX host against it",
             "write the name without the final dot, e.g. 'mx: " + value.substr(0, value.size() - 1) + "'");
        continue;
      }
      std::string normalized = normalize_name(value);
      if (auto error = mx_pattern_error(normalized)) {
        fail(where + ": mx " + quote(value) + " is not a valid pattern (" + *error + ")",
             "use a host name, or '*.' as the whole leftmost label (e.g. '*.mail.example.net')");
        continue;
      }
      if (!seen_mx.insert(normalized).second) {
        findings.push_back(make(check, CheckStatus::Warn, where + ": mx " + quote(value) + " is listed twice",
                                "remove the duplicate mx line"));
        continue;
      }
      result.mx.push_back(value);
    } else if (key == "max_age") {
      if (!is_all_digits(value) || value.size() > 10) {
        fail(where + ": max_age " + quote(value) + " is not 1-10 digits",
             "write max_age as seconds, e.g. 604800");
      } else if (std::stoull(value) > k_max_max_age) {
        fail(where + ": max_age " + value + " exceeds " + std::to_string(k_max_max_age) + " (one year)",
             "use at most 31557600");
      } else {
        result.max_age = static_cast<uint32_t>(std::stoull(value));
      }
    }
  }

  if (!seen.count("version")) {
    fail("no 'version' line", "start the file with 'version: STSv1'");
  } else if (!version_ok && !any_fail) {
    fail("'version' is not on the first line", "put 'version: STSv1' on the first line");
  }
  if (!seen.count("mode")) {
    fail("no 'mode' line", "add 'mode: testing' (or enforce/none)");
  }
  if (!seen.count("max_age")) {
    fail("no 'max_age' line", "add 'max_age: 86400' (seconds)");
  }
  if (result.mx.empty() && result.mode && *result.mode != PolicyMode::None) {
    fail("no valid 'mx' line; required unless mode is none", "add one 'mx:' line per MX host or pattern");
  }
  result.valid = !any_fail;
  if (result.valid) {
    findings.push_back(make(check, CheckStatus::Pass,
                            std::string("policy parses: mode ") + to_string(*result.mode) + ", max_age " +
                                std::to_string(*result.max_age) + ", " + std::to_string(result.mx.size()) +
                                " mx pattern(s)"));
  }
  return result;
}

ParsedStsRecord parse_sts_records(const std::vector<std::string>& txts) {
  ParsedStsRecord result;
  auto& findings = result.findings;
  std::vector<std::string> sts;
  for (const auto& txt : txts) {
    if (has_version(txt, "v=STSv1")) {
      sts.push_back(txt);
    } else {
      result.other_records.push_back(txt);
    }
  }
  result.sts_record_count = static_cast<int>(sts.size());

  for (const auto& other : result.other_records) {
    if (starts_with(ascii_lower(other), "v=stsv1")) {
      findings.push_back(
          make("sts.record", CheckStatus::Fail,
               "TXT " + quote(other) + " looks like an STS record but does not start with 'v=STSv1'",
               "write the version tag exactly 'v=STSv1' (case-sensitive)"));
    } else if (starts_with(ascii_lower(other), "v=spf1")) {
      findings.push_back(
          make("sts.other_txt", CheckStatus::Warn,
               "unrelated TXT " + quote(other) +
                   " at _mta-sts: an SPF record here usually means a wildcard TXT leaks into it",
               "check for a wildcard '*' TXT record in the zone; add an explicit _mta-sts TXT"));
    } else {
      findings.push_back(make("sts.other_txt", CheckStatus::Warn,
                              "unrelated TXT " + quote(other) + " at _mta-sts",
                              "remove TXT records at _mta-sts that are not the STS record"));
    }
  }

  if (sts.empty()) {
    findings.push_back(make("sts.record", CheckStatus::Fail, "no TXT record starting with 'v=STSv1'",
                            "publish _mta-sts TXT \"v=STSv1; id=<id>\""));
    return result;
  }
  if (sts.size() > 1) {
    findings.push_back(
        make("sts.record", CheckStatus::Fail,
             std::to_string(sts.size()) +
                 " TXT records start with 'v=STSv1'; senders then see no policy (RFC 8461 3.1)",
             "keep exactly one v=STSv1 record (replace, don't add, when the id changes)"));
    return result;
  }

  const std::string& record = sts.front();
  bool split_ok = true;
  auto fields = split_fields(record, &split_ok);
  bool ok = true;
  if (!split_ok || fields.empty() || fields.front().first != "v" || fields.front().second != "STSv1") {
    findings.push_back(make("sts.record", CheckStatus::Fail,
                            "TXT " + quote(record) + " is not 'k=v' fields separated by ';'",
                            "publish exactly \"v=STSv1; id=<id>\""));
    ok = false;
  }
  std::optional<std::string> id;
  for (size_t i = 1; i < fields.size(); ++i) {
    const auto& [name, value] = fields[i];
    if (name == "id") {
      if (id) {
        findings.push_back(
            make("sts.id", CheckStatus::Warn, "several id= fields; the first counts", "keep one id= field"));
        continue;
      }
      id = value;
    } else if (!is_field_name(name) || value.empty()) {
      findings.push_back(make("sts.record", CheckStatus::Fail,
                              "field " + quote(name + "=" + value) + " is malformed",
                              "extension fields are name=value with no spaces"));
      ok = false;
    }
  }
  if (!id) {
    findings.push_back(make("sts.id", CheckStatus::Fail, "the STS record has no id= field",
                            "add 'id=<1-32 letters/digits>'"));
    ok = false;
  } else if (id->empty() || id->size() > 32 ||
             !std::all_of(id->begin(), id->end(), [](unsigned char c) { return std::isalnum(c); })) {
    findings.push_back(make("sts.id", CheckStatus::Fail,
                            "id " + quote(*id) + " is not 1-32 letters and digits (RFC 8461 3.1)",
                            "use an id such as 20240101120000 (no '-', '.', ':' or spaces)"));
    ok = false;
  } else {
    findings.push_back(make("sts.id", CheckStatus::Pass, "id " + *id + " is valid"));
  }
  if (ok) {
    findings.push_back(make("sts.record", CheckStatus::Pass, "one STS record: " + quote(record)));
    result.valid = true;
    result.id = *id;
  }
  return result;
}

ParsedTlsRpt parse_tlsrpt_records(const std::vector<std::string>& txts) {
  ParsedTlsRpt result;
  auto& findings = result.findings;
  std::vector<std::string> records;
  for (const auto& txt : txts) {
    if (has_version(txt, "v=TLSRPTv1")) {
      records.push_back(txt);
    } else if (starts_with(ascii_lower(txt), "v=tlsrpt")) {
      findings.push_back(make("tlsrpt.record", CheckStatus::Fail,
                              "TXT " + quote(txt) + " does not start with 'v=TLSRPTv1' exactly",
                              "write the version tag exactly 'v=TLSRPTv1'"));
    }
  }
  if (records.empty()) {
    findings.push_back(make("tlsrpt.record", CheckStatus::Fail, "no TXT record starting with 'v=TLSRPTv1'",
                            "publish _smtp._tls TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@<domain>\""));
    return result;
  }
  if (records.size() > 1) {
    findings.push_back(
        make("tlsrpt.record", CheckStatus::Fail,
             std::to_string(records.size()) + " TXT records start with 'v=TLSRPTv1'; senders ignore them all",
             "keep exactly one v=TLSRPTv1 record"));
    return result;
  }
  const std::string& record = records.front();
  bool split_ok = true;
  auto fields = split_fields(record, &split_ok);
  bool ok = split_ok && !fields.empty() && fields.front().first == "v";
  if (!ok) {
    findings.push_back(make("tlsrpt.record", CheckStatus::Fail,
                            "TXT " + quote(record) + " is not 'k=v' fields separated by ';'",
                            "publish \"v=TLSRPTv1; rua=<uri>[,<uri>]\""));
  }
  std::optional<std::string> rua;
  for (size_t i = 1; i < fields.size(); ++i) {
    if (fields[i].first == "rua" && !rua) {
      rua = fields[i].second;
    }
  }
  if (!rua) {
    findings.push_back(
        make("tlsrpt.rua", CheckStatus::Fail, "no rua= field", "add 'rua=mailto:tlsrpt@<domain>'"));
    return result;
  }
  // rua = URI *(*WSP "," *WSP URI) (RFC 8460 3).
  size_t pos = 0;
  while (pos <= rua->size()) {
    size_t comma = rua->find(',', pos);
    std::string uri =
        trim_wsp(rua->substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
    std::string lowered = ascii_lower(uri);
    if (uri.empty()) {
      findings.push_back(make("tlsrpt.rua", CheckStatus::Fail, "empty URI in rua=", "remove the stray ','"));
      ok = false;
    } else if (starts_with(lowered, "mailto:")) {
      std::string address = uri.substr(7);
      size_t at = address.find('@');
      if (at == std::string::npos || at == 0 || at + 1 >= address.size()) {
        findings.push_back(make("tlsrpt.rua", CheckStatus::Fail,
                                "rua " + quote(uri) + " has no valid mail address",
                                "use mailto:local@domain"));
        ok = false;
      } else if (uri.find('!') != std::string::npos) {
        findings.push_back(
            make("tlsrpt.rua", CheckStatus::Fail,
                 "rua " + quote(uri) + " has an unencoded '!' (a DMARC size limit is not allowed here)",
                 "drop the '!size' suffix or percent-encode it as %21"));
        ok = false;
      } else {
        result.rua.push_back(uri);
      }
    } else if (starts_with(lowered, "https://")) {
      std::string rest = uri.substr(8);
      if (rest.empty() || rest[0] == '/' || uri.find('!') != std::string::npos) {
        findings.push_back(make("tlsrpt.rua", CheckStatus::Fail,
                                "rua " + quote(uri) + " is not a valid https URI", "use https://host/path"));
        ok = false;
      } else {
        result.rua.push_back(uri);
      }
    } else {
      findings.push_back(make("tlsrpt.rua", CheckStatus::Fail,
                              "rua " + quote(uri) + " is neither mailto: nor https:",
                              "use mailto: or https: URIs only (RFC 8460 3)"));
      ok = false;
    }
    if (comma == std::string::npos) {
      break;
    }
    pos = comma + 1;
  }
  if (ok && !result.rua.empty()) {
    result.valid = true;
    findings.push_back(make("tlsrpt.record", CheckStatus::Pass, "TLS-RPT record: " + quote(record)));
  }
  return result;
}

}  // namespace stsctl

#include "check/caa.h"

#include "dns/name.h"
#include "util/text.h"

#include <algorithm>
#include <cctype>

namespace stsctl {

namespace {

bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    out += (out.empty() ? "" : ", ") + item;
  }
  return out;
}

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// RFC 8659 4.2: label = (ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT) )
bool is_issuer_domain(const std::string& name) {
  if (name.empty()) {
    return false;
  }
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    std::string label = name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (label.empty() || !is_alnum(label.front()) || !is_alnum(label.back()) ||
        !std::all_of(label.begin(), label.end(), [](char c) { return is_alnum(c) || c == '-'; })) {
      return false;
    }
    if (dot == std::string::npos) {
      return true;
    }
    start = dot + 1;
  }
  return false;
}

struct KnownCa {
  const char* organization_prefix;
  std::vector<std::string> domains;
};

const std::vector<KnownCa>& known_cas() {
  static const std::vector<KnownCa> cas = {
      {"let's encrypt", {"letsencrypt.org"}},
      {"digicert", {"digicert.com", "symantec.com", "thawte.com", "geotrust.com", "rapidssl.com"}},
      {"sectigo", {"sectigo.com", "comodoca.com", "comodo.com"}},
      {"zerossl", {"sectigo.com", "zerossl.com"}},
      {"globalsign", {"globalsign.com"}},
      {"google trust services", {"pki.goog"}},
      {"amazon", {"amazon.com", "amazontrust.com", "awstrust.com", "amazonaws.com"}},
      {"buypass", {"buypass.com", "buypass.no"}},
      {"ssl corporation", {"ssl.com"}},
      {"entrust", {"entrust.net"}},
      {"godaddy", {"godaddy.com"}},
      {"starfield", {"starfieldtech.com"}},
      {"microsoft", {"microsoft.com"}},
      {"actalis", {"actalis.it"}},
      {"harica", {"harica.gr"}},
  };
  return cas;
}

}  // namespace

std::vector<std::string> caa_search_names(const std::string& host) {
  std::vector<std::string> names;
  std::string name = normalize_name(host);
  while (!name.empty()) {
    names.push_back(name);
    size_t dot = name.find('.');
    name = dot == std::string::npos ? "" : name.substr(dot + 1);
  }
  return names;
}

std::optional<CaaRecord> parse_caa_text(const std::string& text) {
  size_t first = text.find(' ');
  size_t second = first == std::string::npos ? std::string::npos : text.find(' ', first + 1);
  if (second == std::string::npos) {
    return std::nullopt;
  }
  CaaRecord record;
  std::string flags = text.substr(0, first);
  if (flags.empty() || !std::all_of(flags.begin(), flags.end(), ::isdigit) || flags.size() > 3) {
    return std::nullopt;
  }
  record.flags = std::stoi(flags);
  record.tag = text.substr(first + 1, second - first - 1);
  record.value = text.substr(second + 1);
  return record;
}

std::optional<std::string> caa_issue_value_error(const std::string& value) {
  // issue-value = *WSP [issuer-domain-name *WSP] [";" *WSP [parameters *WSP]]
  size_t semicolon = value.find(';');
  std::string issuer(trim(value.substr(0, semicolon)));
  if (!issuer.empty() && !is_issuer_domain(issuer)) {
    return "'" + issuer + "' is not a domain name";
  }
  if (semicolon == std::string::npos) {
    return std::nullopt;
  }
  std::string rest = value.substr(semicolon + 1);
  size_t start = 0;
  while (start < rest.size()) {
    size_t end = rest.find(';', start);
    std::string parameter(
        trim(rest.substr(start, end == std::string::npos ? std::string::npos : end - start)));
    start = end == std::string::npos ? rest.size() : end + 1;
    if (parameter.empty() && end == std::string::npos) {
      break;  // trailing whitespace after the last ";"
    }
    // parameter = tag *WSP "=" *WSP value; tag = (ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT) )
    size_t equals = parameter.find('=');
    std::string tag(trim(parameter.substr(0, equals)));
    std::string text = equals == std::string::npos ? "" : std::string(trim(parameter.substr(equals + 1)));
    bool tag_ok = !tag.empty() && is_alnum(tag.front()) && is_alnum(tag.back()) &&
                  std::all_of(tag.begin(), tag.end(), [](char c) { return is_alnum(c) || c == '-'; });
    bool value_ok =
        std::all_of(text.begin(), text.end(), [](char c) { return c > 0x20 && c < 0x7f && c != ';'; });
    if (equals == std::string::npos || !tag_ok || !value_ok ||
        std::any_of(text.begin(), text.end(), is_wsp)) {
      return "parameter '" + parameter + "' is not tag=value";
    }
  }
  return std::nullopt;
}

std::vector<std::string> caa_domains_for_issuer(const std::string& issuer_organization) {
  std::string lowered = ascii_lower(issuer_organization);
  for (const auto& ca : known_cas()) {
    if (lowered.rfind(ca.organization_prefix, 0) == 0) {
      return ca.domains;
    }
  }
  return {};
}

std::vector<Finding> evaluate_caa(const CaaInput& input) {
  std::vector<Finding> findings;
  // RFC 8659 3: the relevant RRset is the first non-empty one climbing from
  // the host towards the root.
  size_t found = input.names.size();
  for (size_t i = 0; i < input.names.size() && i < input.answers.size(); ++i) {
    const DnsAnswer& answer = input.answers[i];
    if (answer.status == DnsStatus::Ok) {
      found = i;
      break;
    }
    if (answer.status != DnsStatus::NoData && answer.status != DnsStatus::NxDomain) {
      // Authoritative-only servers refuse names above their zones: only a
      // failure at the host or its domain leaves the answer unknown.
      if (i < 2) {
        findings.push_back({"policy.caa", CheckStatus::Warn,
                            "CAA lookup of " + input.names[i] + " failed (" + to_string(answer.status) +
                                (answer.error.empty() ? "" : ": " + answer.error) +
                                "); cannot tell which CAs may issue for " + input.host,
                            "check that the zone's name servers answer CAA queries (RFC 8659)"});
      }
      return findings;
    }
  }
  if (found == input.names.size()) {
    return findings;
  }
  const std::string& owner = input.names[found];
  std::vector<std::string> allowed;
  bool any_issue = false;
  for (const auto& text : input.answers[found].records) {
    std::optional<CaaRecord> record = parse_caa_text(text);
    bool tag_ok = record && !record->tag.empty() && record->tag.size() <= 15 &&
                  std::all_of(record->tag.begin(), record->tag.end(), is_alnum);
    if (!tag_ok) {
      findings.push_back({"policy.caa", CheckStatus::Warn,
                          "malformed CAA record at " + owner + ": '" + text + "'",
                          "the tag must be 1-15 letters or digits (RFC 8659 4.1); fix or delete the record"});
      continue;
    }
    std::string tag = ascii_lower(record->tag);
    if (tag == "issue") {
      any_issue = true;
      if (auto error = caa_issue_value_error(record->value)) {
        findings.push_back(
            {"policy.caa", CheckStatus::Warn,
             "malformed CAA record at " + owner + ": issue \"" + record->value + "\" (" + *error + ")",
             "write issue \"<ca-domain>[; key=value]\" (RFC 8659 4.2); CAs treat a malformed "
             "value as forbidding issuance"});
        continue;
      }
      std::string issuer(trim(record->value.substr(0, record->value.find(';'))));
      if (!issuer.empty()) {
        allowed.push_back(ascii_lower(issuer));
      }
    } else if (tag != "issuewild" && tag != "iodef" && (record->flags & 128) != 0) {
      findings.push_back({"policy.caa", CheckStatus::Warn,
                          "CAA record at " + owner + " has the critical flag on unknown tag '" + record->tag +
                              "'; CAs must refuse to issue",
                          "delete the record or clear its critical flag (RFC 8659 4.1)"});
    }
  }
  if (!any_issue || !input.certificate_seen) {
    return findings;  // no issue property (only issuewild/iodef), or no certificate to judge
  }
  if (allowed.empty()) {
    findings.push_back({"policy.caa", CheckStatus::Warn,
                        "CAA at " + owner + " allows no CA to issue for " + input.host +
                            "; the certificate from " + input.certificate_issuer + " cannot be renewed",
                        "add " + owner + " CAA 0 issue \"<your CA's domain>\""});
    return findings;
  }
  std::vector<std::string> issuer_domains = caa_domains_for_issuer(input.issuer_organization);
  if (issuer_domains.empty()) {
    findings.push_back({"policy.caa", CheckStatus::Warn,
                        "CAA at " + owner + " allows " + join(allowed) + "; cannot tell whether " +
                            input.certificate_issuer + " is one of them",
                        "make sure " + owner + " CAA lists the domain of the CA that issues " + input.host +
                            "'s certificate"});
    return findings;
  }
  auto match =
      std::find_first_of(issuer_domains.begin(), issuer_domains.end(), allowed.begin(), allowed.end());
  if (match != issuer_domains.end()) {
    findings.push_back({"policy.caa", CheckStatus::Pass,
                        "CAA at " + owner + " allows " + *match + ", the issuer of the served certificate",
                        ""});
  } else {
    findings.push_back(
        {"policy.caa", CheckStatus::Warn,
         "CAA at " + owner + " allows " + join(allowed) + " but the served certificate is from " +
             input.certificate_issuer + " (" + issuer_domains.front() + "); renewal will fail",
         "add " + owner + " CAA 0 issue \"" + issuer_domains.front() + "\" or switch to an allowed CA"});
  }
  return findings;
}

}  // namespace stsctl

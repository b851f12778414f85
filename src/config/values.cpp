#include "config/values.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "config/config.h"  // is_database_url
#include "dns/name.h"
#include "util/text.h"

namespace stsctl {

namespace {

bool starts_with_ci(const std::string& text, const std::string& prefix) {
  if (text.size() < prefix.size()) {
    return false;
  }
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) {
      return false;
    }
  }
  return true;
}

std::string trim(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) {
    return "";
  }
  size_t end = text.find_last_not_of(" \t");
  return text.substr(begin, end - begin + 1);
}

std::optional<std::string> percent_error(const std::string& text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%') {
      if (i + 2 >= text.size() || !std::isxdigit(static_cast<unsigned char>(text[i + 1])) ||
          !std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
        return std::string("has a '%' not followed by two hex digits");
      }
    }
  }
  return std::nullopt;
}

std::optional<std::string> port_error(const std::string& digits, uint16_t* port) {
  if (digits.empty() || digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string::npos) {
    return "has port '" + digits + "', which is not a number from 1 to 65535";
  }
  long value = std::stol(digits);
  if (value < 1 || value > 65535) {
    return "has port '" + digits + "', which is not a number from 1 to 65535";
  }
  *port = static_cast<uint16_t>(value);
  return std::nullopt;
}

// "mailto:local@domain": the address part only (no hfields needed for reports).
std::optional<std::string> mailto_error(const std::string& uri) {
  std::string address = uri.substr(std::strlen("mailto:"));
  size_t query = address.find('?');
  if (query != std::string::npos) {
    address = address.substr(0, query);
  }
  size_t at = address.rfind('@');
  if (at == std::string::npos || at == 0 || at + 1 == address.size()) {
    return "'" + uri + "' needs an address like mailto:tlsrpt@example.net";
  }
  std::string local = address.substr(0, at);
  for (unsigned char c : local) {
    if (!(std::isalnum(c) || std::strchr("#$%&'*+-/=^_`{|}~.", c) != nullptr)) {
      return "'" + uri + "' has '" + std::string(1, static_cast<char>(c)) +
             "' in the local part of the address";
    }
  }
  std::string domain = normalize_name(address.substr(at + 1));
  if (auto error = host_name_error(domain)) {
    return "'" + uri + "': mail domain '" + domain + "' " + *error;
  }
  return std::nullopt;
}

// "https://host[:port][/path]".
std::optional<std::string> https_error(const std::string& uri) {
  std::string rest = uri.substr(std::strlen("https://"));
  size_t end = rest.find_first_of("/?#");
  std::string authority = rest.substr(0, end);
  if (authority.find('@') != std::string::npos) {
    return "'" + uri + "' must not carry user information";
  }
  std::string host = authority;
  size_t colon = authority.rfind(':');
  if (colon != std::string::npos) {
    host = authority.substr(0, colon);
    uint16_t port = 0;
    if (auto error = port_error(authority.substr(colon + 1), &port)) {
      return "'" + uri + "' " + *error;
    }
  }
  host = normalize_name(host);
  if (host.empty()) {
    return "'" + uri + "' has no host (like https://reports.example.net/v1)";
  }
  if (auto error = host_name_error(host)) {
    return "'" + uri + "': host '" + host + "' " + *error;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> rua_error(const std::string& uri) {
  for (char c : uri) {
    if (c == ',' || c == '!' || c == ';') {
      static const char* const k_hex = "0123456789ABCDEF";
      unsigned char u = static_cast<unsigned char>(c);
      std::string encoded = std::string("%") + k_hex[u >> 4] + k_hex[u & 15];
      return "'" + uri + "' has '" + std::string(1, c) + "', which must be written " + encoded +
             " inside a URI (RFC 8460 section 3)";
    }
    if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c))) {
      return "'" + uri + "' contains white space or a control character";
    }
  }
  if (auto error = percent_error(uri)) {
    return "'" + uri + "' " + *error;
  }
  if (starts_with_ci(uri, "mailto:")) {
    return mailto_error(uri);
  }
  if (starts_with_ci(uri, "https://")) {
    return https_error(uri);
  }
  return "'" + uri + "' is not a mailto: or https: URI (like mailto:tlsrpt@example.net)";
}

std::optional<std::string> caa_value_error(const std::string& tag, const std::string& value) {
  for (unsigned char c : value) {
    if (c == '"' || c == '\\' || std::iscntrl(c)) {
      return std::string("value must not contain '\"', '\\' or control characters");
    }
  }
  if (tag == "iodef") {
    if (starts_with_ci(value, "mailto:")) {
      return mailto_error(value);
    }
    if (starts_with_ci(value, "https://")) {
      return https_error(value);
    }
    return "'" + value + "' is not a mailto: or https: URL (iodef reports go there)";
  }
  // issue / issuewild (RFC 8659 section 4.2): [domain] *(";" key=value).
  size_t semicolon = value.find(';');
  std::string domain = trim(value.substr(0, semicolon));
  if (domain.empty() && semicolon == std::string::npos) {
    return std::string("value must be a CA domain name (like letsencrypt.org) or \";\" to forbid issuance");
  }
  if (!domain.empty()) {
    if (auto error = host_name_error(normalize_name(domain))) {
      return "CA domain '" + domain + "' " + *error;
    }
  }
  while (semicolon != std::string::npos) {
    size_t next = value.find(';', semicolon + 1);
    std::string param = trim(
        value.substr(semicolon + 1, next == std::string::npos ? std::string::npos : next - semicolon - 1));
    semicolon = next;
    if (param.empty()) {
      continue;
    }
    size_t equals = param.find('=');
    std::string key = param.substr(0, equals);
    bool key_ok = equals != std::string::npos && !key.empty();
    for (unsigned char c : key) {
      key_ok = key_ok && std::isalnum(c);
    }
    std::string param_value = equals == std::string::npos ? "" : param.substr(equals + 1);
    for (unsigned char c : param_value) {
      key_ok = key_ok && c > 0x20 && c < 0x7f;
    }
    if (!key_ok) {
      return "parameter '" + param + "' is not key=value (like accounturi=https://...)";
    }
  }
  return std::nullopt;
}

std::optional<int64_t> parse_duration(const std::string& text) {
  if (text.size() < 2 || text.size() > 12) {
    return std::nullopt;
  }
  std::string digits = text.substr(0, text.size() - 1);
  if (digits.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  int64_t unit = 0;
  switch (text.back()) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    case 'w':
      unit = 7 * 86400;
      break;
    default:
      return std::nullopt;
  }
  int64_t count = std::stoll(digits);
  if (count <= 0) {
    return std::nullopt;
  }
  return count * unit;
}

std::optional<std::string> canonical_ip(const std::string& text, int family) {
  unsigned char buffer[sizeof(struct in6_addr)];
  if (inet_pton(family, text.c_str(), buffer) != 1) {
    return std::nullopt;
  }
  char out[INET6_ADDRSTRLEN];
  if (inet_ntop(family, buffer, out, sizeof(out)) == nullptr) {
    return std::nullopt;
  }
  return std::string(out);
}

std::optional<std::string> server_name_error(const std::string& name) {
  if (name.find('.') == std::string::npos && !name.empty()) {
    // A single label is fine here ("localhost", "stsctl-key"): check it as LDH.
    if (auto error = host_name_error(name + ".invalid")) {
      return error;
    }
    if (std::isdigit(static_cast<unsigned char>(name[0])) &&
        name.find_first_not_of("0123456789") == std::string::npos) {
      return std::string("is a number, not a name");
    }
    return std::nullopt;
  }
  return host_name_error(name);
}

std::optional<std::string> parse_host_port(const std::string& text, uint16_t default_port, HostPort* out) {
  std::string host = text;
  std::string port;
  bool bracketed = false;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string::npos) {
      return std::string("has '[' without ']' (write IPv6 as [2001:db8::1]:53)");
    }
    host = text.substr(1, close - 1);
    std::string rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return std::string("has text after ']' that is not :port");
      }
      port = rest.substr(1);
      if (port.empty()) {
        return std::string("has an empty port after ':'");
      }
    }
    bracketed = true;
  } else {
    size_t colon = text.find(':');
    if (colon != std::string::npos && text.find(':', colon + 1) != std::string::npos) {
      // Several colons and no brackets: only a bare IPv6 address makes sense.
      host = text;
    } else if (colon != std::string::npos) {
      host = text.substr(0, colon);
      port = text.substr(colon + 1);
      if (port.empty()) {
        return std::string("has an empty port after ':'");
      }
    }
  }
  if (port.empty()) {
    if (default_port == 0) {
      return std::string("needs a port (like host:443)");
    }
    out->port = default_port;
  } else if (auto error = port_error(port, &out->port)) {
    return error;
  }
  if (host.empty()) {
    return std::string("has no host");
  }
  if (auto v6 = canonical_ip(host, AF_INET6)) {
    out->host = *v6;
    return std::nullopt;
  }
  if (bracketed) {
    return "'" + host + "' in brackets is not an IPv6 address";
  }
  if (auto v4 = canonical_ip(host, AF_INET)) {
    out->host = *v4;
    return std::nullopt;
  }
  if (host.find(':') != std::string::npos) {
    return std::string("is not host:port, IPv4:port or [IPv6]:port");
  }
  std::string name = normalize_name(host);
  if (host.find_first_not_of("0123456789.") == std::string::npos) {
    return "'" + host + "' is not a valid IPv4 address";
  }
  if (auto error = server_name_error(name)) {
    return "host '" + name + "' " + *error;
  }
  out->host = name;
  return std::nullopt;
}

std::optional<PostgresUrl> parse_postgres_url(const std::string& url, std::string* error) {
  const std::string k_allowed =
      "; give it in password_file=/absolute/path, in a ~/.pgpass or PGPASSFILE file, or in PGPASSWORD";
  if (!is_database_url(url)) {
    *error = "expected a postgresql://user@host:port/database URL";
    return std::nullopt;
  }
  const size_t authority = url.find("://") + 3;
  const size_t authority_end = url.find_first_of("/?", authority);
  const std::string userinfo_host = url.substr(authority, authority_end - authority);
  const size_t at = userinfo_host.rfind('@');
  if (at != std::string::npos && userinfo_host.substr(0, at).find(':') != std::string::npos) {
    *error = "a password in the URL is not allowed" + k_allowed;
    return std::nullopt;
  }
  // libpq takes a list of hosts, each "host", "host:port" or "[v6]:port".
  const std::string hosts = at == std::string::npos ? userinfo_host : userinfo_host.substr(at + 1);
  size_t start_host = 0;
  while (start_host <= hosts.size()) {
    size_t comma = hosts.find(',', start_host);
    const std::string host =
        hosts.substr(start_host, comma == std::string::npos ? std::string::npos : comma - start_host);
    size_t colon = host.rfind(':');
    if (!host.empty() && host[0] == '[') {
      size_t close = host.find(']');
      if (close == std::string::npos) {
        *error = "host '" + host + "' has '[' without ']' (write IPv6 as [2001:db8::1]:5432)";
        return std::nullopt;
      }
      colon = close + 1 < host.size() && host[close + 1] == ':' ? close + 1 : std::string::npos;
    }
    if (colon != std::string::npos) {
      uint16_t port = 0;
      if (auto problem = port_error(host.substr(colon + 1), &port)) {
        *error = "host '" + host + "' " + *problem;
        return std::nullopt;
      }
    }
    if (comma == std::string::npos) {
      break;
    }
    start_host = comma + 1;
  }
  PostgresUrl out;
  const size_t question = url.find('?');
  out.conninfo = url.substr(0, question);
  if (question == std::string::npos) {
    return out;
  }
  std::string kept;
  size_t start = question + 1;
  while (start <= url.size()) {
    size_t end = url.find('&', start);
    if (end == std::string::npos) {
      end = url.size();
    }
    const std::string param = url.substr(start, end - start);
    const std::string key = param.substr(0, param.find('='));
    if (iequals(key, "password")) {  // in any case: a password goes no further
      *error = "a password in the URL is not allowed" + k_allowed;
      return std::nullopt;
    }
    if (key == "password_file") {
      out.password_file = param.size() > key.size() ? param.substr(key.size() + 1) : "";
      if (out.password_file.empty() || out.password_file[0] != '/') {
        *error = "password_file must be an absolute path, got '" + out.password_file + "'";
        return std::nullopt;
      }
    } else if (!param.empty()) {
      kept += (kept.empty() ? "?" : "&") + param;
    }
    start = end + 1;
  }
  out.conninfo += kept;
  return out;
}

std::string url_scheme(const std::string& text) {
  const size_t separator = text.find("://");
  if (separator == std::string::npos || separator == 0 ||
      !std::isalpha(static_cast<unsigned char>(text[0]))) {
    return "";
  }
  for (size_t i = 0; i < separator; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (!std::isalnum(c) && c != '+' && c != '-' && c != '.') {
      return "";
    }
  }
  return text.substr(0, separator);
}

std::optional<std::string> state_location_problem(const std::string& location) {
  const std::string scheme = url_scheme(location);
  if (scheme.empty()) {
    return std::nullopt;
  }
  if (!is_database_url(location)) {
    return "'" + scheme + "://' is not a state backend: expected a SQLite file path or a postgresql:// URL";
  }
  std::string problem;
  if (!parse_postgres_url(location, &problem)) {
    return "the PostgreSQL URL is not usable: " + problem;
  }
  return std::nullopt;
}

std::string redacted_url(const std::string& url) {
  std::string out = url;
  const size_t authority = out.find("://");
  if (authority != std::string::npos) {
    const size_t start = authority + 3;
    const size_t end = out.find_first_of("/?", start);
    const size_t at = out.rfind('@', end == std::string::npos ? std::string::npos : end);
    if (at != std::string::npos && at >= start) {
      const size_t colon = out.find(':', start);
      if (colon != std::string::npos && colon < at) {
        out.replace(colon + 1, at - colon - 1, "***");
      }
    }
  }
  // password=... in the query, whatever its case.
  for (size_t query = out.find('?'); query != std::string::npos && query < out.size();) {
    const size_t start = query + 1;
    const size_t end = std::min(out.find('&', start), out.size());
    if (iequals(std::string_view(out).substr(start, std::min<size_t>(9, end - start)), "password=")) {
      out.replace(start + 9, end - start - 9, "***");
    }
    query = out.find('&', start);
  }
  return out;
}

}  // namespace stsctl

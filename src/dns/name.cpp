#include "dns/name.h"

#include <algorithm>
#include <cctype>
#include <string_view>

namespace stsctl {

std::string normalize_name(const std::string& name) {
  std::string out = name;
  // ASCII only, as DNS case-insensitivity is (RFC 4343); no locale lookups.
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  if (!out.empty() && out.back() == '.') {
    out.pop_back();
  }
  return out;
}

namespace {

bool is_ldh(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

std::optional<std::string> label_error(std::string_view label) {
  if (label.empty()) {
    return std::string("has an empty label");
  }
  if (label.size() > 63) {
    return "label '" + std::string(label.substr(0, 20)) + "...' is longer than 63 characters";
  }
  for (unsigned char c : label) {
    if (!is_ldh(c)) {
      std::string shown = c == ' ' ? std::string("space") : "'" + std::string(1, static_cast<char>(c)) + "'";
      return "label '" + std::string(label) + "' has " + shown + " (letters, digits and '-' only)";
    }
  }
  if (label.front() == '-' || label.back() == '-') {
    return "label '" + std::string(label) + "' starts or ends with '-'";
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> host_name_error(const std::string& name) {
  if (name.empty()) {
    return std::string("is empty");
  }
  if (name.size() > 253) {
    return "is " + std::to_string(name.size()) + " characters long (at most 253)";
  }
  size_t start = 0;
  int labels = 0;
  while (true) {
    size_t dot = name.find('.', start);
    std::string_view label =
        std::string_view(name).substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (auto error = label_error(label)) {
      return error;
    }
    ++labels;
    if (dot == std::string::npos) {
      break;
    }
    start = dot + 1;
  }
  if (labels < 2) {
    return std::string("needs at least two labels (like example.net)");
  }
  std::string last = name.substr(name.rfind('.') + 1);
  if (std::all_of(last.begin(), last.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return std::string("looks like an IP address, not a host name");
  }
  return std::nullopt;
}

std::optional<std::string> mx_pattern_error(const std::string& pattern) {
  if (pattern.rfind("*.", 0) == 0) {
    std::string rest = pattern.substr(2);
    if (rest.find('*') != std::string::npos) {
      return std::string("'*' may appear only as the whole leftmost label (like *.mx.example.net)");
    }
    return host_name_error(rest);
  }
  if (pattern.find('*') != std::string::npos) {
    return std::string("'*' may appear only as the whole leftmost label (like *.mx.example.net)");
  }
  return host_name_error(pattern);
}

bool is_in_zone(const std::string& name, const std::string& zone) {
  if (name == zone) {
    return true;
  }
  return name.size() > zone.size() && name.compare(name.size() - zone.size(), zone.size(), zone) == 0 &&
         name[name.size() - zone.size() - 1] == '.';
}

bool mx_pattern_matches(const std::string& pattern, const std::string& host) {
  std::string p = normalize_name(pattern);
  std::string h = normalize_name(host);
  if (p.rfind("*.", 0) == 0) {
    size_t dot = h.find('.');
    if (dot == std::string::npos || dot == 0) {
      return false;
    }
    return h.substr(dot + 1) == p.substr(2);
  }
  return p == h;
}

std::string absolute(const std::string& name) {
  if (!name.empty() && name.back() == '.') {
    return name;
  }
  return name + ".";
}

}  // namespace stsctl

#include "records/rrset.h"

#include <algorithm>
#include <array>

namespace stsctl {

namespace {

constexpr std::array<const char*, 8> k_type_names = {"A", "AAAA", "CNAME", "TXT", "CAA", "MX", "NS", "SOA"};

std::vector<std::string> reversed_labels(const std::string& name) {
  std::vector<std::string> labels;
  size_t start = 0;
  std::string n = name;
  if (!n.empty() && n.back() == '.') {
    n.pop_back();
  }
  while (start <= n.size()) {
    size_t dot = n.find('.', start);
    if (dot == std::string::npos) {
      labels.push_back(n.substr(start));
      break;
    }
    labels.push_back(n.substr(start, dot - start));
    start = dot + 1;
  }
  std::reverse(labels.begin(), labels.end());
  return labels;
}

}  // namespace

const char* to_string(RRType type) { return k_type_names[static_cast<size_t>(type)]; }

std::optional<RRType> rrtype_from_string(const std::string& text) {
  for (size_t i = 0; i < k_type_names.size(); ++i) {
    if (text == k_type_names[i]) {
      return static_cast<RRType>(i);
    }
  }
  return std::nullopt;
}

void RRset::normalize() {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
}

bool RRset::operator==(const RRset& other) const {
  return owner == other.owner && type == other.type && ttl == other.ttl && values == other.values;
}

bool RRsetKey::operator<(const RRsetKey& other) const {
  if (owner != other.owner) {
    return canonical_name_less(owner, other.owner);
  }
  return type < other.type;
}

bool RRsetKey::operator==(const RRsetKey& other) const { return owner == other.owner && type == other.type; }

bool canonical_name_less(const std::string& a, const std::string& b) {
  return reversed_labels(a) < reversed_labels(b);
}

bool canonical_less(const RRset& a, const RRset& b) {
  if (a.owner != b.owner) {
    return canonical_name_less(a.owner, b.owner);
  }
  return a.type < b.type;
}

std::string caa_value(uint8_t flags, const std::string& tag, const std::string& value) {
  std::string escaped;
  for (char c : value) {
    if (c == '"' || c == '\\') {
      escaped += '\\';
    }
    escaped += c;
  }
  return std::to_string(flags) + " " + tag + " \"" + escaped + "\"";
}

}  // namespace stsctl

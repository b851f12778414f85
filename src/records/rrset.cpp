#include "records/rrset.h"

#include <algorithm>
#include <array>

namespace stsctl {

namespace {

constexpr std::array<const char*, 8> k_type_names = {"A", "AAAA", "CNAME", "TXT", "CAA", "MX", "NS", "SOA"};

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

namespace {

/// The label of `name` that ends at `end` (exclusive): its start.
size_t label_start(const std::string& name, size_t end) {
  size_t dot = end == 0 ? std::string::npos : name.rfind('.', end - 1);
  return dot == std::string::npos ? 0 : dot + 1;
}

}  // namespace

bool canonical_name_less(const std::string& a, const std::string& b) {
  // Sorting every zone's RRsets calls this millions of times: skip the equal
  // labels on the right in one backwards scan, then compare the first
  // differing label of each name (RFC 4034 section 6.1).
  size_t a_end = a.size();
  size_t b_end = b.size();
  if (a_end > 0 && a[a_end - 1] == '.') {
    --a_end;
  }
  if (b_end > 0 && b[b_end - 1] == '.') {
    --b_end;
  }
  size_t i = a_end;
  size_t j = b_end;
  while (i > 0 && j > 0 && a[i - 1] == b[j - 1]) {
    --i;
    --j;
  }
  // a[i, a_end) == b[j, b_end). Where do the whole equal labels start?
  const bool a_at_label = i == 0 || a[i - 1] == '.';
  const bool b_at_label = j == 0 || b[j - 1] == '.';
  size_t a_label_end = 0;
  size_t b_label_end = 0;
  if (a_at_label && b_at_label) {
    if (i == 0 || j == 0) {
      return i == 0 && j != 0;  // one name is the other's ancestor (or the same)
    }
    a_label_end = i - 1;  // the dots before the equal labels
    b_label_end = j - 1;
  } else {
    size_t dot = a.find('.', i);
    if (dot == std::string::npos || dot >= a_end) {
      a_label_end = a_end;  // not even the last labels are equal
      b_label_end = b_end;
    } else {
      a_label_end = dot;
      b_label_end = j + (dot - i);
    }
  }
  size_t a_start = label_start(a, a_label_end);
  size_t b_start = label_start(b, b_label_end);
  return a.compare(a_start, a_label_end - a_start, b, b_start, b_label_end - b_start) < 0;
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

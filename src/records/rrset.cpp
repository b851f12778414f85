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

/// Walks a name's labels from the right (RFC 4034 section 6.1 order) without
/// allocating: sorting 100,000 zones' RRsets calls this millions of times.
class LabelsFromRight {
 public:
  explicit LabelsFromRight(const std::string& name) : m_name(name), m_end(name.size()) {
    if (m_end > 0 && name[m_end - 1] == '.') {
      --m_end;
    }
  }
  bool done() const { return m_done; }
  /// The current label as [start, start + length).
  void current(size_t& start, size_t& length) const {
    size_t dot = m_end == 0 ? std::string::npos : m_name.rfind('.', m_end - 1);
    start = dot == std::string::npos ? 0 : dot + 1;
    length = m_end - start;
  }
  void next() {
    size_t start = 0, length = 0;
    current(start, length);
    if (start == 0) {
      m_done = true;
    } else {
      m_end = start - 1;
    }
  }

 private:
  const std::string& m_name;
  size_t m_end;
  bool m_done = false;
};

}  // namespace

bool canonical_name_less(const std::string& a, const std::string& b) {
  LabelsFromRight left(a);
  LabelsFromRight right(b);
  while (!left.done() && !right.done()) {
    size_t a_start = 0, a_length = 0, b_start = 0, b_length = 0;
    left.current(a_start, a_length);
    right.current(b_start, b_length);
    int order = a.compare(a_start, a_length, b, b_start, b_length);
    if (order != 0) {
      return order < 0;
    }
    left.next();
    right.next();
  }
  return left.done() && !right.done();
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

#include "provider.h"

#include <map>
#include <regex>

namespace stsctl {

namespace {

const char* kind_name(ProviderError::Kind kind) {
  switch (kind) {
    case ProviderError::Kind::Auth:
      return "auth";
    case ProviderError::Kind::Unreachable:
      return "unreachable";
    case ProviderError::Kind::Timeout:
      return "timeout";
    default:
      return "other";
  }
}

// Digits vary between failures that are the same ("timed out after 500 ms"
// and "after 503 ms"): a run of digits counts as one '#'.
std::string mask_digits(const std::string& text) {
  std::string out;
  for (char c : text) {
    bool digit = c >= '0' && c <= '9';
    if (!digit) {
      out += c;
    } else if (out.empty() || out.back() != '#') {
      out += '#';
    }
  }
  return out;
}

std::string mask_zone(std::string message, const std::string& zone) {
  if (!zone.empty()) {
    for (size_t at = message.find(zone); at != std::string::npos; at = message.find(zone, at + 1)) {
      message.replace(at, zone.size(), "\x01");
    }
  }
  return mask_digits(message);
}

}  // namespace

ZoneBreaker::ZoneBreaker(const CallLimits& limits, std::string provider_name)
    : m_limits(limits), m_provider(std::move(provider_name)) {}

bool ZoneBreaker::past_deadline() const {
  return m_limits.deadline && std::chrono::steady_clock::now() >= *m_limits.deadline;
}

std::optional<ProviderError> ZoneBreaker::before(const std::string& zone) {
  if (past_deadline()) {
    return ProviderError(
        ProviderError::Kind::NotAttempted,
        "provider '" + m_provider + "': zone " + zone + " not attempted: the deadline (--deadline " +
            (m_limits.deadline_text.empty() ? std::string("default") : m_limits.deadline_text) +
            ") passed; run again to continue");
  }
  std::lock_guard<std::mutex> lock(m_mutex);
  if (m_tripped) {
    return ProviderError(ProviderError::Kind::NotAttempted,
                         "provider '" + m_provider + "': zone " + zone + " not attempted: the " +
                             std::to_string(m_limits.breaker_threshold) +
                             " zones before it failed the same way (" + *m_tripped +
                             "); fix that and run again: zones already done are not redone");
  }
  return std::nullopt;
}

void ZoneBreaker::after(const std::string& zone, const std::optional<ProviderError>& error) {
  std::lock_guard<std::mutex> lock(m_mutex);
  bool counts =
      error &&
      (error->kind() == ProviderError::Kind::Auth || error->kind() == ProviderError::Kind::Unreachable ||
       error->kind() == ProviderError::Kind::Timeout || error->kind() == ProviderError::Kind::Other);
  if (!counts) {
    m_same_in_a_row = 0;
    m_last_signature.clear();
    return;
  }
  std::string signature = std::string(kind_name(error->kind())) + "\n" + mask_zone(error->what(), zone);
  m_same_in_a_row = signature == m_last_signature ? m_same_in_a_row + 1 : 1;
  m_last_signature = signature;
  if (m_limits.breaker_threshold > 0 && m_same_in_a_row >= m_limits.breaker_threshold && !m_tripped) {
    m_tripped = error->what();
  }
}

std::vector<std::string> group_zone_errors(const std::vector<std::string>& errors) {
  // "zone X" and "zone 'X'" are how the backends name a zone.
  static const std::regex k_zone(R"(\bzone '?([A-Za-z0-9._-]+)'?)");
  struct Group {
    std::string first;
    std::vector<std::string> more_zones;
  };
  std::vector<Group> groups;
  std::map<std::string, size_t> by_key;
  for (const std::string& error : errors) {
    std::smatch match;
    std::string key = error;
    std::string zone;
    if (std::regex_search(error, match, k_zone)) {
      zone = match[1].str();
      key = mask_digits(match.prefix().str()) + "zone \x01" + mask_digits(match.suffix().str());
    }
    auto found = by_key.find(key);
    if (found == by_key.end() || zone.empty()) {
      by_key.emplace(key, groups.size());
      groups.push_back({error, {}});
    } else {
      groups[found->second].more_zones.push_back(zone);
    }
  }
  std::vector<std::string> out;
  for (const Group& group : groups) {
    if (group.more_zones.empty()) {
      out.push_back(group.first);
      continue;
    }
    std::string line = group.first + " (the same for " + std::to_string(group.more_zones.size()) +
                       " more zone" + (group.more_zones.size() == 1 ? "" : "s") + ": ";
    for (size_t i = 0; i < group.more_zones.size() && i < 5; ++i) {
      line += (i == 0 ? "" : ", ") + group.more_zones[i];
    }
    line += group.more_zones.size() > 5 ? ", ...)" : ")";
    out.push_back(line);
  }
  return out;
}

}  // namespace stsctl

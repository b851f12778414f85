#include "policy/policy_id.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <vector>

// Format switches: the three formats have different lengths (timestamp 14,
// serial 10, hash 32), so an id in a new format always differs from the
// previous one, but string order across lengths is not meaningful and is not
// promised. RFC 8461 section 3.1 treats ids as opaque and unordered anyway.

namespace stsctl {

namespace {

constexpr size_t k_timestamp_length = 14;
constexpr size_t k_serial_length = 10;
constexpr size_t k_hash_id_length = 32;  // RFC 8461 section 3.1: 1-32 ALPHA/DIGIT

bool all_digits(const std::string& text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::tm utc(int64_t unix_time) {
  std::time_t t = static_cast<std::time_t>(unix_time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

std::string format_timestamp(int64_t unix_time) {
  std::tm tm = utc(unix_time);
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buffer;
}

std::string format_day(int64_t unix_time) { return format_timestamp(unix_time).substr(0, 8); }

/// Parses YYYYMMDDhhmmss as UTC; nullopt unless it is a real calendar time
/// (checked by formatting it back).
std::optional<int64_t> parse_timestamp(const std::string& text) {
  if (text.size() != k_timestamp_length || !all_digits(text)) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = std::stoi(text.substr(0, 4)) - 1900;
  tm.tm_mon = std::stoi(text.substr(4, 2)) - 1;
  tm.tm_mday = std::stoi(text.substr(6, 2));
  tm.tm_hour = std::stoi(text.substr(8, 2));
  tm.tm_min = std::stoi(text.substr(10, 2));
  tm.tm_sec = std::stoi(text.substr(12, 2));
  int64_t unix_time = static_cast<int64_t>(timegm(&tm));
  if (format_timestamp(unix_time) != text) {
    return std::nullopt;
  }
  return unix_time;
}

/// Decimal increment of a digit string; grows by one digit only on all nines.
std::string increment_digits(std::string digits) {
  for (size_t i = digits.size(); i-- > 0;) {
    if (digits[i] != '9') {
      ++digits[i];
      return digits;
    }
    digits[i] = '0';
  }
  return "1" + digits;
}

std::string timestamp_id(int64_t now_unix, const std::optional<PublishedPolicy>& previous) {
  std::string id = format_timestamp(now_unix);
  if (!previous || previous->id.size() != id.size() || id > previous->id) {
    return id;
  }
  // The clock repeated or went backwards: step one second past the previous id.
  if (auto previous_time = parse_timestamp(previous->id)) {
    return format_timestamp(*previous_time + 1);
  }
  if (all_digits(previous->id)) {
    return increment_digits(previous->id);
  }
  // A foreign 14-character id that no digit string can sort after: it still differs.
  return id;
}

std::string serial_id(int64_t now_unix, const std::optional<PublishedPolicy>& previous) {
  std::string today = format_day(now_unix);
  if (!previous || previous->id.size() != k_serial_length || !all_digits(previous->id)) {
    return today + "00";
  }
  std::string previous_day = previous->id.substr(0, 8);
  int previous_count = std::stoi(previous->id.substr(8, 2));
  if (previous_day < today) {
    return today + "00";
  }
  if (previous_day == today && previous_count < 99) {
    int next = previous_count + 1;
    return today + static_cast<char>('0' + next / 10) + static_cast<char>('0' + next % 10);
  }
  // Past 99 in a day, or the previous id is from a later day (clock went
  // backwards): keep counting from the previous value so the id still sorts after.
  return increment_digits(previous->id);
}

}  // namespace

IdDecision decide_id(IdFormat format, int64_t now_unix, const std::optional<PublishedPolicy>& previous,
                     const std::string& new_hash) {
  if (previous && previous->hash == new_hash) {
    return IdDecision{previous->id, false};
  }
  std::string id;
  switch (format) {
    case IdFormat::Timestamp:
      id = timestamp_id(now_unix, previous);
      break;
    case IdFormat::Serial:
      id = serial_id(now_unix, previous);
      break;
    case IdFormat::Hash:
      // Equal to the previous id only if two different hashes share 128 bits.
      id = new_hash.substr(0, k_hash_id_length);
      break;
  }
  return IdDecision{id, !previous || previous->id != id};
}

IdDecision decide_next_id(IdFormat format, int64_t now_unix, const IdHistory& known,
                          const std::string& new_hash) {
  if (known.published && known.published->hash == new_hash) {
    return IdDecision{known.published->id, false};
  }
  if (known.pending && known.pending->hash == new_hash) {
    return IdDecision{known.pending->id, true};
  }
  // The id to step past: the latest in string order among those of the
  // format's length (a pending id sorts after the published one it replaces).
  std::vector<std::string> ids;
  for (const auto* id : {known.published ? &known.published->id : nullptr,
                         known.pending ? &known.pending->id : nullptr, &known.live_id}) {
    if (id != nullptr && !id->empty()) {
      ids.push_back(*id);
    }
  }
  if (ids.empty()) {
    return decide_id(format, now_unix, std::nullopt, new_hash);
  }
  const std::string reference = decide_id(format, now_unix, std::nullopt, new_hash).id;
  std::string latest = ids.front();
  for (const auto& id : ids) {
    bool same_length = id.size() == reference.size();
    bool latest_same_length = latest.size() == reference.size();
    if ((same_length && !latest_same_length) || (same_length == latest_same_length && id > latest)) {
      latest = id;
    }
  }
  IdDecision decision = decide_id(format, now_unix, PublishedPolicy{latest, ""}, new_hash);
  decision.bumped = true;
  return decision;
}

}  // namespace stsctl

#include "util/time.h"

#include <cstdio>
#include <ctime>
#include <regex>

namespace stsctl {

std::optional<int64_t> parse_rfc3339(const std::string& text) {
  static const std::regex k_pattern(
      R"(^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?([Zz]|[+-]\d{2}:\d{2}))?$)");
  std::smatch m;
  if (!std::regex_match(text, m, k_pattern)) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = std::stoi(m[1]) - 1900;
  tm.tm_mon = std::stoi(m[2]) - 1;
  tm.tm_mday = std::stoi(m[3]);
  if (m[4].matched) {
    tm.tm_hour = std::stoi(m[4]);
    tm.tm_min = std::stoi(m[5]);
    tm.tm_sec = std::stoi(m[6]);
  }
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60) {
    return std::nullopt;
  }
  const int leap_second = tm.tm_sec == 60 ? 1 : 0;  // 23:59:60 counts as the next second
  tm.tm_sec -= leap_second;
  const std::tm asked = tm;
  int64_t seconds = timegm(&tm) + leap_second;
  // timegm normalises 2026-02-31 to 2026-03-03: a date that does not come
  // back as written does not exist.
  if (tm.tm_year != asked.tm_year || tm.tm_mon != asked.tm_mon || tm.tm_mday != asked.tm_mday) {
    return std::nullopt;
  }
  if (m[7].matched) {
    std::string zone = m[7];
    if (zone != "Z" && zone != "z") {
      int sign = zone[0] == '-' ? -1 : 1;
      int offset = std::stoi(zone.substr(1, 2)) * 3600 + std::stoi(zone.substr(4, 2)) * 60;
      seconds -= sign * offset;
    }
  }
  return seconds;
}

std::string format_rfc3339(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::string format_date(int64_t unix_seconds) { return format_rfc3339(unix_seconds).substr(0, 10); }

std::string format_duration(int64_t seconds) {
  struct Unit {
    int64_t size;
    const char* suffix;
  };
  static const Unit k_units[] = {{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
  if (seconds <= 0) {
    return "0s";
  }
  std::string out;
  int parts = 0;
  for (const auto& unit : k_units) {
    if (seconds >= unit.size && parts < 2) {
      if (!out.empty()) {
        out += ' ';
      }
      out += std::to_string(seconds / unit.size) + unit.suffix;
      seconds %= unit.size;
      ++parts;
    } else if (parts > 0) {
      break;
    }
  }
  return out;
}

}  // namespace stsctl

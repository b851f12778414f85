#include "powerdns/powerdns_content.h"

#include "zone/zone_writer.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace stsctl::powerdns {

namespace {

std::string trim(const std::string& text) {
  size_t begin = 0;
  size_t end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) {
    ++begin;
  }
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) {
    --end;
  }
  return text.substr(begin, end - begin);
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string canonical_name(const std::string& content) {
  std::string name = lower(trim(content));
  if (name.empty() || name.back() != '.') {
    name += '.';
  }
  return name;
}

std::optional<std::string> canonical_address(int family, const std::string& content) {
  unsigned char buffer[16];
  std::string text = trim(content);
  if (inet_pton(family, text.c_str(), buffer) != 1) {
    return std::nullopt;
  }
  char out[INET6_ADDRSTRLEN];
  if (inet_ntop(family, buffer, out, sizeof out) == nullptr) {
    return std::nullopt;
  }
  return std::string(out);
}

// Splits off the first whitespace-separated word.
bool next_word(const std::string& text, size_t& pos, std::string& word) {
  while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) {
    ++pos;
  }
  size_t start = pos;
  while (pos < text.size() && !std::isspace(static_cast<unsigned char>(text[pos]))) {
    ++pos;
  }
  word = text.substr(start, pos - start);
  return !word.empty();
}

std::optional<std::string> canonical_caa(const std::string& content) {
  size_t pos = 0;
  std::string flags_text;
  std::string tag;
  if (!next_word(content, pos, flags_text) || !next_word(content, pos, tag)) {
    return std::nullopt;
  }
  if (flags_text.empty() || flags_text.size() > 3 ||
      !std::all_of(flags_text.begin(), flags_text.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return std::nullopt;
  }
  int flags = std::stoi(flags_text);
  if (flags > 255) {
    return std::nullopt;
  }
  auto value = parse_txt_content(content.substr(pos));
  if (!value) {
    return std::nullopt;
  }
  return caa_value(static_cast<uint8_t>(flags), lower(tag), *value);
}

std::optional<std::string> canonical_mx(const std::string& content) {
  size_t pos = 0;
  std::string preference;
  std::string exchange;
  std::string extra;
  if (!next_word(content, pos, preference) || !next_word(content, pos, exchange) ||
      next_word(content, pos, extra)) {
    return std::nullopt;
  }
  if (preference.size() > 5 ||
      !std::all_of(preference.begin(), preference.end(), [](unsigned char c) { return std::isdigit(c); }) ||
      std::stoul(preference) > 65535) {
    return std::nullopt;
  }
  return std::to_string(std::stoul(preference)) + " " + canonical_name(exchange);
}

}  // namespace

std::optional<std::string> parse_txt_content(const std::string& content) {
  std::string out;
  size_t i = 0;
  const size_t n = content.size();
  auto read_escape = [&](std::string& target) -> bool {
    // At content[i] == '\\'.
    ++i;
    if (i >= n) {
      return false;
    }
    if (std::isdigit(static_cast<unsigned char>(content[i]))) {
      if (i + 2 >= n || !std::isdigit(static_cast<unsigned char>(content[i + 1])) ||
          !std::isdigit(static_cast<unsigned char>(content[i + 2]))) {
        return false;
      }
      int value = (content[i] - '0') * 100 + (content[i + 1] - '0') * 10 + (content[i + 2] - '0');
      if (value > 255) {
        return false;
      }
      target += static_cast<char>(value);
      i += 3;
      return true;
    }
    target += content[i];
    ++i;
    return true;
  };
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(content[i]);
    if (std::isspace(c)) {
      ++i;
      continue;
    }
    if (c == '"') {
      ++i;
      bool closed = false;
      while (i < n) {
        if (content[i] == '"') {
          closed = true;
          ++i;
          break;
        }
        if (content[i] == '\\') {
          if (!read_escape(out)) {
            return std::nullopt;
          }
          continue;
        }
        out += content[i];
        ++i;
      }
      if (!closed) {
        return std::nullopt;
      }
      continue;
    }
    // An unquoted character-string runs to the next blank.
    while (i < n && !std::isspace(static_cast<unsigned char>(content[i]))) {
      if (content[i] == '"') {
        return std::nullopt;
      }
      if (content[i] == '\\') {
        if (!read_escape(out)) {
          return std::nullopt;
        }
        continue;
      }
      out += content[i];
      ++i;
    }
  }
  return out;
}

std::string format_txt_content(const std::string& logical) {
  // The API takes TXT content in zone-file presentation form.
  return txt_presentation(logical);
}

std::string canonical_value(RRType type, const std::string& content) {
  std::optional<std::string> value;
  switch (type) {
    case RRType::A:
      value = canonical_address(AF_INET, content);
      break;
    case RRType::AAAA:
      value = canonical_address(AF_INET6, content);
      break;
    case RRType::CNAME:
    case RRType::NS:
      value = canonical_name(content);
      break;
    case RRType::TXT:
      value = parse_txt_content(content);
      break;
    case RRType::CAA:
      value = canonical_caa(content);
      break;
    case RRType::MX:
      value = canonical_mx(content);
      break;
    case RRType::SOA:
      break;
  }
  return value ? *value : trim(content);
}

std::string api_content(RRType type, const std::string& value) {
  if (type == RRType::TXT) {
    return format_txt_content(value);
  }
  return value;
}

}  // namespace stsctl::powerdns

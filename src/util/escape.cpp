#include "util/escape.h"

#include <cstdint>
#include <cstdio>

namespace stsctl {

namespace {

void append_hex(std::string* out, const char* prefix, unsigned value) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%s%02x", prefix, value);
  *out += buffer;
}

// Length of the UTF-8 sequence starting at text[i], 0 if it is not valid.
size_t utf8_length(std::string_view text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  size_t length = lead >= 0xf0 && lead <= 0xf4 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc2 && lead < 0xe0 ? 2 : 0;
  if (length == 0 || i + length > text.size()) {
    return 0;
  }
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) {
      return 0;
    }
  }
  unsigned char second = byte(i + 1);
  if ((lead == 0xe0 && second < 0xa0) || (lead == 0xed && second >= 0xa0) ||
      (lead == 0xf0 && second < 0x90) || (lead == 0xf4 && second >= 0x90)) {
    return 0;  // overlong, surrogate or beyond U+10FFFF
  }
  return length;
}

}  // namespace

std::string escape_control(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      ++i;
    } else if (c == '\n') {
      out += "\\n";
      ++i;
    } else if (c == '\r') {
      out += "\\r";
      ++i;
    } else if (c == '\t') {
      out += "\\t";
      ++i;
    } else if (c < 0x80) {
      append_hex(&out, "\\x", c);
      ++i;
    } else if (size_t length = utf8_length(text, i)) {
      auto second = static_cast<unsigned char>(text[i + 1]);
      if (c == 0xc2 && second < 0xa0) {
        append_hex(&out, "\\u00", second);  // C1 control: CSI (U+009B) and friends
      } else {
        out.append(text.substr(i, length));
      }
      i += length;
    } else {
      append_hex(&out, "\\x", c);
      ++i;
    }
  }
  return out;
}

}  // namespace stsctl

#include <catch2/catch.hpp>

#include "util/escape.h"

using stsctl::escape_control;

TEST_CASE("control characters are spelled out, printable UTF-8 is kept", "[util][escape]") {
  CHECK(escape_control("plain text") == "plain text");
  CHECK(escape_control("a\x1b[2Jb") == "a\\x1b[2Jb");
  CHECK(escape_control("line\nnext\r\ttab") == "line\\nnext\\r\\ttab");
  CHECK(escape_control(std::string("nul\0x", 5)) == "nul\\x00x");
  CHECK(escape_control("del\x7f") == "del\\x7f");
  CHECK(escape_control("caf\xc3\xa9 \xe2\x9c\x93") == "caf\xc3\xa9 \xe2\x9c\x93");
  CHECK(escape_control("csi\xc2\x9b"
                       "2J") == "csi\\u009b2J");
  CHECK(escape_control("bad\xff\xc3(") == "bad\\xff\\xc3(");
  CHECK(escape_control("\xc0\xae") == "\\xc0\\xae");           // overlong
  CHECK(escape_control("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // surrogate
}

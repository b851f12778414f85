#pragma once
// Text from config files and servers, made safe to print on a terminal.

#include <string>
#include <string_view>

namespace stsctl {

/// `text` with every byte a terminal could act on spelled out: C0 controls
/// and DEL as \n, \r, \t or \xNN, C1 controls (U+0080..U+009F) as \u00NN,
/// bytes that are not UTF-8 as \xNN, and '\' itself as "\\" only where it
/// would otherwise start an escape. Printable text (UTF-8 included) is kept.
std::string escape_control(std::string_view text);

}  // namespace stsctl

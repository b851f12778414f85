#pragma once
// Splits fuzz input into TXT RDATA strings: one per line ('\n' separates).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

inline std::vector<std::string> split_txts(const uint8_t* data, size_t size) {
  std::vector<std::string> txts(1);
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == '\n') {
      txts.emplace_back();
    } else {
      txts.back() += static_cast<char>(data[i]);
    }
  }
  return txts;
}

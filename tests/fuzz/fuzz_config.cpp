// libFuzzer target: the config loader (YAML tree, every section, diagnostics).
// Any input must load without a crash, in bounded time and memory, and every
// formatted diagnostic must be one printable line.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "config/diagnostic.h"
#include "config/load.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  stsctl::LoadResult result = stsctl::load_config_text(text, "fuzz.yaml", "/nonexistent");
  if (result.diagnostics.size() > 100) {
    std::abort();
  }
  for (const auto& diagnostic : result.diagnostics) {
    for (unsigned char c : stsctl::format_diagnostic(diagnostic)) {
      if (c < 0x20 || c == 0x7f) {
        std::abort();
      }
    }
  }
  (void)stsctl::diagnostics_to_json(result.diagnostics);
  return 0;
}

#pragma once
// Generated hostile configs (nesting and alias bombs, huge scalars, binary
// junk, NUL bytes, invalid UTF-8, CRLF, BOM, ...) for the loader and CLI
// tests. Each must load (or be refused) in bounded time and memory.

#include <string>
#include <vector>

namespace stsctl::test {

struct HostileConfig {
  std::string name;
  std::string text;
  bool valid = false;  // true: a config that must load (CRLF, BOM)
};

/// Every hostile config, deterministic (junk comes from a fixed seed).
std::vector<HostileConfig> hostile_configs();

}  // namespace stsctl::test

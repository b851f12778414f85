#pragma once
// The rfc2136 block of providers.P: its keys, their rules (the one TSIG
// algorithm rule and base64 check) and the settings the provider is built from.

#include "provider_config.h"

#include <cstdint>
#include <optional>
#include <string>

namespace stsctl {

struct TsigConfig {
  std::string name;  // no trailing dot
  std::string algorithm = "hmac-sha256";
  std::string secret_file;   // absolute path, or empty
  std::string secret_env;    // environment variable name, or empty
  int secret_file_line = 0;  // where secret_file is given (1-based; 0: unknown), for validate
  int secret_file_column = 0;
};

struct Rfc2136Config : BackendConfig {
  std::string name;  // key in providers:
  double timeout_seconds = 10;
  std::string server_host;  // IP literal or host name
  uint16_t server_port = 53;
  TsigConfig tsig;
  std::string transport = "tcp";  // tcp | udp (udp falls back to tcp on truncation)
  bool allow_hmac_md5 = false;
};

/// The TSIG algorithm stsctl signs with for `written` (any case, trailing dot
/// allowed; hmac-md5.sig-alg.reg.int is hmac-md5): hmac-sha256, hmac-sha512,
/// hmac-sha1, or hmac-md5 when `allow_md5`. Else nullopt and `*reason` says why.
std::optional<std::string> tsig_algorithm(const std::string& written, bool allow_md5, std::string* reason);

/// True when `text` decodes as standard padded base64 (RFC 4648 section 4):
/// decoded, not pattern-matched, so bad characters, bad padding and stray
/// bits after the last byte are refused. No whitespace inside.
bool is_base64(const std::string& text);

/// type: rfc2136, for the registry.
ProviderBackend rfc2136_backend();

}  // namespace stsctl

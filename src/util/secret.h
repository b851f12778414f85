#pragma once
// A secret value (API key, TSIG secret, IMAP or database password) held so it
// cannot be copied by accident and is wiped with OPENSSL_cleanse when
// released. Reading one registers it with the scrubber (util/secrets.h), so it
// never reaches output even when a server echoes it back.

#include <string>
#include <string_view>

namespace stsctl {

class Secret {
 public:
  Secret() = default;
  /// Takes `value` (wiping the moved-from buffer).
  explicit Secret(std::string&& value);
  ~Secret();
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  Secret(Secret&& other) noexcept;
  Secret& operator=(Secret&& other) noexcept;

  /// The value, only to hand to the wire or a library call.
  const std::string& reveal() const { return m_value; }
  const char* c_str() const { return m_value.c_str(); }
  bool empty() const { return m_value.empty(); }

 private:
  std::string m_value;
};

/// Overwrites a string's bytes (OPENSSL_cleanse) and empties it.
void wipe(std::string& text);

/// Where a secret comes from, for messages (never the value).
struct SecretSource {
  std::string file;  // read this file, if set
  std::string env;   // else this environment variable
};

/// Reads a secret from source.file (read into a buffer that is wiped) or the
/// environment variable source.env; surrounding whitespace and line breaks
/// are trimmed and the value is registered for scrubbing. On failure returns
/// an empty Secret and sets *error to a sentence naming the file or variable
/// (never the value): "cannot read file 'F' (No such file or directory)",
/// "environment variable 'V' is not set", "file 'F' is empty".
Secret read_secret(const SecretSource& source, std::string* error);

}  // namespace stsctl

#pragma once
// One process-wide scrubber for secret values. Whoever reads a secret (the
// providers, when they load an API key or a TSIG secret) registers its value;
// every path by which text reaches output or a log (CLI errors, provider
// errors and log lines, -v lines) passes it through scrub(), so a secret a
// server echoes back (a proxy or WAF quoting the request) is never printed,
// whatever the text's source. Thread-safe.

#include <string>
#include <string_view>

namespace stsctl {

/// What scrub() writes instead of a secret.
inline constexpr const char* k_redacted = "[redacted]";

/// Registers `value` (surrounding whitespace ignored) for scrubbing from now
/// on. Values shorter than 4 bytes are not registered: they would only mangle
/// output, and no provider accepts them as secrets. The registry's copies are
/// wiped at exit.
void register_secret(std::string_view value);

/// `text` with every registered secret replaced by k_redacted.
std::string scrub(std::string_view text);

/// Forgets every registered value (wiping it); for tests.
void clear_secrets();

}  // namespace stsctl

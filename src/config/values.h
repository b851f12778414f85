#pragma once
// Syntax checks for single config values (URIs, CAA values, durations,
// host:port pairs, IP literals). Pure functions: no I/O, no DNS lookups.
// Each *_error function returns nullopt when the value is fine, else a short
// reason that may quote the value (callers must not pass secrets).

#include <cstdint>
#include <optional>
#include <string>

namespace stsctl {

/// RFC 8460 section 3 rua URI: "mailto:local@domain" or "https://host[:port]/...";
/// ',', '!' and ';' must be %-encoded.
std::optional<std::string> rua_error(const std::string& uri);

/// RFC 8659 CAA value for `tag` (issue | issuewild | iodef; already lowercase).
std::optional<std::string> caa_value_error(const std::string& tag, const std::string& value);

/// "30m", "12h", "7d", "2w", "90s" -> seconds; nullopt when not a positive
/// integer followed by one of s m h d w.
std::optional<int64_t> parse_duration(const std::string& text);

/// Canonical text of an IPv4 (`family` AF_INET) or IPv6 (AF_INET6) literal
/// (inet_pton then inet_ntop); nullopt when it is not one.
std::optional<std::string> canonical_ip(const std::string& text, int family);

struct HostPort {
  std::string host;  // lowercase name or canonical IP literal (no brackets)
  uint16_t port = 0;
};

/// Parses "host:port", "1.2.3.4:53", "[::1]:53", or (when `default_port` is
/// non-zero) a host alone; host names may be single labels ("localhost").
/// Returns the reason on failure.
std::optional<std::string> parse_host_port(const std::string& text, uint16_t default_port, HostPort* out);

struct PostgresUrl {
  std::string conninfo;       // the URL for libpq, without password_file
  std::string password_file;  // "" when the password comes from PGPASSFILE/PGPASSWORD
};

/// Splits and checks a PostgreSQL state URL: libpq's
/// postgresql://user@host:port/db?params plus stsctl's own
/// password_file=ABSOLUTE_PATH, never a password. nullopt with *error set to
/// what is wrong and what is allowed; *error never quotes the URL.
std::optional<PostgresUrl> parse_postgres_url(const std::string& url, std::string* error);

/// The scheme of a "scheme://..." text ("mysql" for mysql://db); "" for a
/// text that is no URL (a file path).
std::string url_scheme(const std::string& text);

/// What is wrong with a state location (`state:`, --state, --to): a URL of
/// another scheme than postgresql://, or a PostgreSQL URL parse_postgres_url
/// refuses. nullopt for a usable URL or any file path. Never quotes the text.
std::optional<std::string> state_location_problem(const std::string& location);

/// `url` with the password of its user info and any password= parameter
/// replaced by "***", fit to show.
std::string redacted_url(const std::string& url);

/// A host name that may also be a single label (a server or TSIG key name).
std::optional<std::string> server_name_error(const std::string& name);

}  // namespace stsctl

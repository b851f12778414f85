#pragma once
// Fetching an MTA-STS policy over HTTPS the way senders do (RFC 8461 3.3):
// certificate verified against the policy host name, redirects never followed,
// body capped at 64 KiB, no HTTP caching. Edge module (network I/O).

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace stsctl {

class TlsClient;

struct FetchOptions {
  std::string ca_file;                            // extra trust anchor (PEM); empty: system store
  std::map<std::string, std::string> connect_to;  // "host:port" -> "addr:port", like curl --connect-to
  // Policy host ("mta-sts.example.net") -> the addresses to connect to on port
  // 443 instead of resolving the name (like curl --resolve): apply verifies a
  // policy before the name exists in DNS. SNI, Host and the certificate check
  // still use the name. A connect_to entry for the host wins.
  std::map<std::string, std::vector<std::string>> resolve;
  double timeout_seconds = 30;
  size_t max_bytes = 64 * 1024;
  // The run's TLS context, shared with other fetches and the SMTP probes;
  // when empty, each call makes one from ca_file.
  std::shared_ptr<const TlsClient> tls;
};

struct FetchResult {
  std::string url;
  bool transport_ok = false;  // false: DNS/connect/TLS/timeout failure (see error)
  std::string error;          // human text when !transport_ok (connect, TLS or HTTP problem named)
  bool certificate_error = false;
  bool timed_out = false;
  bool too_large = false;
  long status = 0;           // HTTP status when transport_ok
  std::string content_type;  // as sent, e.g. "text/plain; charset=utf-8"
  std::string location;      // Location header of a 3xx (never followed)
  std::string body;
  std::string address;   // "addr:port" connected to; empty when no connection was made
  bool resumed = false;  // the TLS session of an earlier connection was resumed
  // The server's leaf certificate, seen during the handshake (also when it
  // failed verification); certificate_seen is false when none was sent.
  bool certificate_seen = false;
  long days_to_expiry = 0;          // negative when expired
  std::string certificate_issuer;   // issuer, one line ("/C=US/O=Let's Encrypt/CN=R3")
  std::string issuer_organization;  // issuer O= (empty when absent)
};

/// Fetches https://mta-sts.<domain>/.well-known/mta-sts.txt.
FetchResult fetch_policy(const std::string& domain, const FetchOptions& options);

/// Fetches many at once (at most `parallel` in flight); results in the order
/// of `domains`. A large batch is split over a few threads (one per core, at
/// most four), each driving its connections by socket events; every
/// connection shares one TLS context (trust store loaded once).
std::vector<FetchResult> fetch_policies(const std::vector<std::string>& domains, const FetchOptions& options,
                                        int parallel = 32);

}  // namespace stsctl

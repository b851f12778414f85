#pragma once
// HTTP transport for the PowerDNS provider: the API key holder and a small
// libcurl client. The key is sent only as the X-API-Key header and never
// formatted into a message or log line.

#include "powerdns/powerdns_config.h"
#include "util/secret.h"

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace stsctl::powerdns {

using stsctl::Secret;

/// Reads the API key from config.api_key_file (trailing whitespace and
/// newlines trimmed) or the variable config.api_key_env. Throws ProviderError
/// (Kind::Other) naming the file or variable, never the key, when it is
/// missing, empty or holds a line break.
Secret load_api_key(const PowerdnsConfig& config);

/// `url` without user:password@ (what messages and logs may show); parsed
/// with curl's URL API, unchanged when it holds no credentials.
std::string redact_url(const std::string& url);

/// `base` (scheme, host, maybe a path prefix) plus the path `segments`, each
/// percent-encoded (curl_easy_escape), and the `query` pairs (URL-encoded by
/// curl_url_set). "" when `base` is not a URL.
std::string api_url(const std::string& base, const std::vector<std::string>& segments,
                    const std::vector<std::pair<std::string, std::string>>& query = {});

struct HttpResponse {
  bool transport_ok = false;  // false: no HTTP answer (see curl_error)
  int curl_code = 0;          // CURLcode when !transport_ok
  std::string curl_error;     // curl's text when !transport_ok
  long status = 0;            // HTTP status when transport_ok
  std::string body;
};

using LogSink = std::function<void(const std::string& line)>;

/// One libcurl easy handle, reused across requests so connections are kept
/// where the server allows it. Not thread-safe: one client per thread.
class HttpClient {
 public:
  /// `key` must outlive the client. `log` (may be empty) gets one line per
  /// request, e.g. "PATCH http://127.0.0.1:8081/api/v1/... -> 204 (3 ms)".
  HttpClient(const Secret& key, const std::string& ca_file, double timeout_seconds, LogSink log);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// Sends `method` to `url` with a JSON body (empty: none). Never throws for
  /// transport or HTTP failures: they are in the response.
  HttpResponse request(const std::string& method, const std::string& url, const std::string& body = "");

  /// While on, a request to a server that closes its connections
  /// ("Connection: close", as PowerDNS 4.7 does) opens a spare connection to
  /// it once its own connection stands; the next request uses the spare.
  /// The server accepts it and starts its connection thread while this
  /// request is still being processed.
  void keep_spare_connection(bool on);
  void close_spare_connection();

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace stsctl::powerdns

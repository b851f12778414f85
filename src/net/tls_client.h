#pragma once
// The client TLS context of one run: TLS 1.2 or later (RFC 8461 section 7.2),
// the system trust store plus an optional extra CA file, read once. Every
// HTTPS policy fetch and every SMTP STARTTLS probe of the run shares it:
// building a context and parsing the CA bundle per connection cost more CPU
// than the handshakes themselves. Sessions are kept per "host:port", so a
// server met twice in a run resumes. Edge module (OpenSSL).

#include "util/handles.h"

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace stsctl {

class TlsClient {
 public:
  /// Loads the trust anchors (the system store plus each non-empty file);
  /// error() says why when they cannot be loaded (then every connection
  /// fails with that text).
  explicit TlsClient(const std::vector<std::string>& ca_files);
  explicit TlsClient(const std::string& ca_file) : TlsClient(std::vector<std::string>{ca_file}) {}
  ~TlsClient();
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  bool ok() const { return static_cast<bool>(m_ctx); }
  /// How many handshakes took a chain verified earlier in the run.
  size_t reused_chains() const { return m_reused_chains.load(); }
  const std::string& error() const { return m_error; }

  /// A connection object for `host` (SNI) at `peer` ("addr:port", the session
  /// cache key with the host). With `verify`, the handshake fails unless the
  /// chain is trusted and the certificate names `host` (RFC 6125, no partial
  /// wildcards); without, it completes and the caller reads the verdict
  /// (SSL_get_verify_result). Empty when the context could not be made.
  /// `on_verify`, when given, sees each certificate as OpenSSL judges it
  /// (or, for a chain already verified in this run, the leaf alone, passed).
  handle::Ssl connect_ssl(const std::string& host, const std::string& peer, bool verify,
                          SSL_verify_cb on_verify = nullptr) const;

 private:
  static int on_new_session(SSL* ssl, SSL_SESSION* session);
  static int verify_chain(X509_STORE_CTX* store_ctx, void* client);

  std::string m_error;
  handle::SslCtx m_ctx;
  mutable std::mutex m_mutex;
  // Owned references, at most k_max_sessions (the oldest go first): a run
  // over many hosts meets most of them once.
  static constexpr size_t k_max_sessions = 256;
  mutable std::map<std::string, SSL_SESSION*> m_sessions;
  mutable std::deque<std::string> m_session_order;
  // Chains that verified in this run, by the SHA-256 of the certificates the
  // server sent: many hosts share a certificate (a provider's, naming each
  // of its customers' mta-sts hosts), and each handshake would verify the
  // same chain again. Only the host name and the validity dates are checked
  // again. Emptied when it reaches k_max_verified.
  static constexpr size_t k_max_verified = 4096;
  mutable std::mutex m_verified_mutex;
  mutable std::map<std::string, handle::X509Chain> m_verified;
  mutable std::atomic<size_t> m_reused_chains{0};
};

/// The text of the OpenSSL error queue ("; "-joined), emptied.
std::string openssl_errors();

}  // namespace stsctl

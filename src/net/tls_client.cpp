#include "net/tls_client.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>

namespace stsctl {

namespace {

// ex_data slots: the TlsClient on its SSL_CTX, the session-cache key on each SSL.
int g_client_index = -1;
int g_key_index = -1;

void free_key(void* /*parent*/, void* pointer, CRYPTO_EX_DATA* /*data*/, int /*index*/, long /*arg*/,
              void* /*argp*/) {
  delete static_cast<std::string*>(pointer);
}

void init_indices() {
  static std::once_flag once;
  std::call_once(once, [] {
    g_client_index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    g_key_index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_key);
  });
}

}  // namespace

std::string openssl_errors() {
  std::string out;
  unsigned long code = 0;
  while ((code = ERR_get_error()) != 0) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    out += (out.empty() ? "" : "; ") + std::string(buffer);
  }
  return out;
}

TlsClient::TlsClient(const std::vector<std::string>& ca_files) {
  init_indices();
  ERR_clear_error();
  handle::SslCtx ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) {
    m_error = "failed to create a TLS context (" + openssl_errors() + ")";
    return;
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
    m_error = "failed to load the system trust store (" + openssl_errors() + ")";
    return;
  }
  for (size_t i = 0; i < ca_files.size(); ++i) {
    const std::string& ca_file = ca_files[i];
    bool again = std::find(ca_files.begin(), ca_files.begin() + static_cast<long>(i), ca_file) !=
                 ca_files.begin() + static_cast<long>(i);
    if (!ca_file.empty() && !again &&
        SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr) != 1) {
      ERR_clear_error();
      std::FILE* file = std::fopen(ca_file.c_str(), "r");
      std::string why = file == nullptr ? std::strerror(errno) : "no PEM certificate in it";
      if (file != nullptr) {
        std::fclose(file);
      }
      m_error =
          "failed to load CA file '" + ca_file + "' (" + why + "); give a PEM file of trusted certificates";
      return;
    }
  }
  // Client-side session cache kept here, keyed by host and peer: OpenSSL's
  // internal store is for servers.
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx.get(), on_new_session);
  SSL_CTX_set_ex_data(ctx.get(), g_client_index, this);
  m_ctx = std::move(ctx);
}

TlsClient::~TlsClient() {
  for (auto& [key, session] : m_sessions) {
    SSL_SESSION_free(session);
  }
}

int TlsClient::on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* client = static_cast<TlsClient*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), g_client_index));
  auto* key = static_cast<std::string*>(SSL_get_ex_data(ssl, g_key_index));
  if (client == nullptr || key == nullptr) {
    return 0;
  }
  std::lock_guard<std::mutex> lock(client->m_mutex);
  auto [slot, added] = client->m_sessions.emplace(*key, session);
  if (!added) {
    SSL_SESSION_free(slot->second);
    slot->second = session;
    return 1;  // the reference is ours now
  }
  client->m_session_order.push_back(*key);
  if (client->m_session_order.size() > k_max_sessions) {
    auto oldest = client->m_sessions.find(client->m_session_order.front());
    SSL_SESSION_free(oldest->second);
    client->m_sessions.erase(oldest);
    client->m_session_order.pop_front();
  }
  return 1;
}

handle::Ssl TlsClient::connect_ssl(const std::string& host, const std::string& peer, bool verify,
                                   SSL_verify_cb on_verify) const {
  if (!m_ctx) {
    return nullptr;
  }
  handle::Ssl ssl(SSL_new(m_ctx.get()));
  if (!ssl) {
    return nullptr;
  }
  auto key = std::make_unique<std::string>(host + "@" + peer + (verify ? "" : "/unverified"));
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    auto found = m_sessions.find(*key);
    if (found != m_sessions.end()) {
      SSL_set_session(ssl.get(), found->second);
    }
  }
  SSL_set_ex_data(ssl.get(), g_key_index, key.release());
  SSL_set_tlsext_host_name(ssl.get(), host.c_str());
  if (verify) {
    SSL_set_hostflags(ssl.get(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    SSL_set1_host(ssl.get(), host.c_str());
    SSL_set_verify(ssl.get(), SSL_VERIFY_PEER, on_verify);
  } else {
    // The handshake completes whatever the certificate; the caller judges
    // the chain (SSL_get_verify_result) and the name afterwards.
    SSL_set_verify(ssl.get(), SSL_VERIFY_NONE, on_verify);
  }
  return ssl;
}

}  // namespace stsctl

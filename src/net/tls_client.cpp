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
  SSL_CTX_set_cert_verify_callback(ctx.get(), verify_chain, this);
  m_ctx = std::move(ctx);
}

TlsClient::~TlsClient() {
  for (auto& [key, session] : m_sessions) {
    SSL_SESSION_free(session);
  }
}

namespace {

// The SHA-256 of every certificate the server sent (the leaf first), each
// with its length; empty when one cannot be encoded.
std::string chain_key(X509_STORE_CTX* store_ctx) {
  handle::EvpMdCtx digest(EVP_MD_CTX_new());
  if (!digest || EVP_DigestInit_ex(digest.get(), EVP_sha256(), nullptr) != 1) {
    return "";
  }
  auto add = [&](X509* cert) -> bool {
    unsigned char* der = nullptr;
    int length = i2d_X509(cert, &der);
    if (length <= 0) {
      return false;
    }
    unsigned char size[4] = {static_cast<unsigned char>(length >> 24),
                             static_cast<unsigned char>(length >> 16),
                             static_cast<unsigned char>(length >> 8), static_cast<unsigned char>(length)};
    bool ok = EVP_DigestUpdate(digest.get(), size, sizeof(size)) == 1 &&
              EVP_DigestUpdate(digest.get(), der, static_cast<size_t>(length)) == 1;
    OPENSSL_free(der);
    return ok;
  };
  if (!add(X509_STORE_CTX_get0_cert(store_ctx))) {
    return "";
  }
  STACK_OF(X509)* sent = X509_STORE_CTX_get0_untrusted(store_ctx);
  for (int i = 0; sent != nullptr && i < sk_X509_num(sent); ++i) {
    if (!add(sk_X509_value(sent, i))) {
      return "";
    }
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_length = 0;
  if (EVP_DigestFinal_ex(digest.get(), md, &md_length) != 1) {
    return "";
  }
  return std::string(reinterpret_cast<const char*>(md), md_length);
}

// Whether every certificate of `chain` is valid now.
bool valid_now(const STACK_OF(X509) * chain) {
  for (int i = 0; i < sk_X509_num(chain); ++i) {
    const X509* cert = sk_X509_value(chain, i);
    if (X509_cmp_current_time(X509_get0_notBefore(cert)) >= 0 ||
        X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0) {
      return false;
    }
  }
  return true;
}

// Whether the leaf names one of the hosts the connection asked for (none
// asked: nothing to check), as X509_verify_cert would judge it.
bool names_wanted_host(X509_STORE_CTX* store_ctx) {
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(store_ctx);
  const char* first = X509_VERIFY_PARAM_get0_host(param, 0);
  if (first == nullptr) {
    return true;
  }
  unsigned int flags = X509_VERIFY_PARAM_get_hostflags(param);
  for (int i = 0; const char* host = X509_VERIFY_PARAM_get0_host(param, i); ++i) {
    if (X509_check_host(X509_STORE_CTX_get0_cert(store_ctx), host, 0, flags, nullptr) == 1) {
      return true;
    }
  }
  return false;
}

}  // namespace

int TlsClient::verify_chain(X509_STORE_CTX* store_ctx, void* client_pointer) {
  auto* client = static_cast<TlsClient*>(client_pointer);
  std::string key = chain_key(store_ctx);
  handle::X509Chain known;
  if (!key.empty()) {
    std::lock_guard<std::mutex> lock(client->m_verified_mutex);
    auto found = client->m_verified.find(key);
    if (found != client->m_verified.end() && valid_now(found->second.get())) {
      known.reset(X509_chain_up_ref(found->second.get()));
    }
  }
  if (known && names_wanted_host(store_ctx)) {
    // The connection's verified chain, as X509_verify_cert would leave it.
    X509_STORE_CTX_set0_verified_chain(store_ctx, known.release());
    ++client->m_reused_chains;
    X509_STORE_CTX_set_error(store_ctx, X509_V_OK);
    X509_STORE_CTX_set_error_depth(store_ctx, 0);
    X509_STORE_CTX_set_current_cert(store_ctx, X509_STORE_CTX_get0_cert(store_ctx));
    X509_STORE_CTX_verify_cb callback = X509_STORE_CTX_get_verify_cb(store_ctx);
    return callback != nullptr ? callback(1, store_ctx) : 1;
  }
  // Anything else (a new chain, a name it does not cover) takes the full
  // verification, with OpenSSL's own error and callbacks.
  int ok = X509_verify_cert(store_ctx);
  if (ok == 1 && X509_STORE_CTX_get_error(store_ctx) == X509_V_OK && !key.empty()) {
    handle::X509Chain chain(X509_STORE_CTX_get1_chain(store_ctx));
    if (chain) {
      std::lock_guard<std::mutex> lock(client->m_verified_mutex);
      if (client->m_verified.size() >= k_max_verified) {
        client->m_verified.clear();
      }
      client->m_verified.emplace(std::move(key), std::move(chain));
    }
  }
  return ok;
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

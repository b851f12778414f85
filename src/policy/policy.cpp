#include "policy/policy.h"

#include "dns/name.h"
#include "util/handles.h"

#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

namespace stsctl {

Policy make_policy(PolicyMode mode, uint32_t max_age, const std::vector<std::string>& mx) {
  Policy policy;
  policy.mode = mode;
  policy.max_age = max_age;
  policy.mx.reserve(mx.size());
  for (const auto& pattern : mx) {
    policy.mx.push_back(normalize_name(pattern));
  }
  std::sort(policy.mx.begin(), policy.mx.end());
  policy.mx.erase(std::unique(policy.mx.begin(), policy.mx.end()), policy.mx.end());
  return policy;
}

std::string policy_text(const Policy& policy) {
  // RFC 8461 section 3.2: the prose asks for CRLF; fixed key order keeps the
  // bytes (and so the hash and the id) stable for the same policy.
  std::string text = "version: STSv1\r\nmode: ";
  text += to_string(policy.mode);
  text += "\r\n";
  for (const auto& pattern : policy.mx) {
    text += "mx: " + pattern + "\r\n";
  }
  text += "max_age: " + std::to_string(policy.max_age) + "\r\n";
  return text;
}

std::string sha256_hex(const std::string& bytes) {
  // Fetched once and a context per thread: OpenSSL 3 otherwise looks the
  // algorithm up and allocates on every call (100,000 policies per render).
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local handle::EvpMdCtx ctx(EVP_MD_CTX_new());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (sha256 == nullptr || !ctx || EVP_DigestInit_ex2(ctx.get(), sha256, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &length) != 1) {
    throw std::runtime_error("failed to compute SHA-256 (OpenSSL EVP error)");
  }
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex += k_hex[digest[i] >> 4];
    hex += k_hex[digest[i] & 0x0f];
  }
  return hex;
}

std::string policy_hash(const Policy& policy) { return sha256_hex(policy_text(policy)); }

}  // namespace stsctl

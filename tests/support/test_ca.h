#pragma once
// A throw-away certificate authority for TLS tests, made with the openssl
// command line (PROTOCOLS.md section 6). EC P-256 keys; the CA is a root (no
// intermediates), so a leaf file is the whole chain a server sends.

#include "support/support.h"

#include <string>
#include <vector>

namespace stsctl::test {

class TestCa {
 public:
  enum class Validity {
    Valid,        // now-1h .. now+7d
    Expired,      // 2020-01-01 .. 2020-02-01
    NotYetValid,  // starts in 2099
  };

  struct Leaf {
    std::string cert_file;  // PEM leaf certificate
    std::string key_file;   // PEM private key (unencrypted)
  };

  /// Creates the CA (key + self-signed certificate) in its own TempDir, removed
  /// with the object. Throws std::runtime_error with openssl's stderr on failure.
  explicit TestCa(const std::string& common_name = "stsctl Test CA");
  TestCa(const TestCa&) = delete;
  TestCa& operator=(const TestCa&) = delete;

  /// The CA certificate: pass it as FetchOptions::ca_file / publish.ca_file.
  const std::string& ca_file() const { return m_ca_cert; }
  const std::string& dir() const { return m_dir.path(); }

  /// Issues a serverAuth leaf whose SAN lists `dns_names` (CN = the first);
  /// wildcards like "*.example.test" are fine. Files stay until the CA is destroyed.
  Leaf issue(const std::vector<std::string>& dns_names, Validity validity = Validity::Valid);

 private:
  TempDir m_dir;
  std::string m_ca_cert;
  std::string m_ca_key;
  std::string m_config;
  int m_next = 1;
};

}  // namespace stsctl::test

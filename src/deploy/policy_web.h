#pragma once
// Where policy files go and how they are checked: the web root apply writes
// to, HTTPS verification against the addresses the config gives each policy
// host, and the live policy as senders fetch it. An interface, so the engine
// can be driven by tests; WebrootPolicyWeb is the real edge.

#include "config/config.h"
#include "deploy/deployment.h"
#include "net/https_fetch.h"

#include <map>
#include <string>
#include <vector>

namespace stsctl {

struct VerifyTarget {
  std::string domain;  // the policy domain
  std::string host;    // the domain whose mta-sts host is fetched (the domain or an alias)
  std::string text;    // the exact bytes it must serve
};

class PolicyWeb {
 public:
  virtual ~PolicyWeb() = default;
  /// Whether policy files are written to a web root (publish.webroot).
  virtual bool publishes() const = 0;
  /// The bytes served from the web root for `host` now ("" when none).
  virtual std::string current(const std::string& host) = 0;
  /// Writes the file; false when it held exactly `text` already.
  virtual bool write(const std::string& host, const std::string& text) = 0;
  /// Fetches each target over HTTPS the way senders do, from the policy
  /// host's configured addresses; for each, "" when it serves `text` with
  /// status 200 and Content-Type text/plain, else why not.
  virtual std::vector<std::string> verify(const std::vector<VerifyTarget>& targets) = 0;
  /// The policy senders fetch today for each domain (names resolved as
  /// senders resolve them).
  virtual std::map<std::string, LivePolicy> fetch_live(const std::vector<std::string>& domains) = 0;
};

/// The real edge: publish.webroot, publish.verify, publish.ca_file,
/// publish.connect_to and publish.timeout of `config`.
class WebrootPolicyWeb : public PolicyWeb {
 public:
  explicit WebrootPolicyWeb(const Config& config) : m_config(config) {}
  bool publishes() const override { return !m_config.publish.webroot.empty(); }
  std::string current(const std::string& host) override;
  bool write(const std::string& host, const std::string& text) override;
  std::vector<std::string> verify(const std::vector<VerifyTarget>& targets) override;
  std::map<std::string, LivePolicy> fetch_live(const std::vector<std::string>& domains) override;

 private:
  const Config& m_config;
};

/// Why a fetched policy is not the one senders must see ("" when it is):
/// RFC 8461 section 3.3 (HTTP 200, no redirect, media type text/plain) and
/// the exact bytes of `text`.
std::string policy_mismatch(const FetchResult& result, const std::string& text);

}  // namespace stsctl

#pragma once
// Promotion: which domains may enter their next rollout stage (pure), and
// the gates that must pass before a domain enters an enforce stage (edge:
// the live policy over HTTPS, SMTP STARTTLS on every MX host).

#include "config/config.h"
#include "deploy/deployment.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace stsctl {

class DnsLookup;

struct PromotionCandidate {
  std::string domain;
  int from_stage = 0;
  int to_stage = 0;
};

struct PromotionScan {
  std::vector<PromotionCandidate> due;
  std::vector<std::string> lines;  // why each other domain stays, for the operator
};

/// "2/3", or "pinned" / "retiring" for a domain outside the rollout.
std::string stage_label(const Config& config, const DomainConfig& domain, int stage);

/// Pure: the domains whose stage hold has passed at `now` (all, or only
/// `only_domain`), and a line for each that stays.
PromotionScan due_promotions(const Config& config, const StateSnapshot& state, int64_t now,
                             const std::string& only_domain);

/// The gates a domain must pass to enter an enforce stage.
class PromotionGates {
 public:
  virtual ~PromotionGates() = default;
  /// "" when every gate passes, else "<gate>: <what failed>".
  virtual std::string check(const Config& config, const DomainState& known) = 0;
};

/// The real gates: the policy senders fetch is the one the state says is
/// live (publish.verify), and rollout.gates.starttls.
class LiveGates : public PromotionGates {
 public:
  LiveGates();
  ~LiveGates() override;
  std::string check(const Config& config, const DomainState& known) override;

 private:
  std::unique_ptr<DnsLookup> m_dns;  // made when a domain first reaches the STARTTLS gate
};

}  // namespace stsctl

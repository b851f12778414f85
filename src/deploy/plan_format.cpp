#include "deploy/plan_format.h"

#include "publish/webroot.h"
#include "util/time.h"

#include <nlohmann/json.hpp>

#include <sstream>

namespace stsctl {

namespace {

struct Counts {
  size_t create = 0, update = 0, remove = 0;
};

Counts count_changes(const Deployment& deployment) {
  Counts counts;
  for (const auto& [zone, work] : deployment.zones) {
    for (const auto& change : work.plan.changes) {
      switch (change.kind) {
        case ChangeKind::Create:
          ++counts.create;
          break;
        case ChangeKind::Update:
          ++counts.update;
          break;
        case ChangeKind::Delete:
          ++counts.remove;
          break;
      }
    }
  }
  return counts;
}

std::string policy_file_line(const PolicyFileChange& change) {
  return std::string(change.exists ? "~ " : "+ ") + policy_relative_path(change.host) + " (policy of " +
         change.domain + ")";
}

std::string blocked_line(const Blocked& blocked) {
  return "blocked (" + blocked.guard + "): " + blocked.domain + ": " +
         (blocked.change.empty() ? "" : blocked.change + ": ") + blocked.message;
}

/// "3600 v=STSv1; id=1, 3600 ..." for the Markdown table: TTL with each value.
std::string values_with_ttl(const std::optional<RRset>& rrset) {
  if (!rrset) {
    return "";
  }
  std::string out;
  for (const auto& value : rrset->values) {
    out += (out.empty() ? "" : "<br>") + std::to_string(rrset->ttl) + " `" + value + "`";
  }
  return out;
}

bool nothing_to_show(const Deployment& deployment) {
  return !deployment.has_pending_work() && deployment.errors.empty() && deployment.blocked.empty();
}

}  // namespace

std::string plan_summary(const Deployment& deployment) {
  Counts counts = count_changes(deployment);
  size_t zones = 0;
  for (const auto& [zone, work] : deployment.zones) {
    zones += work.plan.empty() ? 0 : 1;
  }
  const size_t bumps = deployment.bumps().size();
  std::string line = "Plan: " + std::to_string(counts.create) + " to create, " +
                     std::to_string(counts.update) + " to update, " + std::to_string(counts.remove) +
                     " to delete in " + std::to_string(zones) + (zones == 1 ? " zone; " : " zones; ") +
                     std::to_string(bumps) + " policy id bump" + (bumps == 1 ? "" : "s");
  if (!deployment.policy_files.empty()) {
    line += "; " + std::to_string(deployment.policy_files.size()) + " policy file" +
            (deployment.policy_files.size() == 1 ? "" : "s") + " to write";
  }
  if (!deployment.blocked.empty()) {
    line += "; " + std::to_string(deployment.blocked.size()) + " blocked by a guard";
  }
  return line + ".";
}

std::string format_plan_text(const Deployment& deployment) {
  std::ostringstream out;
  for (const auto& notice : deployment.notices) {
    out << notice << "\n";
  }
  for (const auto& [zone, work] : deployment.zones) {
    if (work.plan.empty()) {
      continue;
    }
    out << "zone " << zone << " (provider " << work.provider << ")\n";
    for (const auto& change : work.plan.changes) {
      out << describe_change(change);
    }
    out << "\n";
  }
  if (!deployment.policy_files.empty()) {
    out << "policy files:\n";
    for (const auto& change : deployment.policy_files) {
      out << "  " << policy_file_line(change) << "\n";
    }
    out << "\n";
  }
  auto bumps = deployment.bumps();
  if (!bumps.empty()) {
    out << "policy ids:\n";
    for (const auto* decision : bumps) {
      out << "  " << decision->domain << ": " << describe_bump(*decision) << "\n";
    }
    out << "\n";
  }
  for (const auto& warning : deployment.warnings) {
    out << "warning: " << (warning.domain.empty() ? "" : warning.domain + ": ") << warning.message << "\n";
  }
  for (const auto& blocked : deployment.blocked) {
    out << blocked_line(blocked) << "\n";
  }
  for (const auto& error : group_zone_errors(deployment.errors)) {
    out << "error: " << error << "\n";
  }
  if (nothing_to_show(deployment)) {
    out << "No changes. DNS matches the configuration.\n";
  } else {
    out << plan_summary(deployment) << "\n";
  }
  return out.str();
}

std::string format_plan_json(const Deployment& deployment) {
  nlohmann::json zones = nlohmann::json::array();
  for (const auto& [zone, work] : deployment.zones) {
    nlohmann::json changes = nlohmann::json::array();
    for (const auto& change : work.plan.changes) {
      nlohmann::json item{{"action", to_string(change.kind)},
                          {"name", change.key.owner},
                          {"type", to_string(change.key.type)}};
      if (change.before) {
        item["before"] = {{"ttl", change.before->ttl}, {"values", change.before->values}};
      }
      if (change.after) {
        item["after"] = {{"ttl", change.after->ttl}, {"values", change.after->values}};
      }
      changes.push_back(item);
    }
    nlohmann::json entry{{"zone", zone}, {"provider", work.provider}, {"changes", changes}};
    if (work.read_error) {
      entry["error"] = *work.read_error;
    }
    zones.push_back(entry);
  }
  nlohmann::json bumps = nlohmann::json::array();
  for (const auto* decision : deployment.bumps()) {
    nlohmann::json from = decision->previous   ? nlohmann::json(decision->previous->policy_id)
                          : decision->adopting ? nlohmann::json(decision->live_id)
                                               : nlohmann::json();
    bumps.push_back({{"domain", decision->domain},
                     {"from", from},
                     {"to", decision->id.id},
                     {"adopting", decision->adopting},
                     {"mode", to_string(decision->policy.policy.mode)},
                     {"max_age", decision->policy.policy.max_age},
                     {"hash", decision->policy.hash}});
  }
  nlohmann::json files = nlohmann::json::array();
  for (const auto& change : deployment.policy_files) {
    files.push_back({{"domain", change.domain},
                     {"host", "mta-sts." + change.host},
                     {"path", policy_relative_path(change.host)},
                     {"action", change.exists ? "update" : "create"}});
  }
  nlohmann::json warnings = nlohmann::json::array();
  for (const auto& warning : deployment.warnings) {
    warnings.push_back({{"domain", warning.domain}, {"message", warning.message}});
  }
  nlohmann::json blocked = nlohmann::json::array();
  for (const auto& item : deployment.blocked) {
    blocked.push_back(
        {{"domain", item.domain}, {"guard", item.guard}, {"change", item.change}, {"message", item.message}});
  }
  Counts counts = count_changes(deployment);
  nlohmann::json out{
      {"now", format_rfc3339(deployment.now)},
      {"zones", zones},
      {"id_bumps", bumps},
      {"policy_files", files},
      {"notices", deployment.notices},
      {"warnings", warnings},
      {"blocked", blocked},
      {"errors", deployment.errors},
      {"summary", {{"create", counts.create}, {"update", counts.update}, {"delete", counts.remove}}},
      {"changes", deployment.has_pending_work()}};
  return out.dump(2) + "\n";
}

std::string format_plan_markdown(const Deployment& deployment) {
  std::ostringstream out;
  out << "### stsctl plan\n\n";
  if (nothing_to_show(deployment)) {
    out << "No changes. DNS matches the configuration.\n";
    return out.str();
  }
  for (const auto& notice : deployment.notices) {
    out << "- " << notice << "\n";
  }
  if (!deployment.notices.empty()) {
    out << "\n";
  }
  if (deployment.change_count() != 0) {
    out << "| zone | action | name | type | before (TTL value) | after (TTL value) |\n"
           "|---|---|---|---|---|---|\n";
    for (const auto& [zone, work] : deployment.zones) {
      for (const auto& change : work.plan.changes) {
        out << "| " << zone << " | " << to_string(change.kind) << " | `" << change.key.owner << "` | "
            << to_string(change.key.type) << " | " << values_with_ttl(change.before) << " | "
            << values_with_ttl(change.after) << " |\n";
      }
    }
  }
  if (!deployment.policy_files.empty()) {
    out << "\n**Policy files**\n\n";
    for (const auto& change : deployment.policy_files) {
      out << "- `" << policy_file_line(change) << "`\n";
    }
  }
  auto bumps = deployment.bumps();
  if (!bumps.empty()) {
    out << "\n**Policy ids**\n\n";
    for (const auto* decision : bumps) {
      out << "- " << decision->domain << ": " << describe_bump(*decision) << "\n";
    }
  }
  if (!deployment.blocked.empty()) {
    out << "\n**Blocked by a guard**\n\n| domain | guard | held back | why |\n|---|---|---|---|\n";
    for (const auto& blocked : deployment.blocked) {
      out << "| " << blocked.domain << " | " << blocked.guard << " | " << blocked.change << " | "
          << blocked.message << " |\n";
    }
  }
  if (!deployment.warnings.empty() || !deployment.errors.empty()) {
    out << "\n**Attention**\n\n";
    for (const auto& warning : deployment.warnings) {
      out << "- warning: " << (warning.domain.empty() ? "" : warning.domain + ": ") << warning.message
          << "\n";
    }
    for (const auto& error : group_zone_errors(deployment.errors)) {
      out << "- error: " << error << "\n";
    }
  }
  out << "\n" << plan_summary(deployment) << "\n";
  return out.str();
}

}  // namespace stsctl

#include "cli/commands.h"
#include "cli/report_commands.h"
#include "cli/terminal.h"
#include "deploy/promotion.h"
#include "rollout/rollout.h"
#include "state/state.h"
#include "util/time.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

namespace stsctl {

int run_status(Context& context) {
  const Config& config = context.config();
  auto store = StateStore::open_for_reading(config.state_path);
  const StateStore& state = *store;
  auto reports = recent_report_summaries(config, context.now());  // TLS-RPT, last 7 days
  nlohmann::json rows = nlohmann::json::array();
  std::vector<std::vector<std::string>> table{
      {"DOMAIN", "MODE", "MAX_AGE", "ID", "STAGE", "SINCE", "NEXT PROMOTION", "TLS-RPT 7D", "GATE / NOTE"}};
  for (const auto& domain : config.domains) {
    if (domain.is_alias()) {
      rows.push_back({{"domain", domain.name}, {"alias_of", domain.alias_of}});
      table.push_back({domain.name, "alias of " + domain.alias_of});
      continue;
    }
    auto known = state.domain(domain.name);
    if (!known) {
      rows.push_back({{"domain", domain.name}, {"published", false}});
      table.push_back({domain.name, "not published yet (run apply)"});
      continue;
    }
    auto next = next_promotion_at(config, domain, known->stage, known->stage_since);
    std::string note = known->gate_status;
    if (known->retiring_until) {
      note = "retiring until " + format_rfc3339(*known->retiring_until) + (note.empty() ? "" : "; " + note);
    }
    nlohmann::json row{
        {"domain", domain.name},
        {"published", true},
        {"mode", to_string(known->mode)},
        {"max_age", known->max_age},
        {"id", known->policy_id},
        {"stage", follows_rollout(config, domain) ? nlohmann::json(known->stage) : nlohmann::json()},
        {"stage_label", stage_label(config, domain, known->stage)},
        {"since", format_rfc3339(known->stage_since)},
        {"next_promotion", next ? nlohmann::json(format_rfc3339(*next)) : nlohmann::json()},
        {"gate", known->gate_status},
        {"retiring_until",
         known->retiring_until ? nlohmann::json(format_rfc3339(*known->retiring_until)) : nlohmann::json()},
        {"last_check",
         known->last_check ? nlohmann::json(format_rfc3339(known->last_check)) : nlohmann::json()}};
    auto recent = reports.find(domain.name);
    std::string tlsrpt_text = "-";
    if (recent != reports.end()) {
      row["tlsrpt_7d"] = {{"reports", recent->second.reports},
                          {"sessions", recent->second.sessions()},
                          {"failed_sessions", recent->second.failed_sessions},
                          {"failure_rate", recent->second.failure_rate()}};
      tlsrpt_text =
          std::to_string(recent->second.sessions()) + " " + format_percent(recent->second.failure_rate());
    } else {
      row["tlsrpt_7d"] = nullptr;
    }
    rows.push_back(row);
    table.push_back({domain.name, to_string(known->mode), std::to_string(known->max_age),
                     single_line(known->policy_id), single_line(stage_label(config, domain, known->stage)),
                     format_rfc3339(known->stage_since), next ? format_rfc3339(*next) : "-", tlsrpt_text,
                     single_line(note)});
  }
  if (context.json()) {
    std::cout << rows.dump(2) << "\n";
  } else {
    std::cout << format_columns(table);
  }
  return k_exit_ok;
}

}  // namespace stsctl

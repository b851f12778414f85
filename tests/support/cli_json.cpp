#include "support/cli_json.h"

namespace stsctl::test {

std::vector<std::string> plan_changes(const std::string& plan_json) {
  std::vector<std::string> changes;
  const nlohmann::json plan = nlohmann::json::parse(plan_json);
  for (const auto& zone : plan.at("zones")) {
    for (const auto& change : zone.at("changes")) {
      changes.push_back(change.at("action").get<std::string>() + " " + change.at("name").get<std::string>() +
                        " " + change.at("type").get<std::string>());
    }
  }
  return changes;
}

std::vector<std::string> plan_id_bumps(const std::string& plan_json) {
  std::vector<std::string> bumps;
  const nlohmann::json plan = nlohmann::json::parse(plan_json);
  for (const auto& bump : plan.at("id_bumps")) {
    const auto& from = bump.at("from");
    bumps.push_back(bump.at("domain").get<std::string>() + " " +
                    (from.is_string() ? from.get<std::string>() : from.dump()) + " -> " +
                    bump.at("to").get<std::string>());
  }
  return bumps;
}

std::map<std::string, nlohmann::json> status_rows(const std::string& status_json) {
  std::map<std::string, nlohmann::json> rows;
  const nlohmann::json status = nlohmann::json::parse(status_json);
  for (const auto& row : status) {
    rows[row.at("domain").get<std::string>()] = row;
  }
  return rows;
}

std::map<std::string, bool> published_domains(const std::string& status_json) {
  std::map<std::string, bool> published;
  for (const auto& [domain, row] : status_rows(status_json)) {
    if (row.contains("published")) {
      published[domain] = row.at("published").get<bool>();
    }
  }
  return published;
}

}  // namespace stsctl::test

#include "support/cli_json.h"

namespace stsctl::test {

std::vector<std::string> plan_changes(const std::string& plan_json) {
  std::vector<std::string> changes;
  for (const auto& zone : nlohmann::json::parse(plan_json).at("zones")) {
    for (const auto& change : zone.at("changes")) {
      changes.push_back(change.at("action").get<std::string>() + " " + change.at("name").get<std::string>() +
                        " " + change.at("type").get<std::string>());
    }
  }
  return changes;
}

std::vector<std::string> plan_id_bumps(const std::string& plan_json) {
  std::vector<std::string> bumps;
  for (const auto& bump : nlohmann::json::parse(plan_json).at("id_bumps")) {
    const auto& from = bump.at("from");
    bumps.push_back(bump.at("domain").get<std::string>() + " " +
                    (from.is_string() ? from.get<std::string>() : from.dump()) + " -> " +
                    bump.at("to").get<std::string>());
  }
  return bumps;
}

std::map<std::string, nlohmann::json> status_rows(const std::string& status_json) {
  std::map<std::string, nlohmann::json> rows;
  for (const auto& row : nlohmann::json::parse(status_json)) {
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

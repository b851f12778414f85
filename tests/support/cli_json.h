#pragma once
// Readers for the JSON that `stsctl plan --json` and `stsctl status --json`
// print, so integration tests assert fields rather than substrings.

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace stsctl::test {

/// Every DNS change of a `plan --json` output as "<action> <name> <type>"
/// ("update _mta-sts.example.net. TXT"), zone by zone in plan order.
std::vector<std::string> plan_changes(const std::string& plan_json);

/// The id bumps of a `plan --json` output as "<domain> <from> -> <to>".
std::vector<std::string> plan_id_bumps(const std::string& plan_json);

/// `status --json` rows by domain (alias rows included).
std::map<std::string, nlohmann::json> status_rows(const std::string& status_json);

/// Whether each policy domain of a `status --json` output is published
/// (alias rows, which carry no such field, are left out).
std::map<std::string, bool> published_domains(const std::string& status_json);

}  // namespace stsctl::test

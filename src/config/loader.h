#pragma once
// The config loader's sections, shared by the files that read them
// (load_settings.cpp, load_domains.cpp, load_providers.cpp,
// load_rollout.cpp); load.cpp drives them. Internal to src/config.

#include "config/config.h"
#include "config/load.h"
#include "config/yaml_readers.h"

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace stsctl::config_reader {

inline const Keys k_modes = {"testing", "enforce", "none"};

PolicyMode mode_from(const std::string& text);

// Settings that defaults: and each domain may give; unset when absent.
struct Settings {
  std::optional<uint32_t> ttl;
  const Entry* provider_entry = nullptr;
  std::string provider;
  std::optional<PolicyMode> mode;
  std::optional<uint32_t> max_age;
  bool tlsrpt_present = false;
  std::optional<std::vector<std::string>> rua;  // empty: explicitly none
  bool policy_host_present = false;
  std::optional<PolicyHost> policy_host;
  std::optional<std::vector<CaaEntry>> caa;
  std::optional<IdFormat> id_format;
};

class Loader : public YamlReader {
 public:
  using YamlReader::YamlReader;

  LoadResult run(const yaml::Node& root, const std::string& state_override);

 private:
  std::optional<uint32_t> read_max_age(const Entry& entry);

  // load_settings.cpp
  void read_version(const MapView& root);
  Settings read_settings(const MapView& view);
  void read_policy(const Entry& entry, Settings* settings);
  void read_tlsrpt(const Entry& entry, Settings* settings);
  void read_policy_host(const Entry& entry, Settings* settings);
  void read_caa(const Entry& entry, Settings* settings);
  // load_domains.cpp
  void read_domains(const Entry* entry, const Settings& defaults, Config* config);
  void check_provider(const Entry& entry, const std::string& name, const Config& config);
  // load_providers.cpp
  void read_providers(const Entry& entry, Config* config);
  // load_rollout.cpp
  void read_rollout(const Entry& entry, Config* config);
  void read_gates(const Entry& entry, RolloutGates* gates);
  void read_tlsrpt_gate(const Entry& entry, RolloutGates* gates);
  void read_state(const Entry& entry, Config* config);
  void read_publish(const Entry& entry, Config* config);
  void read_propagation(const Entry& entry, PublishConfig* publish);

  std::set<std::string> m_declared_providers;
};

}  // namespace stsctl::config_reader

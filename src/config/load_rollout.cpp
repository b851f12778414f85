#include "config/loader.h"

#include <arpa/inet.h>

#include <cstdlib>

#include "config/values.h"
#include "dns/name.h"
#include "util/text.h"

namespace stsctl::config_reader {

namespace {

const Keys k_rollout_keys = {"stages", "gates"};
const Keys k_gates_keys = {"starttls", "smtp_port", "resolver", "ca_file", "connect_to", "timeout", "tlsrpt"};
const Keys k_tlsrpt_gate_keys = {"max_failure_rate", "min_sessions"};
const Keys k_stage_keys = {"mode", "max_age", "hold"};
const Keys k_publish_keys = {"webroot", "verify", "ca_file", "connect_to", "timeout", "propagation"};
const Keys k_propagation_keys = {"timeout", "nameservers"};

}  // namespace

void Loader::read_rollout(const Entry& entry, Config* config) {
  auto view = read_map(entry.value, entry.key.Mark(), entry.path, k_rollout_keys,
                       " (like {stages: [{mode: testing, max_age: 86400, hold: 7d}, ...]})");
  if (!view) {
    return;
  }
  if (const Entry* gates = view->find("gates")) {
    read_gates(*gates, &config->gates);
  }
  const Entry* stages = view->find("stages");
  if (stages == nullptr) {
    error(entry.key.Mark(), entry.path, "stages is required (a list of {mode, max_age, hold})");
    return;
  }
  auto items = read_list(*stages, " of stages (like [{mode: testing, max_age: 86400, hold: 7d}, ...])");
  if (!items) {
    return;
  }
  if (items->empty()) {
    error(value_mark(*stages), stages->path, "stages must list at least one stage");
    return;
  }
  for (size_t index = 0; index < items->size(); ++index) {
    const auto& [node, path] = (*items)[index];
    bool last = index + 1 == items->size();
    auto stage_view =
        read_map(node, node.Mark(), path, k_stage_keys, " (like {mode: testing, max_age: 86400, hold: 7d})");
    if (!stage_view) {
      continue;
    }
    RolloutStage stage;
    const Entry* mode = stage_view->find("mode");
    const Entry* max_age = stage_view->find("max_age");
    const Entry* hold = stage_view->find("hold");
    if (mode == nullptr) {
      error(node.Mark(), path, "mode is required (testing, enforce or none)");
    } else if (auto text = read_choice(*mode, k_modes)) {
      stage.mode = mode_from(*text);
    }
    if (max_age == nullptr) {
      error(node.Mark(), path, "max_age is required (86400..31557600 seconds)");
    } else if (auto value = read_max_age(*max_age)) {
      stage.max_age = *value;
    }
    if (hold == nullptr && !last) {
      error(node.Mark(), path, "hold is required on every stage but the last (like hold: 7d)");
    } else if (hold != nullptr) {
      auto text = read_string(*hold, "a duration (like 30m, 12h, 7d, 2w)");
      if (text) {
        auto seconds = parse_duration(*text);
        if (!seconds) {
          error(value_mark(*hold), hold->path,
                "'" + *text +
                    "' is not a duration: a positive whole number and a unit s, m, h, d or w (like 30m, 12h, "
                    "7d, 2w)");
        } else if (!last) {
          stage.hold_seconds = *seconds;
        }
      }
    }
    config->stages.push_back(stage);
  }
}

// rollout.gates: {starttls: true, smtp_port: 25, resolver: "IP:port", ca_file: F,
//                 connect_to: {"mx.example.net:25": "127.0.0.1:2525"}, timeout: 20}
void Loader::read_gates(const Entry& entry, RolloutGates* gates) {
  auto view = read_map(entry.value, entry.key.Mark(), entry.path, k_gates_keys,
                       " (like {starttls: true, smtp_port: 25, resolver: \"127.0.0.1:53\"})");
  if (!view) {
    return;
  }
  for (const Entry& setting : view->entries) {
    if (setting.name == "starttls") {
      gates->starttls = read_bool(setting).value_or(gates->starttls);
    } else if (setting.name == "smtp_port") {
      gates->smtp_port = static_cast<int>(
          read_ranged(setting, 1, 65535, "", "a port number (1..65535)").value_or(gates->smtp_port));
    } else if (setting.name == "resolver") {
      auto value = read_nonempty(setting, "an IP address with an optional port (like 127.0.0.1:53)");
      if (!value) {
        continue;
      }
      HostPort address;
      unsigned char buffer[16];
      // Lookups go straight to this server: a name would need a resolver to find it.
      if (parse_host_port(*value, 53, &address) || (inet_pton(AF_INET, address.host.c_str(), buffer) != 1 &&
                                                    inet_pton(AF_INET6, address.host.c_str(), buffer) != 1)) {
        error(value_mark(setting), setting.path,
              "'" + *value + "' is not an IP address with an optional port (like 127.0.0.1:53)");
        continue;
      }
      gates->resolver = *value;
    } else if (setting.name == "ca_file") {
      gates->ca_file = read_path(setting).value_or("");
    } else if (setting.name == "timeout") {
      gates->timeout_seconds = read_timeout(setting).value_or(gates->timeout_seconds);
    } else if (setting.name == "tlsrpt") {
      read_tlsrpt_gate(setting, gates);
    } else if (setting.name == "connect_to") {
      // "host", "host:port" or ":port" (any host), as SmtpOptions::connect_to takes them.
      HostPortMapRules rules;
      rules.hint = " (like {\"mx.example.net:25\": \"127.0.0.1:2525\"})";
      rules.check_key = [](const std::string& written, std::string* key) {
        *key = ascii_lower(written);
        HostPort from;
        return !key->empty() && (*key)[0] == ':' ? parse_host_port("any" + *key, 0, &from)
                                                 : parse_host_port(*key, 25, &from);
      };
      rules.value_default_port = 25;
      read_host_port_map(setting, rules, &gates->smtp_connect_to);
    }
  }
}

// rollout.gates.tlsrpt: {max_failure_rate: 0.01, min_sessions: 100}
void Loader::read_tlsrpt_gate(const Entry& entry, RolloutGates* gates) {
  auto view = read_map(entry.value, entry.key.Mark(), entry.path, k_tlsrpt_gate_keys,
                       " (like {max_failure_rate: 0.01, min_sessions: 100})");
  if (!view) {
    return;
  }
  TlsrptGate gate;
  bool ok = true;
  for (const Entry& setting : view->entries) {
    if (setting.name == "max_failure_rate") {
      const std::string what = "a fraction between 0 and 1 (like 0.01 for 1%)";
      std::string text = setting.value.IsScalar() ? setting.value.Scalar() : "";
      char* end = nullptr;
      double value = text.empty() ? 0 : std::strtod(text.c_str(), &end);
      if (!setting.value.IsScalar()) {
        error(value_mark(setting), setting.path, "expected " + what + ", got " + type_name(setting.value));
        ok = false;
      } else if (text.empty() || end == nullptr || *end != '\0' || !(value == value)) {
        error(value_mark(setting), setting.path, "'" + text + "' is not " + what);
        ok = false;
      } else if (value < 0 || value > 1) {
        error(value_mark(setting), setting.path, text + " is out of range: expected " + what);
        ok = false;
      } else {
        gate.max_failure_rate = value;
      }
    } else if (setting.name == "min_sessions") {
      auto value = read_integer(setting.value, value_mark(setting), setting.path,
                                "a whole number of sessions (0 or more)");
      if (!value) {
        ok = false;
      } else if (*value < 0) {
        error(value_mark(setting), setting.path, setting.value.Scalar() + " is below 0");
        ok = false;
      } else {
        gate.min_sessions = static_cast<uint64_t>(*value);
      }
    }
  }
  if (ok) {
    gates->tlsrpt = gate;
  }
}

// publish.propagation: {timeout: 60, nameservers: {ns1.example.net: "127.0.0.1:5353"}}
void Loader::read_propagation(const Entry& entry, PublishConfig* publish) {
  auto view = read_map(entry.value, entry.key.Mark(), entry.path, k_propagation_keys,
                       " (like {timeout: 60, nameservers: {ns1.example.net: \"192.0.2.53:53\"}})");
  if (!view) {
    return;
  }
  for (const Entry& setting : view->entries) {
    if (setting.name == "timeout") {
      // 0 turns the wait off, so read_timeout (which wants > 0) does not fit.
      auto value = read_string(setting, "a number of seconds (0 to skip the wait)");
      if (!value) {
        continue;
      }
      char* end = nullptr;
      double seconds = std::strtod(value->c_str(), &end);
      if (end == value->c_str() || *end != '\0' || seconds < 0 || seconds > 3600) {
        error(value_mark(setting), setting.path,
              "'" + *value + "' is not a number of seconds from 0 to 3600");
        continue;
      }
      publish->propagation_timeout_seconds = seconds;
    } else if (setting.name == "nameservers") {
      HostPortMapRules rules;
      rules.hint = " (like {ns1.example.net: \"192.0.2.53:53\"})";
      rules.check_key = [](const std::string& written, std::string* key) {
        *key = normalize_name(written);
        return host_name_error(*key);
      };
      rules.value_default_port = 53;
      read_host_port_map(setting, rules, &publish->nameserver_addresses);
    }
  }
}

void Loader::read_publish(const Entry& entry, Config* config) {
  auto view = read_map(entry.value, entry.key.Mark(), entry.path, k_publish_keys,
                       " (like {webroot: /var/www/mta-sts, verify: true})");
  if (!view) {
    return;
  }
  PublishConfig& publish = config->publish;
  const Entry* verify_entry = nullptr;
  for (const Entry& setting : view->entries) {
    if (setting.name == "webroot") {
      publish.webroot = read_path(setting).value_or("");
    } else if (setting.name == "verify") {
      publish.verify = read_bool(setting).value_or(false);
      verify_entry = &setting;
    } else if (setting.name == "ca_file") {
      publish.ca_file = read_path(setting).value_or("");
    } else if (setting.name == "timeout") {
      publish.timeout_seconds = read_timeout(setting).value_or(publish.timeout_seconds);
    } else if (setting.name == "connect_to") {
      HostPortMapRules rules;
      rules.hint = " (like {\"mta-sts.example.net:443\": \"127.0.0.1:8443\"})";
      rules.check_key = [](const std::string& written, std::string* key) {
        *key = ascii_lower(written);
        HostPort from;
        return parse_host_port(written, 0, &from);
      };
      read_host_port_map(setting, rules, &publish.connect_to);
    } else if (setting.name == "propagation") {
      read_propagation(setting, &publish);
    }
  }
  if (publish.verify && verify_entry != nullptr && view->find("webroot") == nullptr) {
    error(value_mark(*verify_entry), verify_entry->path,
          "verify: true needs publish.webroot (policies are verified after they are written there)");
  }
}

}  // namespace stsctl::config_reader

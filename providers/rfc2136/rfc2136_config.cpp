#include "rfc2136/rfc2136_config.h"

#include "config/values.h"
#include "dns/name.h"
#include "rfc2136/rfc2136_provider.h"
#include "util/secret.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <vector>

namespace stsctl {

namespace {

using config_reader::Entry;
using config_reader::Keys;
using config_reader::MapView;
using config_reader::value_mark;
using config_reader::YamlReader;

const char* const k_secret_message =
    "secrets must not be written in the config: use secret_file or secret_env in tsig";
const Keys k_tsig_keys = {"name", "algorithm", "secret_file", "secret_env"};
// A TSIG secret is a few dozen characters; far longer text is not one.
constexpr size_t k_max_secret_text = 65536;
const Keys k_algorithms = {"hmac-sha256", "hmac-sha512", "hmac-sha1", "hmac-md5"};

std::vector<ConfigKey> reference_rows() {
  return {
      {"providers.P.server", "string", "", "host, host:port, 192.0.2.1:53, [2001:db8::1]:53",
       "Primary name server accepting dynamic updates (RFC 2136).", "rfc2136"},
      {"providers.P.tsig", "map", "", "name, algorithm, secret_file or secret_env",
       "TSIG key signing updates.", "rfc2136"},
      {"providers.P.tsig.name", "string", "", "a key name", "TSIG key name.", "rfc2136"},
      {"providers.P.tsig.algorithm", "string", "hmac-sha256",
       "hmac-sha256, hmac-sha512, hmac-sha1; hmac-md5 only with allow_hmac_md5", "TSIG algorithm.", "rfc2136",
       k_algorithms},
      {"providers.P.tsig.secret_file", "string", "", "a file holding the base64 secret",
       "TSIG secret from a file; this or secret_env.", "rfc2136"},
      {"providers.P.tsig.secret_env", "string", "", "an environment variable name",
       "TSIG secret from the environment.", "rfc2136"},
      {"providers.P.transport",
       "string",
       "tcp",
       "tcp, udp",
       "Transport of updates and queries (udp falls back to tcp).",
       "rfc2136",
       {"tcp", "udp"}},
      provider_timeout_row(),
      {"providers.P.allow_hmac_md5", "boolean", "false", "true, false",
       "Allow the weak hmac-md5 TSIG algorithm.", "rfc2136"},
  };
}

void read_tsig(YamlReader& reader, const Entry& entry, bool allow_md5, TsigConfig* out) {
  auto view = reader.read_map(entry.value, entry.key.Mark(), entry.path, k_tsig_keys,
                              " (like {name: stsctl-key, algorithm: hmac-sha256, secret_file: tsig.secret})",
                              k_secret_message);
  if (!view) {
    return;
  }
  if (view->find("name") == nullptr) {
    reader.error(entry.key.Mark(), entry.path, "name is required (the TSIG key name the server knows)");
  }
  const Entry* file = view->find("secret_file");
  const Entry* env = view->find("secret_env");
  if (file == nullptr && env == nullptr) {
    reader.error(entry.key.Mark(), entry.path, "one of secret_file or secret_env is required");
  } else if (file != nullptr && env != nullptr) {
    const Entry* second = file->key.Mark().pos > env->key.Mark().pos ? file : env;
    reader.error(second->key.Mark(), second->path, "set only one of secret_file and secret_env");
  }
  for (const Entry& setting : view->entries) {
    if (setting.name == "name") {
      auto text = reader.read_nonempty(setting, "a TSIG key name");
      if (!text) {
        continue;
      }
      std::string name = normalize_name(*text);
      if (auto problem = server_name_error(name)) {
        reader.error(value_mark(setting), setting.path,
                     config_reader::name_message(name, "a valid TSIG key name", *problem));
        continue;
      }
      out->name = name;
    } else if (setting.name == "algorithm") {
      auto text = reader.read_nonempty(setting, "a TSIG algorithm");
      if (!text) {
        continue;
      }
      std::string reason;
      if (auto algorithm = tsig_algorithm(*text, allow_md5, &reason)) {
        out->algorithm = *algorithm;
      } else {
        reader.error(value_mark(setting), setting.path, reason);
      }
    } else if (setting.name == "secret_file") {
      out->secret_file = reader.read_path(setting).value_or("");
      out->secret_file_line = value_mark(setting).line + 1;
      out->secret_file_column = value_mark(setting).column + 1;
    } else if (setting.name == "secret_env") {
      out->secret_env = reader.read_env_name(setting).value_or("");
    }
  }
}

std::shared_ptr<const BackendConfig> read_block(YamlReader& reader, const MapView& block,
                                                const Entry& provider) {
  auto out = std::make_shared<Rfc2136Config>();
  out->name = provider.name;
  out->timeout_seconds = read_provider_timeout(reader, block, out->timeout_seconds);
  if (const Entry* md5 = block.find("allow_hmac_md5")) {
    out->allow_hmac_md5 = reader.read_bool(*md5).value_or(false);
  }
  if (block.find("server") == nullptr) {
    reader.error(provider.key.Mark(), provider.path,
                 "server is required (the primary name server, like 127.0.0.1:53)");
  }
  if (block.find("tsig") == nullptr) {
    reader.error(
        provider.key.Mark(), provider.path,
        "tsig is required (like {name: stsctl-key, algorithm: hmac-sha256, secret_file: tsig.secret})");
  }
  for (const Entry& setting : block.entries) {
    if (setting.name == "server") {
      auto text = reader.read_nonempty(setting, "host:port");
      if (!text) {
        continue;
      }
      HostPort host_port;
      if (auto problem = parse_host_port(*text, 53, &host_port)) {
        reader.error(
            value_mark(setting), setting.path,
            "'" + *text + "' " + *problem + " (allowed: host, host:port, 192.0.2.1:53, [2001:db8::1]:53)");
        continue;
      }
      out->server_host = host_port.host;
      out->server_port = host_port.port;
    } else if (setting.name == "tsig") {
      read_tsig(reader, setting, out->allow_hmac_md5, &out->tsig);
    } else if (setting.name == "transport") {
      if (auto transport = reader.read_choice(setting, {"tcp", "udp"})) {
        out->transport = *transport;
      }
    }
  }
  return out;
}

/// validate decodes each TSIG secret file it can read (a missing one may be
/// provisioned later, so only apply reports that): a secret that is not
/// base64 would otherwise fail only at the first push. Never quotes it.
std::vector<Diagnostic> check_secret_file(const ProviderConfig& provider, const Config& config) {
  const TsigConfig& tsig = settings_of<Rfc2136Config>(provider).tsig;
  struct stat info {};
  if (tsig.secret_file.empty() || ::stat(tsig.secret_file.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
    return {};  // none, missing, or not a file: validate's file warnings say so
  }
  std::ifstream in(tsig.secret_file, std::ios::binary);
  if (!in) {
    return {};
  }
  std::string secret((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t begin = secret.find_first_not_of(" \t\r\n");
  size_t end = secret.find_last_not_of(" \t\r\n");
  bool valid = begin != std::string::npos && is_base64(secret.substr(begin, end - begin + 1));
  wipe(secret);
  if (valid) {
    return {};
  }
  Diagnostic diagnostic;
  diagnostic.file = config.file;
  diagnostic.line = tsig.secret_file_line;
  diagnostic.column = tsig.secret_file_column;
  diagnostic.key_path = "providers." + provider.name + ".tsig.secret_file";
  diagnostic.message = "the TSIG secret in '" + tsig.secret_file +
                       "' is not base64 (it should hold the secret line of tsig-keygen's output)";
  return {diagnostic};
}

}  // namespace

std::optional<std::string> tsig_algorithm(const std::string& written, bool allow_md5, std::string* reason) {
  std::string algorithm = normalize_name(written);
  if (algorithm == "hmac-md5.sig-alg.reg.int") {
    algorithm = "hmac-md5";  // RFC 8945 section 6: the name hmac-md5 has on the wire
  }
  if (algorithm == "hmac-sha384" || algorithm == "hmac-sha224") {
    *reason = algorithm + " is not supported: ldns 1.8.3 cannot sign with it; use hmac-sha256 or hmac-sha512";
  } else if (algorithm == "hmac-md5" && !allow_md5) {
    *reason =
        "hmac-md5 is weak and refused unless the provider sets allow_hmac_md5: true; use hmac-sha256 or "
        "hmac-sha512";
  } else if (!config_reader::contains(k_algorithms, algorithm)) {
    *reason = config_reader::choice_message(algorithm, k_algorithms);
  } else {
    return algorithm;
  }
  return std::nullopt;
}

bool is_base64(const std::string& text) {
  if (text.empty() || text.size() % 4 != 0 || text.size() > k_max_secret_text) {
    return false;
  }
  // Decode, then encode again: only the canonical text of what it decodes to
  // passes, which refuses bad characters, misplaced or excess padding, and
  // stray bits in the last character (RFC 4648 section 3.5).
  size_t padding = text.size() - 1 - text.find_last_not_of('=');
  std::string decoded(text.size() / 4 * 3, '\0');
  int length =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                      reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  bool same = false;
  if (length >= 0 && padding <= 2 && static_cast<size_t>(length) >= padding) {
    std::string encoded(text.size() + 1, '\0');
    int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                  reinterpret_cast<const unsigned char*>(decoded.data()),
                                  length - static_cast<int>(padding));
    same = static_cast<size_t>(written) == text.size() &&
           CRYPTO_memcmp(encoded.data(), text.data(), text.size()) == 0;
    wipe(encoded);
  }
  wipe(decoded);
  return same;
}

ProviderBackend rfc2136_backend() {
  ProviderBackend backend;
  backend.config.type = "rfc2136";
  backend.config.keys = reference_rows();
  backend.config.example_name = "bind";
  backend.config.example = "{type: rfc2136, server: ...}";
  backend.config.secret_message = k_secret_message;
  backend.config.read = read_block;
  backend.make = [](const ProviderConfig& config, const ProviderLog&) {
    return make_rfc2136_provider(settings_of<Rfc2136Config>(config));
  };
  backend.check_files = check_secret_file;
  return backend;
}

}  // namespace stsctl

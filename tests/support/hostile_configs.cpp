#include "support/hostile_configs.h"

#include <random>

namespace stsctl::test {

namespace {

const std::string k_valid =
    "version: 1\n"
    "defaults:\n"
    "  policy_host: {ipv4: [192.0.2.40]}\n"
    "domains:\n"
    "  example.net: {mx: [mail.example.net]}\n";

std::string repeat(const std::string& text, size_t count) {
  std::string out;
  out.reserve(text.size() * count);
  for (size_t i = 0; i < count; ++i) {
    out += text;
  }
  return out;
}

std::string junk(size_t size, unsigned seed) {
  std::mt19937 random(seed);
  std::string out(size, '\0');
  for (char& c : out) {
    c = static_cast<char>(random() & 0xff);
  }
  return out;
}

std::string under_provider(const std::string& extra) {
  return "version: 1\nproviders:\n  pdns:\n    type: powerdns\n    url: http://127.0.0.1:8081\n"
         "    api_key_env: PDNS_KEY\n    extra: " +
         extra +
         "\ndomains:\n  example.net: {mx: [mail.example.net], provider: pdns, policy_host: {ipv4: "
         "[192.0.2.40]}}\n";
}

std::string replace_newlines(const std::string& text, const std::string& with) {
  std::string out;
  for (char c : text) {
    out += c == '\n' ? with : std::string(1, c);
  }
  return out;
}

}  // namespace

std::vector<HostileConfig> hostile_configs() {
  std::vector<HostileConfig> out;
  out.push_back(
      {"flow_nesting_100000", "version: 1\ndomains: " + repeat("[", 100000) + repeat("]", 100000) + "\n"});
  out.push_back({"open_brackets_200k", repeat("[", 200000)});
  out.push_back({"flow_maps_20000", under_provider(repeat("{x: ", 20000) + "1" + repeat("}", 20000))});
  std::string block = "version: 1\nrollout:\n";
  for (size_t i = 1; i <= 300; ++i) {
    block += std::string(i * 2, ' ') + "a:\n";
  }
  out.push_back({"block_nesting_300", block});
  out.push_back({"alias_cycle_sequence", under_provider("&a [*a]")});
  out.push_back({"alias_cycle_map", under_provider("&a {x: *a}")});
  out.push_back({"alias_cycle_tsig",
                 "version: 1\nproviders:\n  bind:\n    type: rfc2136\n    server: 127.0.0.1:53\n"
                 "    tsig: {name: k, secret_env: K, extra: &a {x: [*a]}}\ndomains: {example.net: {mx: "
                 "[m.example.net], "
                 "provider: bind, policy_host: {ipv4: [192.0.2.40]}}}\n"});
  std::string bomb = "\n      a0: &a0 {secret: x}\n";
  for (int i = 1; i < 10; ++i) {
    bomb += "      a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) {
      bomb += (k ? ", *a" : "*a") + std::to_string(i - 1);
    }
    bomb += "]\n";
  }
  out.push_back({"alias_bomb", under_provider(bomb)});
  std::string laughs = "version: 1\nx0: &x0 [" + repeat("lol, ", 9) + "lol]\n";
  for (int i = 1; i < 12; ++i) {
    laughs += "x" + std::to_string(i) + ": &x" + std::to_string(i) + " [" +
              repeat("*x" + std::to_string(i - 1) + ", ", 9) + "*x" + std::to_string(i - 1) + "]\n";
  }
  out.push_back({"billion_laughs_root", laughs});
  std::string deep_anchor = "version: 1\nanchor: &deep " + repeat("[", 60) + repeat("]", 60) +
                            "\nrollout: " + repeat("[", 10) + "*deep" + repeat("]", 10) + "\n";
  out.push_back({"alias_nests_too_deep", deep_anchor});
  out.push_back(
      {"scalar_1mb_value",
       "version: 1\ndefaults:\n  policy_host: {ipv4: [192.0.2.40]}\ndomains:\n  example.net: {mx: [" +
           std::string(1 << 20, 'a') + "]}\n"});
  out.push_back({"scalar_1mb_key", "version: 1\ndomains:\n  " + std::string(1 << 20, 'k') + ": {}\n"});
  out.push_back({"scalar_1mb_quoted", "version: 1\nstate: \"" + std::string(1 << 20, 'q') + "\"\n"});
  out.push_back({"binary_junk_64k", junk(65536, 1)});
  out.push_back({"binary_junk_after_config", k_valid + junk(4096, 2)});
  out.push_back(
      {"nul_bytes",
       "version: 1\ndefaults:\n  policy_host: {ipv4: [192.0.2.40]}\ndomains:\n  example.net: {mx: [mail" +
           std::string(3, '\0') + ".example.net]}\n"});
  out.push_back({"invalid_utf8",
                 "version: 1\ndomains:\n  ex\xff\xfe"
                 "ample.net: {mx: [m\xc3\x28.example.net]}\n"});
  out.push_back({"overlong_utf8",
                 "version: 1\ndomains:\n  \xc0\xae"
                 "example.net: {}\n"});
  out.push_back({"crlf", replace_newlines(k_valid, "\r\n"), true});
  out.push_back({"bom", "\xef\xbb\xbf" + k_valid, true});
  out.push_back({"bom_crlf", "\xef\xbb\xbf" + replace_newlines(k_valid, "\r\n"), true});
  out.push_back({"utf16_bom", std::string("\xff\xfe", 2) + std::string("v\0e\0r\0", 6)});
  std::string mx =
      "version: 1\ndefaults:\n  policy_host: {ipv4: [192.0.2.40]}\ndomains:\n  example.net:\n    mx:\n";
  for (int i = 0; i < 100000; ++i) {
    mx += "      - mx" + std::to_string(i) + ".example.net\n";
  }
  out.push_back({"mx_100000", mx});
  std::string keys = "version: 1\ndefaults:\n";
  for (int i = 0; i < 100000; ++i) {
    keys += "  unknown" + std::to_string(i) + ": 1\n";
  }
  out.push_back({"unknown_keys_100000", keys + "domains: {}\n"});
  std::string duplicates = "version: 1\ndomains:\n";
  for (int i = 0; i < 50000; ++i) {
    duplicates += "  example.net: {}\n";
  }
  out.push_back({"duplicate_domains_50000", duplicates});
  out.push_back({"escape_sequences",
                 "version: 1\ndomains:\n  \"a\\e[2J\\e]0;owned\\a.example\": {mx: [\"m\\n\\rx\"]}\n"});
  out.push_back({"second_document", k_valid + "---\nversion: 2\n"});
  out.push_back({"document_end_then_junk", k_valid + "...\n" + junk(512, 3)});
  out.push_back(
      {"tags_everywhere", "--- !!map\nversion: !!int 1\ndomains: !custom {example.net: !!str x}\n"});
  out.push_back({"long_line_of_commas", "version: 1\ndomains: [" + repeat(",", 300000) + "]\n"});
  out.push_back({"many_anchors", "version: 1\nrollout: [" + [] {
                   std::string s;
                   for (int i = 0; i < 50000; ++i) {
                     s += "&a" + std::to_string(i) + " x, ";
                   }
                   return s;
                 }() + "]\n"});
  return out;
}

}  // namespace stsctl::test

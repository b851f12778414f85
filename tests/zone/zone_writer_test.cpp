#include "zone/zone_writer.h"
#include "records/desired.h"
#include "records/invariants.h"
#include "support/records_fixture.h"
#include "support/support.h"

#include <catch2/catch.hpp>

#include <cctype>
#include <sstream>

using namespace stsctl;
using stsctl::test::CommandResult;
using stsctl::test::rrset;
using stsctl::test::run_command;
using stsctl::test::TempDir;
using stsctl::test::write_file;

namespace {

/// Reads TXT presentation rdata back into its character-strings (octets).
std::vector<std::string> parse_txt(const std::string& presentation) {
  std::vector<std::string> strings;
  size_t i = 0;
  while (i < presentation.size()) {
    if (presentation[i] == ' ') {
      ++i;
      continue;
    }
    REQUIRE(presentation[i] == '"');
    ++i;
    std::string s;
    while (true) {
      REQUIRE(i < presentation.size());
      char c = presentation[i];
      if (c == '"') {
        ++i;
        break;
      }
      if (c == '\\') {
        REQUIRE(i + 1 < presentation.size());
        if (std::isdigit(static_cast<unsigned char>(presentation[i + 1]))) {
          REQUIRE(i + 3 < presentation.size());
          s += static_cast<char>(std::stoi(presentation.substr(i + 1, 3)));
          i += 4;
        } else {
          s += presentation[i + 1];
          i += 2;
        }
        continue;
      }
      // Unescaped octets inside quotes must be printable ASCII.
      CHECK(static_cast<unsigned char>(c) >= 0x20);
      CHECK(static_cast<unsigned char>(c) < 0x7f);
      s += c;
      ++i;
    }
    strings.push_back(s);
  }
  return strings;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) {
    out += p;
  }
  return out;
}

std::string zone_header(const std::string& zone) {
  return "$TTL 3600\n" + zone + ". 3600 IN SOA ns1." + zone + ". hostmaster." + zone +
         ". 1 7200 3600 1209600 3600\n" + zone + ". 3600 IN NS ns1." + zone + ".\n" + "ns1." + zone +
         ". 3600 IN A 192.0.2.53\n";
}

/// Writes header + fragment to a file and runs named-checkzone on it.
CommandResult check_with_named(const TempDir& dir, const std::string& zone, const std::string& fragment) {
  std::string path = dir.file(zone + ".zone");
  write_file(path, zone_header(zone) + fragment);
  return run_command({"named-checkzone", "-q", "-i", "none", zone, path});
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(line);
  }
  return lines;
}

}  // namespace

TEST_CASE("short TXT is one quoted string", "[zone]") {
  CHECK(txt_presentation("v=STSv1; id=20240101000000") == "\"v=STSv1; id=20240101000000\"");
  CHECK(txt_presentation("") == "\"\"");
}

TEST_CASE("TXT escaping of quotes, backslashes and non-ASCII", "[zone]") {
  CHECK(txt_presentation("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(txt_presentation("tab\there") == "\"tab\\009here\"");
  CHECK(txt_presentation("caf\xc3\xa9") == "\"caf\\195\\169\"");
  CHECK(txt_presentation(std::string("nul\0x", 5)) == "\"nul\\000x\"");
  CHECK(txt_presentation("del\x7f") == "\"del\\127\"");
  CHECK(txt_presentation("semi;colon") == "\"semi;colon\"");
}

TEST_CASE("long TXT is split into character-strings of at most 255 octets", "[zone]") {
  for (size_t length : {255u, 256u, 300u, 510u, 511u, 1000u}) {
    std::string value;
    for (size_t i = 0; i < length; ++i) {
      value += static_cast<char>('a' + i % 26);
    }
    auto parts = parse_txt(txt_presentation(value));
    INFO("length " << length);
    CHECK(parts.size() == (length + 254) / 255);
    for (const auto& part : parts) {
      CHECK(part.size() <= 255);
    }
    CHECK(join(parts) == value);
  }
}

TEST_CASE("splitting never cuts an escape", "[zone]") {
  // 254 plain octets then quotes and 8-bit octets straddling the 255 boundary.
  std::string value = std::string(254, 'x') + "\"\\\xe9\xff" + std::string(300, '\\') + "\"";
  std::string presentation = txt_presentation(value);
  auto parts = parse_txt(presentation);
  REQUIRE(parts.size() == 3);
  CHECK(parts[0].size() == 255);
  CHECK(parts[1].size() == 255);
  CHECK(join(parts) == value);
}

TEST_CASE("render_zone_fragment writes absolute lines in canonical order", "[zone]") {
  std::vector<RRset> rrsets = {
      // Values out of order on purpose: the writer sorts them.
      RRset{"mta-sts.example.net.",
            RRType::CAA,
            3600,
            {"0 issue \"letsencrypt.org\"", "0 iodef \"mailto:sec@example.net\""}},
      rrset("mta-sts.example.net.", RRType::AAAA, {"2001:db8::40"}),
      RRset{"mta-sts.example.net.", RRType::A, 3600, {"192.0.2.41", "192.0.2.40"}},
      rrset("_smtp._tls.example.net.", RRType::TXT, {"v=TLSRPTv1; rua=mailto:tlsrpt@example.net"}),
      rrset("_mta-sts.example.net.", RRType::TXT, {"v=STSv1; id=20240101000000"}),
      rrset("mta-sts.shop.example.net.", RRType::CNAME, {"web.example.net"}, 300),
  };
  std::string fragment = render_zone_fragment("example.net", rrsets);
  auto lines = lines_of(fragment);
  REQUIRE(lines.size() == 10);
  CHECK(lines[0] == "; stsctl: records for zone example.net");
  CHECK(lines[1].rfind("; ", 0) == 0);
  CHECK(lines[2] == "_mta-sts.example.net.     3600 IN TXT   \"v=STSv1; id=20240101000000\"");
  CHECK(lines[3] == "_smtp._tls.example.net.   3600 IN TXT   \"v=TLSRPTv1; rua=mailto:tlsrpt@example.net\"");
  CHECK(lines[4] == "mta-sts.example.net.      3600 IN A     192.0.2.40");
  CHECK(lines[5] == "mta-sts.example.net.      3600 IN A     192.0.2.41");
  CHECK(lines[6] == "mta-sts.example.net.      3600 IN AAAA  2001:db8::40");
  CHECK(lines[7] == "mta-sts.example.net.      3600 IN CAA   0 iodef \"mailto:sec@example.net\"");
  CHECK(lines[8] == "mta-sts.example.net.      3600 IN CAA   0 issue \"letsencrypt.org\"");
  CHECK(lines[9] == "mta-sts.shop.example.net. 300  IN CNAME web.example.net.");

  SECTION("deterministic: any input order gives the same bytes") {
    std::vector<RRset> reversed(rrsets.rbegin(), rrsets.rend());
    CHECK(render_zone_fragment("example.net", reversed) == fragment);
    CHECK(render_zone_fragment("example.net.", rrsets) == fragment);
  }
}

TEST_CASE("an empty zone is just the header", "[zone]") {
  CHECK(lines_of(render_zone_fragment("example.net", {})).size() == 2);
}

TEST_CASE("fragments pass named-checkzone and ldns-read-zone", "[zone][tools]") {
  REQUIRE(stsctl::test::have_program("named-checkzone"));
  REQUIRE(stsctl::test::have_program("ldns-read-zone"));
  TempDir dir("zone");

  Config config = stsctl::test::sample_config();
  auto zones = desired_records(config, stsctl::test::sample_ids(config));
  // Stress the presentation format in the example.net zone.
  std::string long_value = "v=TLSRPTv1; rua=";
  for (int i = 0; i < 40; ++i) {
    long_value += (i ? "," : "") + std::string("mailto:tlsrpt-") + std::to_string(i) + "@example.net";
  }
  REQUIRE(long_value.size() > 510);
  auto& net = zones.at("example.net");
  net.push_back(rrset("long.example.net.", RRType::TXT, {long_value}));
  net.push_back(rrset("escapes.example.net.", RRType::TXT, {"quote\" backslash\\ caf\xc3\xa9 semi; tab\t"}));
  net.push_back(rrset("exactly.example.net.", RRType::TXT, {std::string(255, 'a'), std::string(256, 'b')}));
  net.push_back(rrset("caa.example.net.", RRType::CAA, {"128 issue \"ca.example; account=\\\"x\\\"\""}));

  for (const auto& [zone, rrsets] : zones) {
    INFO("zone " << zone);
    REQUIRE(check_invariants(zone, rrsets).empty());
    std::string fragment = render_zone_fragment(zone, rrsets);
    CommandResult named = check_with_named(dir, zone, fragment);
    INFO(fragment << "\nnamed-checkzone: " << named.out << named.err);
    CHECK(named.exit_code == 0);

    std::string fragment_path = dir.file(zone + ".fragment");
    write_file(fragment_path, fragment);
    CommandResult ldns = run_command({"ldns-read-zone", fragment_path});
    INFO("ldns-read-zone: " << ldns.out << ldns.err);
    CHECK(ldns.exit_code == 0);
    size_t records = 0;
    for (const auto& rrset : rrsets) {
      records += rrset.values.size();
    }
    size_t printed = 0;
    for (const auto& line : lines_of(ldns.out)) {
      if (!line.empty() && line[0] != ';') {
        ++printed;
      }
    }
    CHECK(printed == records);
  }

  SECTION("the long TXT round-trips through ldns") {
    std::string fragment_path = dir.file("long.fragment");
    write_file(fragment_path,
               render_zone_fragment("example.net", {rrset("long.example.net.", RRType::TXT, {long_value})}));
    CommandResult ldns = run_command({"ldns-read-zone", fragment_path});
    REQUIRE(ldns.exit_code == 0);
    auto out_lines = lines_of(ldns.out);
    REQUIRE(out_lines.size() == 1);
    size_t rdata = out_lines[0].find('"');
    REQUIRE(rdata != std::string::npos);
    CHECK(join(parse_txt(out_lines[0].substr(rdata))) == long_value);
  }
}

TEST_CASE("named-checkzone rejects a CNAME beside a TXT (the check is real)", "[zone][tools]") {
  REQUIRE(stsctl::test::have_program("named-checkzone"));
  TempDir dir("zone-neg");
  std::vector<RRset> bad = {
      rrset("_mta-sts.example.net.", RRType::TXT, {"v=STSv1; id=1"}),
      rrset("_mta-sts.example.net.", RRType::CNAME, {"_mta-sts.example.org."}),
  };
  CHECK_FALSE(check_invariants("example.net", bad).empty());
  CommandResult named = check_with_named(dir, "example.net", render_zone_fragment("example.net", bad));
  CHECK(named.exit_code != 0);

  SECTION("and a 256-octet character-string written by hand") {
    write_file(dir.file("raw.zone"),
               zone_header("example.net") + "x.example.net. 3600 IN TXT \"" + std::string(256, 'a') + "\"\n");
    CommandResult raw =
        run_command({"named-checkzone", "-q", "-i", "none", "example.net", dir.file("raw.zone")});
    CHECK(raw.exit_code != 0);
  }
}

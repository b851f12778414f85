#include "rfc2136/rfc2136_wire.h"
#include "rfc2136/rfc2136_config.h"
#include "support/records_fixture.h"

#include <catch2/catch.hpp>

#include <cstdlib>

using namespace stsctl;
using namespace stsctl::rfc2136;
using stsctl::test::rrset;

namespace {

const char* const k_secret = "c3RzY3RsLXRlc3Qtc2VjcmV0LTMyLWJ5dGVzLWxvbmchIQ==";

handle::LdnsRr rr_from_text(const std::string& text) {
  ldns_rr* rr = nullptr;
  REQUIRE(ldns_rr_new_frm_str(&rr, text.c_str(), 300, nullptr, nullptr) == LDNS_STATUS_OK);
  return handle::LdnsRr(rr);
}

/// push_value then canonical_value: what comes back.
std::optional<std::string> round_trip(RRType type, const std::string& value) {
  handle::LdnsRr rr(ldns_rr_new());
  ldns_rr_set_type(rr.get(), to_ldns(type));
  if (!push_value(rr.get(), type, value)) {
    return std::nullopt;
  }
  return canonical_value(rr.get(), type);
}

std::string section_text(const ldns_rr_list* list) {
  handle::CString text(ldns_rr_list2str(list));
  return text ? text.get() : "";
}

/// An answer to `query` signed with `key` over the request MAC, as a server makes it.
std::vector<uint8_t> signed_answer(const WireMessage& query, const TsigKey& key, bool tamper) {
  ldns_pkt* raw = nullptr;
  REQUIRE(ldns_wire2pkt(&raw, query.wire.data(), query.wire.size()) == LDNS_STATUS_OK);
  handle::LdnsPkt answer(raw);
  // The answer gets its own TSIG: drop the copy parsed from the query.
  ldns_rr_free(ldns_pkt_tsig(answer.get()));
  ldns_pkt_set_tsig(answer.get(), nullptr);
  ldns_pkt_set_qr(answer.get(), true);
  ldns_pkt_set_aa(answer.get(), true);
  ldns_rr_list_push_rr(ldns_pkt_answer(answer.get()),
                       rr_from_text("_mta-sts.example.test. 300 IN TXT \"v=STSv1; id=1\"").release());
  ldns_pkt_set_ancount(answer.get(), 1);
  REQUIRE(ldns_pkt_tsig_sign(answer.get(), key.name.c_str(), key.secret, 300, key.algorithm.c_str(),
                             query.request_mac.get()) == LDNS_STATUS_OK);
  uint8_t* data = nullptr;
  size_t size = 0;
  REQUIRE(ldns_pkt2wire(&data, answer.get(), &size) == LDNS_STATUS_OK);
  std::vector<uint8_t> wire(data, data + size);
  std::free(data);
  if (tamper) {
    wire[13] ^= 0x01;  // a letter of the question name, just after the 12-octet header
  }
  return wire;
}

}  // namespace

TEST_CASE("rfc2136 wire: canonical values survive RDATA and back", "[rfc2136][wire]") {
  CHECK(round_trip(RRType::A, "192.0.2.1") == std::optional<std::string>("192.0.2.1"));
  CHECK(round_trip(RRType::AAAA, "2001:db8::1") == std::optional<std::string>("2001:db8::1"));
  CHECK(round_trip(RRType::CNAME, "Target.Example.TEST.") ==
        std::optional<std::string>("target.example.test."));
  CHECK(round_trip(RRType::MX, "10 mail.example.test.") ==
        std::optional<std::string>("10 mail.example.test."));
  CHECK(round_trip(RRType::CAA, "0 issue \"letsencrypt.org\"") ==
        std::optional<std::string>("0 issue \"letsencrypt.org\""));
  CHECK(round_trip(RRType::CAA, "128 iodef \"mailto:a\\\"b@example.test\"") ==
        std::optional<std::string>("128 iodef \"mailto:a\\\"b@example.test\""));
  // RFC 1035 section 3.3: 600 octets become three character-strings, joined again on the way back.
  std::string long_txt(600, 'x');
  handle::LdnsRr rr(ldns_rr_new());
  ldns_rr_set_type(rr.get(), LDNS_RR_TYPE_TXT);
  REQUIRE(push_value(rr.get(), RRType::TXT, long_txt));
  CHECK(ldns_rr_rd_count(rr.get()) == 3);
  CHECK(canonical_value(rr.get(), RRType::TXT) == std::optional<std::string>(long_txt));
  CHECK(round_trip(RRType::TXT, "") == std::optional<std::string>(""));
}

TEST_CASE("rfc2136 wire: values that do not parse are refused", "[rfc2136][wire]") {
  CHECK_FALSE(round_trip(RRType::A, "192.0.2"));
  CHECK_FALSE(round_trip(RRType::AAAA, "192.0.2.1"));
  CHECK_FALSE(round_trip(RRType::MX, "mail.example.test."));
  CHECK_FALSE(round_trip(RRType::MX, "70000 mail.example.test."));
  CHECK_FALSE(round_trip(RRType::CAA, "0 issue letsencrypt.org"));
  CHECK_FALSE(round_trip(RRType::CAA, "256 issue \"x\""));
  CHECK_FALSE(round_trip(RRType::SOA, "anything"));
}

TEST_CASE("rfc2136 wire: an UPDATE locks what plan read and deletes before it adds", "[rfc2136][wire]") {
  RRset old_a = rrset("mta-sts.example.test.", RRType::A, {"192.0.2.1"});
  RRset cname = rrset("mta-sts.example.test.", RRType::CNAME, {"sts.provider.test."});
  Change create;
  create.kind = ChangeKind::Create;
  create.key = {cname.owner, cname.type};
  create.after = cname;
  Change remove;
  remove.kind = ChangeKind::Delete;
  remove.key = {old_a.owner, old_a.type};
  remove.before = old_a;
  std::string error;
  handle::LdnsPkt update = build_update("example.test", {create, remove}, &error);
  REQUIRE(update);
  CHECK(error.empty());
  CHECK(ldns_pkt_get_opcode(update.get()) == LDNS_PACKET_UPDATE);
  CHECK_FALSE(ldns_pkt_rd(update.get()));
  // RFC 2136 section 2.4: "RRset does not exist" (class NONE) for the create,
  // "RRset exists (value dependent)" (class IN, TTL 0) for the delete.
  CHECK(section_text(ldns_pkt_answer(update.get())) ==
        "mta-sts.example.test.\t0\tNONE\tCNAME\t\\# 0\nmta-sts.example.test.\t0\tIN\tA\t192.0.2.1\n");
  // Section 2.5.2 deletes (class ANY) first, then the add.
  CHECK(section_text(ldns_pkt_authority(update.get())) ==
        "mta-sts.example.test.\t0\tANY\tCNAME\t\\# 0\nmta-sts.example.test.\t0\tANY\tA\t\\# 0\n"
        "mta-sts.example.test.\t3600\tIN\tCNAME\tsts.provider.test.\n");

  Change outside = create;
  outside.key.owner = "mta-sts.other.test.";
  CHECK_FALSE(build_update("example.test", {outside}, &error));
  CHECK(error == "mta-sts.other.test. lies outside zone example.test");
  Change bad = create;
  bad.key = {old_a.owner, RRType::A};
  bad.after = rrset(old_a.owner, RRType::A, {"not an address"});
  CHECK_FALSE(build_update("example.test", {bad}, &error));
  CHECK(error == "cannot encode A value 'not an address' at mta-sts.example.test.");
}

TEST_CASE("rfc2136 wire: TSIG-signed message and a verified answer", "[rfc2136][wire]") {
  TsigKey key{"stsctl-key.", "hmac-sha256.", k_secret};
  handle::LdnsPkt query = build_query("_mta-sts.example.test.", LDNS_RR_TYPE_TXT);
  ldns_status status = LDNS_STATUS_OK;
  auto message = to_wire(query.get(), 4711, &key, &status);
  REQUIRE(message);
  CHECK((message->wire[0] << 8 | message->wire[1]) == 4711);
  REQUIRE(message->request_mac);

  auto answer = parse_answer(signed_answer(*message, key, false), &key, message->request_mac.get());
  REQUIRE(answer);
  CHECK(answer->verified);
  CHECK(answer->tsig_error == 0);
  bool malformed = false;
  auto txt = answer_rrset(answer->packet.get(), "_mta-sts.example.test.", RRType::TXT, &malformed);
  REQUIRE(txt);
  CHECK(txt->values == std::vector<std::string>{"v=STSv1; id=1"});
  CHECK_FALSE(answer_rrset(answer->packet.get(), "_mta-sts.example.test.", RRType::CNAME, &malformed));

  SECTION("a changed byte fails verification") {
    auto tampered = parse_answer(signed_answer(*message, key, true), &key, message->request_mac.get());
    CHECK((!tampered || !tampered->verified));
  }
  SECTION("another key's signature fails verification") {
    TsigKey other{"stsctl-key.", "hmac-sha256.", "b3RoZXItc2VjcmV0LWZvci10ZXN0aW5nLW9ubHktMTIzNA=="};
    auto wrong = parse_answer(signed_answer(*message, other, false), &key, message->request_mac.get());
    REQUIRE(wrong);
    CHECK_FALSE(wrong->verified);
  }
  SECTION("an unsigned answer to a signed query is not verified") {
    handle::LdnsPkt plain = build_query("_mta-sts.example.test.", LDNS_RR_TYPE_TXT);
    auto unsigned_wire = to_wire(plain.get(), 4711, nullptr, &status);
    REQUIRE(unsigned_wire);
    auto unsigned_answer = parse_answer(unsigned_wire->wire, &key, message->request_mac.get());
    REQUIRE(unsigned_answer);
    CHECK_FALSE(unsigned_answer->verified);
  }
}

TEST_CASE("rfc2136 wire: secrets are checked by decoding them", "[rfc2136][wire]") {
  CHECK(is_base64(k_secret));
  CHECK_FALSE(is_base64("not base64 !!"));
  CHECK_FALSE(is_base64(""));
  CHECK(std::string(rcode_name(LDNS_RCODE_NXRRSET)) == "NXRRSET");
  CHECK(std::string(rcode_name(42)) == "unknown rcode");
}

TEST_CASE("rfc2136 wire: the apex SOA counts only when authoritative", "[rfc2136][wire]") {
  handle::LdnsPkt answer(ldns_pkt_new());
  ldns_rr_list_push_rr(
      ldns_pkt_answer(answer.get()),
      rr_from_text("example.test. 300 IN SOA ns.example.test. h.example.test. 1 2 3 4 5").release());
  CHECK_FALSE(has_apex_soa(answer.get(), "example.test"));
  ldns_pkt_set_aa(answer.get(), true);
  CHECK(has_apex_soa(answer.get(), "example.test"));
  CHECK(has_apex_soa(answer.get(), "EXAMPLE.test."));
  CHECK_FALSE(has_apex_soa(answer.get(), "sub.example.test"));
}

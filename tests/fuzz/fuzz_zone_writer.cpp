// libFuzzer target: the zone writer. Arbitrary TXT values (and CAA values
// the config would accept) are rendered into a fragment, which ldns must read
// back line by line to exactly the same values.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "config/values.h"
#include "records/rrset.h"
#include "util/handles.h"
#include "zone/zone_writer.h"

// After the C++ headers: clang reads a name in ldns's headers as a builtin otherwise.
#include <ldns/ldns.h>

namespace {

std::string txt_of(const ldns_rr* rr) {
  std::string joined;
  for (size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
    const ldns_rdf* rdf = ldns_rr_rdf(rr, i);
    const uint8_t* data = ldns_rdf_data(rdf);
    if (ldns_rdf_size(rdf) < 1 || data[0] != ldns_rdf_size(rdf) - 1) {
      std::abort();
    }
    joined.append(reinterpret_cast<const char*>(data + 1), data[0]);
  }
  return joined;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> pieces(1);
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == '\n' && pieces.size() < 16) {
      pieces.emplace_back();
    } else {
      pieces.back() += static_cast<char>(data[i]);
    }
  }
  stsctl::RRset txt{"_mta-sts.example.net.", stsctl::RRType::TXT, 3600, {}};
  stsctl::RRset caa{"mta-sts.example.net.", stsctl::RRType::CAA, 3600, {}};
  for (const std::string& piece : pieces) {
    txt.values.push_back(piece);
    if (!stsctl::caa_value_error("issue", piece)) {
      caa.values.push_back(stsctl::caa_value(0, "issue", piece));
    }
  }
  txt.normalize();
  caa.normalize();
  std::vector<stsctl::RRset> rrsets{txt};
  if (!caa.values.empty()) {
    rrsets.push_back(caa);
  }
  std::string fragment = stsctl::render_zone_fragment("example.net", rrsets);

  std::vector<std::string> txt_read;
  size_t caa_read = 0;
  std::istringstream lines(fragment);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == ';') {
      continue;
    }
    ldns_rr* raw = nullptr;
    if (ldns_rr_new_frm_str(&raw, line.c_str(), 3600, nullptr, nullptr) != LDNS_STATUS_OK) {
      std::abort();  // the writer produced a line ldns cannot read
    }
    stsctl::handle::LdnsRr rr(raw);
    if (ldns_rr_get_type(rr.get()) == LDNS_RR_TYPE_TXT) {
      txt_read.push_back(txt_of(rr.get()));
    } else if (ldns_rr_get_type(rr.get()) == LDNS_RR_TYPE_CAA) {
      ++caa_read;
    } else {
      std::abort();
    }
  }
  if (txt_read != txt.values || caa_read != caa.values.size()) {
    std::abort();
  }
  return 0;
}

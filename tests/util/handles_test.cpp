#include <catch2/catch.hpp>

#include "util/handles.h"

using namespace stsctl;

TEST_CASE("handles own what the libraries allocate") {
  handle::LdnsRdf name(ldns_dname_new_frm_str("mta-sts.example.net."));
  REQUIRE(name);
  handle::CString text(ldns_rdf2str(name.get()));
  CHECK(std::string(text.get()) == "mta-sts.example.net.");

  handle::CurlUrl url(curl_url());
  REQUIRE(curl_url_set(url.get(), CURLUPART_URL, "https://mta-sts.example.net/.well-known/mta-sts.txt", 0) ==
          CURLUE_OK);
  char* host = nullptr;
  REQUIRE(curl_url_get(url.get(), CURLUPART_HOST, &host, 0) == CURLUE_OK);
  handle::CurlString owned_host(host);
  CHECK(std::string(owned_host.get()) == "mta-sts.example.net");

  handle::SslCtx context(SSL_CTX_new(TLS_client_method()));
  CHECK(context);
  handle::AddrInfo none;
  CHECK_FALSE(none);
}

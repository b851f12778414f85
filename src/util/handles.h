#pragma once
// One set of owning handles for the C libraries stsctl links (ldns, libcurl,
// OpenSSL, getaddrinfo): each pointer frees its object with the library's own
// release call, so no file writes its own deleter.

// Standard headers first: clang (and so clang-tidy) misparses libstdc++'s
// __is_signed members when <ldns/ldns.h> comes before them.
#include <cstdlib>
#include <memory>
#include <string>

#include <curl/curl.h>
#include <ldns/ldns.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace stsctl::handle {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* object) const {
    if (object != nullptr) {
      Free(object);
    }
  }
};

namespace detail {
inline void free_ldns_resolver(ldns_resolver* r) { ldns_resolver_deep_free(r); }
inline void free_ldns_rdf(ldns_rdf* r) { ldns_rdf_deep_free(r); }
inline void free_ldns_rr(ldns_rr* r) { ldns_rr_free(r); }
inline void free_ldns_rr_list(ldns_rr_list* r) { ldns_rr_list_deep_free(r); }
inline void free_ldns_pkt(ldns_pkt* p) { ldns_pkt_free(p); }
inline void free_ldns_buffer(ldns_buffer* b) { ldns_buffer_free(b); }
inline void free_curl_easy(CURL* c) { curl_easy_cleanup(c); }
inline void free_curl_multi(CURLM* m) { curl_multi_cleanup(m); }
inline void free_curl_share(CURLSH* s) { curl_share_cleanup(s); }
inline void free_curl_slist(curl_slist* l) { curl_slist_free_all(l); }
inline void free_curl_url(CURLU* u) { curl_url_cleanup(u); }
inline void free_curl_string(char* s) { curl_free(s); }
inline void free_c_string(char* s) { std::free(s); }
inline void free_addrinfo(addrinfo* a) { freeaddrinfo(a); }
inline void free_x509_chain(STACK_OF(X509) * chain) { sk_X509_pop_free(chain, X509_free); }
}  // namespace detail

using LdnsResolver = std::unique_ptr<ldns_resolver, Deleter<ldns_resolver, detail::free_ldns_resolver>>;
using LdnsRdf = std::unique_ptr<ldns_rdf, Deleter<ldns_rdf, detail::free_ldns_rdf>>;
using LdnsRr = std::unique_ptr<ldns_rr, Deleter<ldns_rr, detail::free_ldns_rr>>;
using LdnsRrList = std::unique_ptr<ldns_rr_list, Deleter<ldns_rr_list, detail::free_ldns_rr_list>>;
using LdnsPkt = std::unique_ptr<ldns_pkt, Deleter<ldns_pkt, detail::free_ldns_pkt>>;
using LdnsBuffer = std::unique_ptr<ldns_buffer, Deleter<ldns_buffer, detail::free_ldns_buffer>>;

using CurlEasy = std::unique_ptr<CURL, Deleter<CURL, detail::free_curl_easy>>;
using CurlMulti = std::unique_ptr<CURLM, Deleter<CURLM, detail::free_curl_multi>>;
using CurlShare = std::unique_ptr<CURLSH, Deleter<CURLSH, detail::free_curl_share>>;
using CurlSlist = std::unique_ptr<curl_slist, Deleter<curl_slist, detail::free_curl_slist>>;
using CurlUrl = std::unique_ptr<CURLU, Deleter<CURLU, detail::free_curl_url>>;
/// A string libcurl allocated (curl_easy_escape, curl_url_get).
using CurlString = std::unique_ptr<char, Deleter<char, detail::free_curl_string>>;
/// A string ldns or libc allocated with malloc (ldns_rdf2str, ldns_rr2str).
using CString = std::unique_ptr<char, Deleter<char, detail::free_c_string>>;

using SslCtx = std::unique_ptr<SSL_CTX, Deleter<SSL_CTX, SSL_CTX_free>>;
using Ssl = std::unique_ptr<SSL, Deleter<SSL, SSL_free>>;
using X509Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;
/// A certificate chain with a reference to each certificate.
using X509Chain = std::unique_ptr<STACK_OF(X509), Deleter<STACK_OF(X509), detail::free_x509_chain>>;
using X509Store = std::unique_ptr<X509_STORE, Deleter<X509_STORE, X509_STORE_free>>;
using EvpMdCtx = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;

using AddrInfo = std::unique_ptr<addrinfo, Deleter<addrinfo, detail::free_addrinfo>>;

}  // namespace stsctl::handle

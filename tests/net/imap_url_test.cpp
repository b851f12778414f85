#include <catch2/catch.hpp>

#include "net/imap_client.h"
#include "util/secrets.h"

using namespace stsctl;

namespace {
std::string url_error(const std::string& text) {
  try {
    parse_imap_url(text);
  } catch (const ImapError& error) {
    return error.what();
  }
  return "";
}
}  // namespace

TEST_CASE("parse_imap_url decodes user and mailbox and defaults port and mailbox") {
  ImapUrl url = parse_imap_url("imaps://tls%2Brpt@mail.example.net/Reports%20TLS");
  CHECK(url.user == "tls+rpt");
  CHECK(url.host == "mail.example.net");
  CHECK(url.port == 993);
  CHECK(url.mailbox == "Reports TLS");
  CHECK(url.display() == "imaps://mail.example.net:993/Reports%20TLS");

  ImapUrl plain = parse_imap_url("imaps://reports@127.0.0.1:10993");
  CHECK(plain.port == 10993);
  CHECK(plain.mailbox == "INBOX");
}

TEST_CASE("parse_imap_url refuses what is not imaps://USER@HOST[:PORT]/MAILBOX") {
  CHECK(url_error("imap://reports@127.0.0.1/INBOX") ==
        "'imap://reports@127.0.0.1/INBOX' is not imaps://USER@HOST[:PORT]/MAILBOX (only imaps:// is allowed: "
        "the "
        "password must not travel in clear)");
  CHECK(url_error("imaps://mail.example.net/INBOX") ==
        "'imaps://mail.example.net/INBOX' is not imaps://USER@HOST[:PORT]/MAILBOX (no user)");
  CHECK(url_error("imaps://reports@mail.example.net:99999/INBOX") ==
        "'imaps://reports@mail.example.net:99999/INBOX' is not imaps://USER@HOST[:PORT]/MAILBOX (Port number "
        "was "
        "not a decimal number between 0 and 65535)");
}

TEST_CASE("a password in the IMAP URL is refused without echoing it") {
  std::string error = url_error("imaps://reports:hunter2-secret@mail.example.net/INBOX");
  CHECK(error ==
        "the IMAP URL holds a password, which process lists and logs would show: put it in --password-file "
        "or the "
        "environment variable instead");
  CHECK(scrub("x hunter2-secret y") == "x [redacted] y");
}

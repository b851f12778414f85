#pragma once
// A small IMAP client over TLS (libcurl) for fetching TLS-RPT report mails:
// search unseen messages, fetch one, flag it, move it. One connection for
// the client's lifetime. The password is never part of a URL, a log line or
// an error message.

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace stsctl {

class ImapError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// imaps://USER@HOST[:PORT]/MAILBOX, split.
struct ImapUrl {
  std::string user;  // percent-decoded
  std::string host;
  int port = 993;
  std::string mailbox;  // percent-decoded; "INBOX" when the path is empty
  /// "imaps://HOST:PORT/MAILBOX": safe to print (no user, no password).
  std::string display() const;
};

/// Parses `text`; throws ImapError ("'...' is not imaps://USER@HOST[:PORT]/MAILBOX").
ImapUrl parse_imap_url(const std::string& text);

struct ImapOptions {
  std::string ca_file;                  // trust this CA (PEM); empty: the system store
  std::vector<std::string> connect_to;  // "HOST:PORT:ADDR:PORT", like curl --connect-to
  double timeout_seconds = 30;
};

class ImapClient {
 public:
  /// Copies the password into a buffer wiped on destruction.
  ImapClient(ImapUrl url, const std::string& password, ImapOptions options);
  ~ImapClient();
  ImapClient(const ImapClient&) = delete;
  ImapClient& operator=(const ImapClient&) = delete;

  /// UIDs of the messages in the mailbox without \Seen.
  std::vector<uint64_t> unseen();
  /// The whole message (RFC 5322 bytes). Fetching sets \Seen (RFC 3501 6.4.5).
  std::string fetch(uint64_t uid);
  void set_seen(uint64_t uid, bool seen);
  /// Moves the message to `mailbox` (RFC 6851 MOVE).
  void move(uint64_t uid, const std::string& mailbox);

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace stsctl

#pragma once
// Many DNS messages in flight to one server over a few sockets, instead of
// one round trip at a time: persistent TCP connections with messages
// pipelined (RFC 7766 section 6.2.1.1), or one UDP socket with a retry over
// TCP when an answer is truncated (RFC 7766 section 5). Answers are matched
// to messages by ID. One thread, poll(2); no DNS parsing beyond the header.

#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace stsctl::rfc2136 {

struct PipelineOptions {
  sockaddr_storage address{};
  socklen_t address_length = 0;
  bool udp = false;
  double timeout_seconds = 10;  // per message, from when it is queued
  size_t connections = 4;       // TCP connections (UDP: one socket)
  size_t window = 32;           // messages in flight per connection
};

/// A message to send. `idempotent`: may be sent again on a new connection
/// when the first closes before answering (queries; never an UPDATE).
struct Outgoing {
  std::vector<uint8_t> wire;
  bool idempotent = true;
};

struct Reply {
  enum class Failure {
    None,
    Unreachable,  // could not connect or send (cause: strerror)
    Timeout,      // no answer within timeout_seconds
    Closed,       // the server closed the connection before answering
    NotSent,      // an earlier message found the server down (cause: that failure)
  };
  std::vector<uint8_t> wire;  // the answer when failure is None
  Failure failure = Failure::None;
  std::string cause;
  Failure earlier = Failure::None;  // NotSent: how the earlier message failed
};

/// Sends messages 0..count-1 in order, keeping up to connections x window in
/// flight. start(i, id) builds message i with DNS ID `id` (nullopt: skip i);
/// finish(i, reply) is called once for every message not skipped, as answers
/// come (any order). Once the server is unreachable or a message times out,
/// the messages not yet sent finish as NotSent without being started.
void exchange_pipelined(const PipelineOptions& options, size_t count,
                        const std::function<std::optional<Outgoing>(size_t, uint16_t)>& start,
                        const std::function<void(size_t, Reply&&)>& finish);

}  // namespace stsctl::rfc2136

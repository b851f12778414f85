#include "rfc2136/rfc2136_pipeline.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>
#include <unordered_map>

namespace stsctl::rfc2136 {

namespace {

using Clock = std::chrono::steady_clock;
using Failure = Reply::Failure;

constexpr size_t k_header_size = 12;  // RFC 1035 section 4.1.1
constexpr uint8_t k_tc_bit = 0x02;    // in the third header octet

struct Connection {
  int fd = -1;
  bool tcp = true;
  bool connecting = false;
  std::string out;                              // TCP: length-prefixed messages not yet written
  std::vector<std::vector<uint8_t>> datagrams;  // UDP: messages not yet sent
  std::vector<uint8_t> in;                      // TCP: bytes read, not yet a whole message
  size_t in_flight = 0;
};

struct InFlight {
  size_t index = 0;
  Outgoing message;
  size_t connection = 0;
  Clock::time_point deadline;
  bool resent = false;
};

class Run {
 public:
  Run(const PipelineOptions& options, const std::function<void(size_t, Reply&&)>& finish)
      : m_options(options), m_finish(finish) {
    std::random_device random;
    m_next_id = static_cast<uint16_t>(random());
    // UDP: connection 0 is the UDP socket, 1 the TCP fallback. TCP: all TCP.
    m_connections.resize(options.udp ? 2 : std::max<size_t>(options.connections, 1));
    m_connections[0].tcp = !options.udp;
  }
  ~Run() {
    for (auto& connection : m_connections) {
      if (connection.fd >= 0) {
        close(connection.fd);
      }
    }
  }
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  void go(size_t count, const std::function<std::optional<Outgoing>(size_t, uint16_t)>& start) {
    const size_t capacity =
        std::max<size_t>(m_options.window, 1) * std::max<size_t>(m_options.connections, 1);
    size_t next = 0;
    for (;;) {
      while (!m_down && next < count && m_flight.size() < capacity) {
        uint16_t id = allocate_id();
        size_t index = next++;
        std::optional<Outgoing> message = start(index, id);
        if (!message) {
          continue;
        }
        InFlight entry;
        entry.index = index;
        entry.message = std::move(*message);
        entry.deadline = Clock::now() + timeout();
        entry.connection = m_options.udp ? 0 : least_loaded_tcp();
        m_flight.emplace(id, std::move(entry));
        queue(id);
      }
      while (m_down && next < count) {
        m_finish(next++, Reply{{}, Failure::NotSent, m_down_cause, *m_down});
      }
      if (m_flight.empty() && next >= count) {
        return;
      }
      wait_and_handle();
    }
  }

 private:
  std::chrono::steady_clock::duration timeout() const {
    return std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(m_options.timeout_seconds));
  }

  uint16_t allocate_id() {
    while (m_flight.count(m_next_id)) {
      ++m_next_id;
    }
    return m_next_id++;
  }

  size_t least_loaded_tcp() const {
    size_t best = m_options.udp ? 1 : 0;
    for (size_t i = best; i < m_connections.size(); ++i) {
      if (m_connections[i].in_flight < m_connections[best].in_flight) {
        best = i;
      }
    }
    return best;
  }

  /// Opens connection `c` if needed; false (and its messages failed) when it cannot.
  bool ensure_open(size_t c) {
    Connection& connection = m_connections[c];
    if (connection.fd >= 0) {
      return true;
    }
    int type = connection.tcp ? SOCK_STREAM : SOCK_DGRAM;
    connection.fd = socket(m_options.address.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (connection.fd < 0) {
      fail_connection(c, Failure::Unreachable, std::strerror(errno));
      return false;
    }
    if (connection.tcp) {
      // Small messages written back to back must not wait for each other's ACKs.
      int on = 1;
      setsockopt(connection.fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    }
    if (connect(connection.fd, reinterpret_cast<const sockaddr*>(&m_options.address),
                m_options.address_length) != 0) {
      if (errno != EINPROGRESS) {
        fail_connection(c, Failure::Unreachable, std::strerror(errno));
        return false;
      }
      connection.connecting = true;
    }
    return true;
  }

  /// Queues message `id` on its connection.
  void queue(uint16_t id) {
    InFlight& entry = m_flight.at(id);
    size_t c = entry.connection;
    Connection& connection = m_connections[c];
    ++connection.in_flight;
    if (!ensure_open(c)) {
      return;
    }
    const std::vector<uint8_t>& wire = entry.message.wire;
    if (connection.tcp) {
      // RFC 1035 section 4.2.2: a two-octet length before each message.
      connection.out += static_cast<char>((wire.size() >> 8) & 0xff);
      connection.out += static_cast<char>(wire.size() & 0xff);
      connection.out.append(wire.begin(), wire.end());
    } else {
      connection.datagrams.push_back(wire);
    }
  }

  void mark_down(Failure failure, const std::string& cause) {
    if (!m_down) {
      m_down = failure;
      m_down_cause = cause;
    }
  }

  void finish(std::unordered_map<uint16_t, InFlight>::iterator it, Reply&& reply) {
    size_t index = it->second.index;
    --m_connections[it->second.connection].in_flight;
    m_flight.erase(it);
    m_finish(index, std::move(reply));
  }

  /// Closes connection `c`. Its queries are sent once more on a fresh
  /// connection when it merely closed; everything else fails with `failure`.
  void fail_connection(size_t c, Failure failure, const std::string& cause) {
    Connection& connection = m_connections[c];
    if (connection.fd >= 0) {
      close(connection.fd);
    }
    connection.fd = -1;
    connection.connecting = false;
    connection.out.clear();
    connection.datagrams.clear();
    connection.in.clear();
    if (failure == Failure::Unreachable) {
      mark_down(failure, cause);
    }
    std::vector<uint16_t> again;
    for (auto it = m_flight.begin(); it != m_flight.end();) {
      if (it->second.connection != c) {
        ++it;
      } else if (failure == Failure::Closed && it->second.message.idempotent && !it->second.resent) {
        it->second.resent = true;
        again.push_back(it->first);
        --connection.in_flight;
        ++it;
      } else {
        auto here = it++;
        finish(here, Reply{{}, failure, cause, Failure::None});
      }
    }
    for (uint16_t id : again) {
      queue(id);
    }
  }

  void deliver(size_t c, const uint8_t* data, size_t size) {
    if (size < k_header_size) {
      return;
    }
    uint16_t id = static_cast<uint16_t>((data[0] << 8) | data[1]);
    auto it = m_flight.find(id);
    if (it == m_flight.end() || it->second.connection != c) {
      return;  // late or stray: not ours
    }
    if (!m_connections[c].tcp && (data[2] & k_tc_bit)) {
      // Truncated over UDP: the same message again over TCP (RFC 7766 section 5).
      --m_connections[c].in_flight;
      it->second.connection = 1;
      queue(id);
      return;
    }
    finish(it, Reply{std::vector<uint8_t>(data, data + size), Failure::None, {}, Failure::None});
  }

  void on_readable(size_t c) {
    Connection& connection = m_connections[c];
    uint8_t buffer[65536];
    for (;;) {
      ssize_t got = recv(connection.fd, buffer, sizeof buffer, 0);
      if (got < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
          return;
        }
        // UDP: an ICMP port unreachable shows up here as ECONNREFUSED.
        fail_connection(c, connection.tcp && errno != ECONNREFUSED ? Failure::Closed : Failure::Unreachable,
                        std::strerror(errno));
        return;
      }
      if (!connection.tcp) {
        deliver(c, buffer, static_cast<size_t>(got));
        continue;
      }
      if (got == 0) {
        fail_connection(c, Failure::Closed, "the server closed the connection");
        return;
      }
      connection.in.insert(connection.in.end(), buffer, buffer + got);
      size_t at = 0;
      while (connection.in.size() - at >= 2) {
        size_t length = (static_cast<size_t>(connection.in[at]) << 8) | connection.in[at + 1];
        if (connection.in.size() - at - 2 < length) {
          break;
        }
        deliver(c, connection.in.data() + at + 2, length);
        if (connection.fd < 0) {
          return;  // delivering failed the connection
        }
        at += 2 + length;
      }
      connection.in.erase(connection.in.begin(), connection.in.begin() + static_cast<long>(at));
    }
  }

  void on_writable(size_t c) {
    Connection& connection = m_connections[c];
    if (connection.connecting) {
      int error = 0;
      socklen_t length = sizeof error;
      getsockopt(connection.fd, SOL_SOCKET, SO_ERROR, &error, &length);
      if (error != 0) {
        fail_connection(c, Failure::Unreachable, std::strerror(error));
        return;
      }
      connection.connecting = false;
    }
    while (!connection.tcp && !connection.datagrams.empty()) {
      const auto& datagram = connection.datagrams.front();
      if (send(connection.fd, datagram.data(), datagram.size(), MSG_NOSIGNAL) < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          fail_connection(c, Failure::Unreachable, std::strerror(errno));
        }
        return;
      }
      connection.datagrams.erase(connection.datagrams.begin());
    }
    if (connection.tcp && !connection.out.empty()) {
      ssize_t sent = send(connection.fd, connection.out.data(), connection.out.size(), MSG_NOSIGNAL);
      if (sent < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          fail_connection(c, Failure::Closed, std::strerror(errno));
        }
        return;
      }
      connection.out.erase(0, static_cast<size_t>(sent));
    }
  }

  void wait_and_handle() {
    auto now = Clock::now();
    auto earliest = now + timeout();
    for (const auto& [id, entry] : m_flight) {
      earliest = std::min(earliest, entry.deadline);
    }
    std::vector<pollfd> fds;
    std::vector<size_t> which;
    for (size_t c = 0; c < m_connections.size(); ++c) {
      const Connection& connection = m_connections[c];
      if (connection.fd < 0) {
        continue;
      }
      short events = POLLIN;
      if (connection.connecting || !connection.out.empty() || !connection.datagrams.empty()) {
        events |= POLLOUT;
      }
      fds.push_back(pollfd{connection.fd, events, 0});
      which.push_back(c);
    }
    auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(earliest - now).count() + 1;
    int ready = poll(fds.data(), fds.size(), static_cast<int>(std::max<long>(wait_ms, 0)));
    if (ready < 0 && errno != EINTR) {
      for (size_t c = 0; c < m_connections.size(); ++c) {
        fail_connection(c, Failure::Unreachable, std::strerror(errno));
      }
      return;
    }
    for (size_t k = 0; ready > 0 && k < fds.size(); ++k) {
      size_t c = which[k];
      if (m_connections[c].fd != fds[k].fd) {
        continue;  // closed (and maybe reopened) while handling another
      }
      if (fds[k].revents & (POLLOUT | POLLERR | POLLHUP)) {
        on_writable(c);
      }
      if (m_connections[c].fd == fds[k].fd && !m_connections[c].connecting &&
          (fds[k].revents & (POLLIN | POLLERR | POLLHUP))) {
        on_readable(c);
      }
    }
    now = Clock::now();
    for (auto it = m_flight.begin(); it != m_flight.end();) {
      if (it->second.deadline > now) {
        ++it;
        continue;
      }
      std::string cause = "no answer within the timeout";
      mark_down(Failure::Timeout, cause);
      auto here = it++;
      finish(here, Reply{{}, Failure::Timeout, cause, Failure::None});
    }
  }

  PipelineOptions m_options;
  const std::function<void(size_t, Reply&&)>& m_finish;
  std::vector<Connection> m_connections;
  std::unordered_map<uint16_t, InFlight> m_flight;
  uint16_t m_next_id = 0;
  std::optional<Failure> m_down;
  std::string m_down_cause;
};

}  // namespace

void exchange_pipelined(const PipelineOptions& options, size_t count,
                        const std::function<std::optional<Outgoing>(size_t, uint16_t)>& start,
                        const std::function<void(size_t, Reply&&)>& finish) {
  Run run(options, finish);
  run.go(count, start);
}

}  // namespace stsctl::rfc2136

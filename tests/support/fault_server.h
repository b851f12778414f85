#pragma once
// Faults a real server cannot produce on demand, on 127.0.0.1:<free port>:
//  - Hang: accepts connections, reads, and never answers;
//  - Echo: answers every HTTP request with a fixed status and the request
//    itself (request line, headers, body) as the body, as a misconfigured
//    proxy or WAF does, to prove secrets are scrubbed from what is printed.
// Runs on its own thread; stopped on destruction.

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace stsctl::test {

class FaultServer {
 public:
  enum class Mode { Hang, Echo };

  explicit FaultServer(Mode mode, int echo_status = 500);
  ~FaultServer();
  FaultServer(const FaultServer&) = delete;
  FaultServer& operator=(const FaultServer&) = delete;

  int port() const { return m_port; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port); }
  /// Connections accepted so far.
  int connections() const { return m_connections.load(); }

 private:
  void serve();
  void handle(int fd);

  Mode m_mode;
  int m_status;
  int m_listen_fd = -1;
  int m_port = 0;
  std::atomic<bool> m_stop{false};
  std::atomic<int> m_connections{0};
  std::thread m_thread;
  std::vector<std::thread> m_handlers;
  std::vector<int> m_open_fds;
};

}  // namespace stsctl::test

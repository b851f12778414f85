#include "support/fault_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <stdexcept>

namespace stsctl::test {

namespace {

std::mutex g_fds_mutex;

std::string read_request(int fd) {
  std::string request;
  char buffer[4096];
  size_t body_length = 0;
  size_t header_end = std::string::npos;
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 2000) <= 0) {
      return request;
    }
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) {
      return request;
    }
    request.append(buffer, static_cast<size_t>(n));
    if (header_end == std::string::npos) {
      header_end = request.find("\r\n\r\n");
      if (header_end != std::string::npos) {
        std::string headers = request.substr(0, header_end);
        for (auto& c : headers) {
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        size_t at = headers.find("content-length:");
        if (at != std::string::npos) {
          body_length = std::stoul(headers.substr(at + 15));
        }
      }
    }
    if (header_end != std::string::npos && request.size() >= header_end + 4 + body_length) {
      return request;
    }
  }
}

}  // namespace

FaultServer::FaultServer(Mode mode, int echo_status) : m_mode(mode), m_status(echo_status) {
  m_listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(m_listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(m_listen_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(m_listen_fd, 64) != 0 ||
      ::getsockname(m_listen_fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::runtime_error(std::string("fault server: ") + std::strerror(errno));
  }
  m_port = ntohs(address.sin_port);
  m_thread = std::thread([this] { serve(); });
}

FaultServer::~FaultServer() {
  m_stop = true;
  ::shutdown(m_listen_fd, SHUT_RDWR);
  m_thread.join();
  {
    std::lock_guard<std::mutex> lock(g_fds_mutex);
    for (int fd : m_open_fds) {
      ::shutdown(fd, SHUT_RDWR);
    }
  }
  for (auto& handler : m_handlers) {
    handler.join();
  }
  for (int fd : m_open_fds) {
    ::close(fd);
  }
  ::close(m_listen_fd);
}

void FaultServer::serve() {
  while (!m_stop) {
    pollfd p{m_listen_fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) {
      continue;
    }
    int fd = ::accept4(m_listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      continue;
    }
    ++m_connections;
    {
      std::lock_guard<std::mutex> lock(g_fds_mutex);
      m_open_fds.push_back(fd);
    }
    m_handlers.emplace_back([this, fd] { handle(fd); });
  }
}

void FaultServer::handle(int fd) {
  if (m_mode == Mode::Hang) {
    char buffer[4096];
    while (!m_stop && ::read(fd, buffer, sizeof buffer) > 0) {
    }
    return;  // closed in the destructor
  }
  while (!m_stop) {
    std::string request = read_request(fd);
    if (request.empty()) {
      return;
    }
    std::string response =
        "HTTP/1.1 " + std::to_string(m_status) +
        " Echo\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(request.size()) +
        "\r\n\r\n" + request;
    if (::write(fd, response.data(), response.size()) < 0) {
      return;
    }
  }
}

}  // namespace stsctl::test

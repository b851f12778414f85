// The file system's own floor for bench/render: creates the same number of
// files, in the same layout, as `render zone -o` (flat) or `render policy -o`
// (tree), with nothing else: no config, no state, no rendering, no atomic
// replace. The same number of threads as stsctl's workers.
// Usage: stsctl_fs_floor flat|tree COUNT DIR   (prints seconds)

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

const std::string k_body(400, 'x');  // about a zone fragment's size

bool write_new(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    return false;
  }
  bool ok = ::write(fd, k_body.data(), k_body.size()) == static_cast<ssize_t>(k_body.size());
  return ::close(fd) == 0 && ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 || (std::strcmp(argv[1], "flat") != 0 && std::strcmp(argv[1], "tree") != 0)) {
    std::fprintf(stderr, "usage: %s flat|tree COUNT DIR\n", argv[0]);
    return 2;
  }
  const bool tree = std::strcmp(argv[1], "tree") == 0;
  const long count = std::atol(argv[2]);
  const std::string root = argv[3];
  if (::mkdir(root.c_str(), 0755) != 0) {
    std::perror(root.c_str());
    return 1;
  }
  unsigned workers = std::clamp(std::thread::hardware_concurrency(), 1U, 4U);
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  std::atomic<bool> failed{false};
  for (unsigned t = 0; t < workers; ++t) {
    threads.emplace_back([&, t] {
      for (long i = t; i < count; i += workers) {
        std::string name = "d" + std::to_string(i) + ".example";
        bool ok = false;
        if (tree) {
          std::string host = root + "/mta-sts." + name;
          ok = ::mkdir(host.c_str(), 0755) == 0 && ::mkdir((host + "/.well-known").c_str(), 0755) == 0 &&
               write_new(host + "/.well-known/mta-sts.txt");
        } else {
          ok = write_new(root + "/" + name + ".zone");
        }
        if (!ok) {
          failed = true;
          return;
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  if (failed) {
    std::perror("stsctl_fs_floor");
    return 1;
  }
  std::printf("%.2f\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return 0;
}

#pragma once
// A throw-away Knot DNS (`knotd -c knot.conf`, foreground) for tests: zone
// files, database and the TSIG keys under a TempDir, listening on 127.0.0.1
// only (a free port), stopped by PID. Same zones and keys as NamedServer.

#include "support/named_server.h"

#include <memory>
#include <string>
#include <vector>

namespace stsctl::test {

class KnotServer : public UpdateServer {
 public:
  /// Writes knot.conf and the zone files, starts knotd and waits until every
  /// zone answers SOA. Throws std::runtime_error (with knotd's log) on failure.
  explicit KnotServer(const std::vector<ZoneSpec>& zones);
  ~KnotServer() override;
  KnotServer(const KnotServer&) = delete;
  KnotServer& operator=(const KnotServer&) = delete;

  std::string kind() const override { return "Knot"; }
  std::string log() const override;
  void stop() override;

 private:
  TempDir m_dir{"knot"};
  std::unique_ptr<ChildProcess> m_process;
};

}  // namespace stsctl::test

#include "util/secrets.h"

#include "util/secret.h"
#include "util/text.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <vector>

namespace stsctl {

namespace {

class Registry {
 public:
  ~Registry() { clear(); }

  void add(std::string_view value) {
    std::lock_guard<std::mutex> lock(m_mutex);
    if (std::find(m_values.begin(), m_values.end(), value) != m_values.end()) {
      return;
    }
    m_values.emplace_back(value);
    // Longest first, so a secret that contains another is replaced whole.
    std::sort(m_values.begin(), m_values.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    m_any.store(true);
  }

  std::string scrub(std::string_view text) {
    std::string out(text);
    if (!m_any.load()) {
      return out;
    }
    std::lock_guard<std::mutex> lock(m_mutex);
    for (const std::string& value : m_values) {
      for (size_t at = out.find(value); at != std::string::npos; at = out.find(value, at)) {
        out.replace(at, value.size(), k_redacted);
        at += std::char_traits<char>::length(k_redacted);
      }
    }
    return out;
  }

  void clear() {
    std::lock_guard<std::mutex> lock(m_mutex);
    for (std::string& value : m_values) {
      wipe(value);
    }
    m_values.clear();
    m_any.store(false);
  }

 private:
  std::mutex m_mutex;
  std::vector<std::string> m_values;
  std::atomic<bool> m_any{false};
};

Registry& registry() {
  static Registry instance;
  return instance;
}

}  // namespace

void register_secret(std::string_view value) {
  value = trim(value);
  if (value.size() >= 4) {
    registry().add(value);
  }
}

std::string scrub(std::string_view text) { return registry().scrub(text); }

void clear_secrets() { registry().clear(); }

}  // namespace stsctl

#include "util/secret.h"

#include <openssl/crypto.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "util/secrets.h"
#include "util/text.h"

namespace stsctl {

void wipe(std::string& text) {
  if (!text.empty()) {
    OPENSSL_cleanse(&text[0], text.size());
  }
  text.clear();
}

Secret::Secret(std::string&& value) : m_value(std::move(value)) { wipe(value); }

Secret::~Secret() { wipe(m_value); }

Secret::Secret(Secret&& other) noexcept : m_value(std::move(other.m_value)) { wipe(other.m_value); }

Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    wipe(m_value);
    m_value.swap(other.m_value);
    wipe(other.m_value);
  }
  return *this;
}

Secret read_secret(const SecretSource& source, std::string* error) {
  std::string buffer;
  if (!source.file.empty()) {
    std::ifstream in(source.file, std::ios::binary);
    if (!in) {
      *error = "cannot read file '" + source.file + "' (" + std::strerror(errno) + ")";
      return Secret();
    }
    buffer.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  } else if (!source.env.empty()) {
    const char* value = std::getenv(source.env.c_str());
    if (value == nullptr) {
      *error = "environment variable '" + source.env + "' is not set";
      return Secret();
    }
    buffer = value;
  } else {
    *error = "no secret source configured";
    return Secret();
  }
  std::string_view trimmed = trim(buffer);
  std::string value(trimmed);
  wipe(buffer);
  if (value.empty()) {
    *error = source.file.empty() ? "environment variable '" + source.env + "' is empty"
                                 : "file '" + source.file + "' is empty";
    return Secret();
  }
  register_secret(value);
  return Secret(std::move(value));
}

}  // namespace stsctl

#include "report/report.h"

#include "util/text.h"

#include <zlib.h>

#include <algorithm>
#include <stdexcept>

namespace stsctl {

bool is_gzip(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

namespace {

/// One inflate state per thread, reset between inputs: inflateInit2 and
/// inflateEnd allocate and free ~40 KiB each time, once per report file.
class Inflater {
 public:
  Inflater() { m_ready = inflateInit2(&m_stream, 16 + MAX_WBITS) == Z_OK; }  // gzip framing (RFC 1952)
  ~Inflater() {
    if (m_ready) {
      inflateEnd(&m_stream);
    }
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  /// The stream, reset for a new input; nullptr when zlib could not start.
  z_stream* fresh() {
    if (!m_ready || inflateReset(&m_stream) != Z_OK) {
      return nullptr;
    }
    return &m_stream;
  }

 private:
  z_stream m_stream{};
  bool m_ready = false;
};

}  // namespace

size_t gunzip_into(std::string_view bytes, std::string& out, size_t max_output) {
  thread_local Inflater inflater;
  z_stream* stream_pointer = inflater.fresh();
  if (stream_pointer == nullptr) {
    throw std::runtime_error("cannot start gzip decompression");
  }
  z_stream& stream = *stream_pointer;
  // Only grown: a reused buffer keeps its bytes instead of zeroing them again.
  const size_t first = std::min<size_t>(std::max<size_t>(bytes.size() * 8, 4096), max_output + 1);
  if (out.size() < first) {
    out.resize(first);
  }
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  stream.avail_in = static_cast<uInt>(bytes.size());
  size_t produced = 0;
  int code = Z_OK;
  std::string error;
  while (true) {
    const size_t room = std::min(out.size(), max_output + 1);
    if (produced == room) {
      if (room > max_output) {
        error = "more than " + std::to_string(max_output) + " bytes once decompressed";
        break;
      }
      out.resize(std::min(room * 2, max_output + 1));
    }
    const size_t limit = std::min(out.size(), max_output + 1);
    stream.next_out = reinterpret_cast<Bytef*>(&out[produced]);
    stream.avail_out = static_cast<uInt>(limit - produced);
    code = inflate(&stream, Z_NO_FLUSH);
    produced = limit - stream.avail_out;
    if (code == Z_STREAM_END) {
      // Another gzip member may follow; a trailing CRLF or padding may too.
      std::string_view rest(reinterpret_cast<const char*>(stream.next_in), stream.avail_in);
      if (is_gzip(rest)) {
        inflateReset(&stream);
        continue;
      }
      if (trim(rest).empty() || rest.find_first_not_of('\0') == std::string_view::npos) {
        break;
      }
      error = "corrupt gzip data (unexpected bytes after the end)";
      break;
    }
    if (code == Z_BUF_ERROR && stream.avail_in == 0) {
      error = "truncated gzip data";
      break;
    }
    if (code != Z_OK && code != Z_BUF_ERROR) {
      error = std::string("corrupt gzip data (") +
              (stream.msg ? stream.msg : "zlib error " + std::to_string(code)) + ")";
      break;
    }
    if (stream.avail_in == 0 && stream.avail_out != 0) {
      error = "truncated gzip data";
      break;
    }
  }
  if (produced > max_output && error.empty()) {
    error = "more than " + std::to_string(max_output) + " bytes once decompressed";
  }
  if (!error.empty()) {
    throw std::runtime_error(error);
  }
  return produced;
}

std::string gunzip(std::string_view bytes, size_t max_output) {
  std::string out;
  out.resize(gunzip_into(bytes, out, max_output));
  return out;
}

std::string normalise_policy_text(const std::vector<std::string>& lines) {
  std::vector<std::string> normal;
  for (const auto& raw : lines) {
    std::string line(trim(raw));
    if (line.empty()) {
      continue;
    }
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string_view whole(line);
      line = ascii_lower(trim(whole.substr(0, colon))) + ": " + std::string(trim(whole.substr(colon + 1)));
    }
    if (line.rfind("mx: ", 0) == 0) {
      line = ascii_lower(line);
    }
    normal.push_back(line);
  }
  std::sort(normal.begin(), normal.end());
  std::string out;
  for (const auto& line : normal) {
    out += (out.empty() ? "" : "\n") + line;
  }
  return out;
}

std::string normalise_policy_text(std::string_view text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    lines.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return normalise_policy_text(lines);
}

}  // namespace stsctl

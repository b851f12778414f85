#include "report/extract.h"

#include "util/text.h"

#include <gmime/gmime.h>

#include <cctype>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace stsctl {

namespace {

void init_gmime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

struct GObjectUnref {
  void operator()(void* object) const {
    if (object != nullptr) {
      g_object_unref(object);
    }
  }
};
template <typename T>
using GPtr = std::unique_ptr<T, GObjectUnref>;

struct GFree {
  void operator()(char* text) const { g_free(text); }
};

std::string_view skip_space(std::string_view bytes) {
  size_t i = 0;
  // A UTF-8 byte order mark, then whitespace.
  if (bytes.substr(0, 3) == "\xEF\xBB\xBF") {
    i = 3;
  }
  while (i < bytes.size() && std::isspace(static_cast<unsigned char>(bytes[i]))) {
    ++i;
  }
  return bytes.substr(i);
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// RFC 8460 section 5.3 names application/tlsrpt+gzip and +json; senders
/// also use plain gzip/json types or octet-stream with a report file name.
bool is_report_part(const std::string& mime_type, const std::string& filename) {
  if (mime_type == "application/tlsrpt+gzip" || mime_type == "application/tlsrpt+json" ||
      mime_type == "application/gzip" || mime_type == "application/x-gzip" ||
      mime_type == "application/json") {
    return true;
  }
  return (mime_type == "application/octet-stream" || mime_type == "application/tlsrpt") &&
         (ends_with(filename, ".json") || ends_with(filename, ".gz") || ends_with(filename, ".json.gz"));
}

struct Walk {
  std::string prefix;  // "message 2, " in an mbox
  std::vector<ExtractedReport>* out = nullptr;
  int index = 0;
};

void visit_part(GMimeObject* /*parent*/, GMimeObject* object, gpointer data) {
  auto* walk = static_cast<Walk*>(data);
  ++walk->index;
  if (!GMIME_IS_PART(object)) {
    return;
  }
  GMimeContentType* type = g_mime_object_get_content_type(object);
  std::unique_ptr<char, GFree> mime_type(g_mime_content_type_get_mime_type(type));
  std::string mime = ascii_lower(mime_type ? mime_type.get() : "");
  GMimePart* part = GMIME_PART(object);
  const char* name = g_mime_part_get_filename(part);
  std::string filename = name ? name : "";
  if (!is_report_part(mime, filename)) {
    return;
  }
  ExtractedReport found;
  found.where = walk->prefix + "part " + std::to_string(walk->index) + " (" + mime +
                (filename.empty() ? "" : ", " + filename) + ")";
  GMimeDataWrapper* content = g_mime_part_get_content(part);
  if (content == nullptr) {
    found.error = "empty MIME part";
    walk->out->push_back(std::move(found));
    return;
  }
  GPtr<GMimeStream> stream(g_mime_stream_mem_new());
  // Decodes the Content-Transfer-Encoding (base64, quoted-printable, ...).
  if (g_mime_data_wrapper_write_to_stream(content, stream.get()) < 0) {
    found.error = "cannot decode the MIME part";
    walk->out->push_back(std::move(found));
    return;
  }
  GByteArray* array = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream.get()));
  std::string_view bytes(reinterpret_cast<const char*>(array->data), array->len);
  ParsedReport parsed = parse_report_bytes(bytes);
  found.report = std::move(parsed.report);
  found.error = std::move(parsed.error);
  walk->out->push_back(std::move(found));
}

void scan_message(GMimeMessage* message, const std::string& prefix, std::vector<ExtractedReport>& out) {
  ExtractedReport none;
  none.where = prefix.empty() ? "" : prefix.substr(0, prefix.size() - 2);
  GMimeHeaderList* headers = g_mime_object_get_header_list(GMIME_OBJECT(message));
  if (headers == nullptr || g_mime_header_list_get_count(headers) == 0) {
    none.error = "not a TLS-RPT report (neither JSON, gzip nor a mail message)";
    out.push_back(std::move(none));
    return;
  }
  size_t before = out.size();
  Walk walk{prefix, &out, 0};
  g_mime_message_foreach(message, visit_part, &walk);
  if (out.size() == before) {
    // Name the message so an operator can find it.
    const char* id = g_mime_message_get_message_id(message);
    const char* subject = g_mime_message_get_subject(message);
    std::string which =
        id ? " <" + std::string(id) + ">" : (subject ? " \"" + std::string(subject) + "\"" : "");
    none.error =
        "mail" + which + " has no TLS-RPT report part (application/tlsrpt+gzip or application/tlsrpt+json)";
    out.push_back(std::move(none));
  }
}

std::vector<ExtractedReport> parse_mail(std::string_view bytes, bool mbox) {
  init_gmime();
  std::vector<ExtractedReport> out;
  GPtr<GMimeStream> stream(
      g_mime_stream_mem_new_with_buffer(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  g_mime_parser_set_format(parser.get(), mbox ? GMIME_FORMAT_MBOX : GMIME_FORMAT_MESSAGE);
  int number = 0;
  while (!g_mime_parser_eos(parser.get())) {
    ++number;
    GPtr<GMimeMessage> message(g_mime_parser_construct_message(parser.get(), nullptr));
    std::string prefix = mbox ? "message " + std::to_string(number) + ", " : "";
    if (!message) {
      ExtractedReport bad;
      bad.where = mbox ? "message " + std::to_string(number) : "";
      bad.error = mbox ? "not a mail message (RFC 5322)"
                       : "not a TLS-RPT report (neither JSON, gzip nor a mail message)";
      out.push_back(std::move(bad));
      break;
    }
    scan_message(message.get(), prefix, out);
    if (!mbox) {
      break;
    }
  }
  return out;
}

}  // namespace

ParsedReport parse_report_bytes(std::string_view bytes) {
  if (is_gzip(bytes)) {
    // One buffer per thread: ingest decompresses thousands of reports.
    thread_local std::string json;
    size_t size = 0;
    try {
      size = gunzip_into(bytes, json);
    } catch (const std::runtime_error& error) {
      ParsedReport failed;
      failed.error = error.what();
      return failed;
    }
    return parse_report_json(std::string_view(json.data(), size));
  }
  return parse_report_json(bytes);
}

std::vector<ExtractedReport> extract_reports(std::string_view bytes) {
  std::string_view start = skip_space(bytes);
  // Built in place: a braced list would copy every report.
  std::vector<ExtractedReport> out(1);
  if (start.empty()) {
    out[0].error = "empty file";
    return out;
  }
  if (is_gzip(bytes) || start.front() == '{' || start.front() == '[') {
    ParsedReport parsed = parse_report_bytes(is_gzip(bytes) ? bytes : start);
    out[0].report = std::move(parsed.report);
    out[0].error = std::move(parsed.error);
    return out;
  }
  // mbox: "From " separator lines (RFC 4155).
  return parse_mail(bytes, bytes.substr(0, 5) == "From ");
}

}  // namespace stsctl

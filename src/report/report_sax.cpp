// The SAX reader behind report_fields.h: every event lands in the member
// of the report it belongs to, or is skipped; a free-text member sent as
// other JSON is built whole (it is kept as JSON text).
#include "report/report_fields.h"

#include <memory>
#include <utility>

namespace stsctl::report_fields {

const char* type_name(Kind kind) {
  switch (kind) {
    case Kind::Null:
      return "null";
    case Kind::Boolean:
      return "boolean";
    case Kind::Number:
      return "number";
    case Kind::String:
      return "string";
    case Kind::Array:
      return "array";
    case Kind::Object:
      return "object";
    case Kind::Absent:
      break;
  }
  return "nothing";
}

namespace {

using Json = nlohmann::json;

/// Where the next value goes.
enum class Slot {
  Skip,
  Scalar,       // a Field whose kind alone matters when it is not a scalar
  AnyText,      // a Field kept as JSON text when it is not a string
  DateRange,    // root.date-range
  Policies,     // root.policies
  PolicyEntry,  // an element of policies
  Policy,       // policies[i].policy
  Summary,      // policies[i].summary
  Details,      // policies[i].failure-details
  Detail,       // an element of failure-details
  List,         // mx-host, policy-string
  ListItem,     // an element of those
  Root,
};

/// The SAX events of one report into a RawReport.
class Reader {
 public:
  explicit Reader(RawReport& out) : m_out(out) {}

  bool null() { return scalar(Kind::Null, Json()); }
  bool boolean(bool value) { return scalar(Kind::Boolean, Json(value)); }
  bool number_integer(Json::number_integer_t value) { return scalar(Kind::Number, Json(value)); }
  bool number_unsigned(Json::number_unsigned_t value) { return scalar(Kind::Number, Json(value)); }
  bool number_float(Json::number_float_t value, const std::string& /*text*/) {
    return scalar(Kind::Number, Json(value));
  }
  bool binary(Json::binary_t& /*value*/) { return true; }  // not produced by JSON text
  bool string(std::string& value) {
    if (m_capture) {
      return m_capture->string(value);
    }
    auto [slot, field] = next();
    if (slot == Slot::Scalar || slot == Slot::AnyText) {
      field->kind = Kind::String;
      field->text.swap(value);  // the lexer clears its buffer before the next token
    } else if (slot == Slot::List) {
      StringList& list = *m_list;
      list = StringList{};
      list.field.kind = Kind::String;
      list.field.text.swap(value);
    } else if (slot == Slot::ListItem) {
      add_item(Kind::String, &value);
    } else {
      mark(slot, Kind::String);
    }
    return true;
  }

  bool start_object(std::size_t /*size*/) { return open(Kind::Object); }
  bool start_array(std::size_t /*size*/) { return open(Kind::Array); }
  bool end_object() { return close(true); }
  bool end_array() { return close(false); }

  bool key(std::string& name) {
    if (m_capture) {
      return m_capture->key(name);
    }
    Frame& frame = m_frames.back();
    frame.field = nullptr;
    frame.slot = Slot::Skip;
    switch (frame.context) {
      case Slot::Root:
        if (name == "organization-name") {
          frame.set(Slot::Scalar, &m_out.organization_name);
        } else if (name == "report-id") {
          frame.set(Slot::Scalar, &m_out.report_id);
        } else if (name == "contact-info") {
          frame.set(Slot::AnyText, &m_out.contact_info);
        } else if (name == "date-range") {
          frame.slot = Slot::DateRange;
        } else if (name == "policies") {
          frame.slot = Slot::Policies;
        }
        break;
      case Slot::DateRange:
        if (name == "start-datetime") {
          frame.set(Slot::Scalar, &m_out.start);
        } else if (name == "end-datetime") {
          frame.set(Slot::Scalar, &m_out.end);
        }
        break;
      case Slot::PolicyEntry:
        if (name == "policy") {
          frame.slot = Slot::Policy;
        } else if (name == "summary") {
          frame.slot = Slot::Summary;
        } else if (name == "failure-details") {
          frame.slot = Slot::Details;
        }
        break;
      case Slot::Policy: {
        RawPolicy& policy = m_out.policies.back();
        if (name == "policy-type") {
          frame.set(Slot::Scalar, &policy.policy_type);
        } else if (name == "policy-domain") {
          frame.set(Slot::Scalar, &policy.policy_domain);
        } else if (name == "policy-string") {
          frame.slot = Slot::List;
          m_list = &policy.policy_string;
        } else if (name == "mx-host") {
          frame.slot = Slot::List;
          m_list = &policy.mx_host;
        }
        break;
      }
      case Slot::Summary: {
        RawPolicy& policy = m_out.policies.back();
        if (name == "total-successful-session-count") {
          frame.set(Slot::Scalar, &policy.successful);
        } else if (name == "total-failure-session-count") {
          frame.set(Slot::Scalar, &policy.failed);
        }
        break;
      }
      case Slot::Detail: {
        RawDetail& detail = m_out.policies.back().details.back();
        if (name == "result-type") {
          frame.set(Slot::Scalar, &detail.result_type);
        } else if (name == "sending-mta-ip") {
          frame.set(Slot::Scalar, &detail.sending_mta_ip);
        } else if (name == "receiving-mx-hostname") {
          frame.set(Slot::Scalar, &detail.receiving_mx_hostname);
        } else if (name == "receiving-ip") {
          frame.set(Slot::Scalar, &detail.receiving_ip);
        } else if (name == "failure-reason-code") {
          frame.set(Slot::AnyText, &detail.failure_reason_code);
        } else if (name == "additional-information") {
          frame.set(Slot::AnyText, &detail.additional_information);
        } else if (name == "failed-session-count") {
          frame.set(Slot::Scalar, &detail.failed_session_count);
        }
        break;
      }
      default:
        break;
    }
    return true;
  }

  template <class Exception>
  bool parse_error(std::size_t /*position*/, const std::string& /*token*/, const Exception& /*error*/) {
    return false;
  }

 private:
  struct Frame {
    Slot context;            // what this object or array is
    Slot slot = Slot::Skip;  // where its next member goes (objects)
    Field* field = nullptr;
    void set(Slot where, Field* target) {
      slot = where;
      field = target;
    }
  };

  /// Where the next value goes, and its Field for Scalar and AnyText.
  std::pair<Slot, Field*> next() {
    if (m_frames.empty()) {
      return {Slot::Root, nullptr};
    }
    Frame& frame = m_frames.back();
    switch (frame.context) {
      case Slot::Policies:
        return {Slot::PolicyEntry, nullptr};
      case Slot::Details:
        return {Slot::Detail, nullptr};
      case Slot::List:
        return {Slot::ListItem, nullptr};
      case Slot::Root:
      case Slot::DateRange:
      case Slot::PolicyEntry:
      case Slot::Policy:
      case Slot::Summary:
      case Slot::Detail:
        return {frame.slot, frame.field};
      default:
        return {Slot::Skip, nullptr};
    }
  }

  void add_item(Kind kind, std::string* text) {
    StringList& list = *m_list;
    if (list.bad_kind == Kind::Absent) {
      if (kind == Kind::String) {
        list.items.emplace_back(std::move(*text));
      } else {
        list.bad_kind = kind;
        list.bad_index = list.count;
      }
    }
    ++list.count;
  }

  /// A value that is not kept here: its kind, at the place it stands.
  void mark(Slot slot, Kind kind) {
    switch (slot) {
      case Slot::Root:
        m_out.kind = kind;
        break;
      case Slot::DateRange:
        m_out.range_kind = kind;
        break;
      case Slot::Policies:
        m_out.policies_kind = kind;
        m_out.policies.clear();
        break;
      case Slot::PolicyEntry:
        m_out.policies.emplace_back().kind = kind;
        break;
      case Slot::Policy:
        m_out.policies.back().policy_kind = kind;
        break;
      case Slot::Summary:
        m_out.policies.back().summary_kind = kind;
        break;
      case Slot::Details:
        m_out.policies.back().details_kind = kind;
        m_out.policies.back().details.clear();
        break;
      case Slot::Detail:
        m_out.policies.back().details.emplace_back().kind = kind;
        break;
      case Slot::List:
        *m_list = StringList{};
        m_list->field.kind = kind;
        break;
      case Slot::ListItem:
        add_item(kind, nullptr);
        break;
      default:
        break;
    }
  }

  bool scalar(Kind kind, Json value) {
    if (m_capture) {
      return forward(std::move(value));
    }
    auto [slot, field] = next();
    if (slot == Slot::Scalar || slot == Slot::AnyText) {
      field->kind = kind;
      field->value = std::move(value);
    } else {
      mark(slot, kind);
    }
    return true;
  }

  bool forward(Json value) {
    switch (value.type()) {
      case Json::value_t::boolean:
        return m_capture->boolean(value.get<bool>());
      case Json::value_t::number_integer:
        return m_capture->number_integer(value.get<Json::number_integer_t>());
      case Json::value_t::number_unsigned:
        return m_capture->number_unsigned(value.get<Json::number_unsigned_t>());
      case Json::value_t::number_float:
        return m_capture->number_float(value.get<double>(), "");
      default:
        return m_capture->null();
    }
  }

  bool open(Kind kind) {
    if (m_capture) {
      ++m_capture_depth;
      return kind == Kind::Object ? m_capture->start_object(std::size_t(-1))
                                  : m_capture->start_array(std::size_t(-1));
    }
    auto [slot, field] = next();
    Slot context = Slot::Skip;
    if (slot == Slot::AnyText) {
      // Kept as JSON text: the value is built whole.
      field->kind = kind;
      field->value = Json();
      m_capture = std::make_unique<nlohmann::detail::json_sax_dom_parser<Json>>(field->value, false);
      m_capture_depth = 1;
      m_frames.push_back(Frame{Slot::Skip});
      return kind == Kind::Object ? m_capture->start_object(std::size_t(-1))
                                  : m_capture->start_array(std::size_t(-1));
    }
    if (slot == Slot::Scalar) {
      field->kind = kind;
    } else {
      mark(slot, kind);
      const bool object = kind == Kind::Object;
      switch (slot) {
        case Slot::Root:
          context = object ? Slot::Root : Slot::Skip;
          break;
        case Slot::DateRange:
          if (object) {
            context = Slot::DateRange;
            m_out.start = Field{};
            m_out.end = Field{};
          }
          break;
        case Slot::Policies:
          context = object ? Slot::Skip : Slot::Policies;
          break;
        case Slot::PolicyEntry:
          context = object ? Slot::PolicyEntry : Slot::Skip;
          break;
        case Slot::Policy:
          if (object) {
            RawPolicy& policy = m_out.policies.back();
            context = Slot::Policy;
            policy.policy_type = Field{};
            policy.policy_domain = Field{};
            policy.policy_string = StringList{};
            policy.mx_host = StringList{};
          }
          break;
        case Slot::Summary:
          if (object) {
            RawPolicy& policy = m_out.policies.back();
            context = Slot::Summary;
            policy.successful = Field{};
            policy.failed = Field{};
          }
          break;
        case Slot::Details:
          context = object ? Slot::Skip : Slot::Details;
          break;
        case Slot::Detail:
          context = object ? Slot::Detail : Slot::Skip;
          break;
        case Slot::List:
          context = object ? Slot::Skip : Slot::List;
          break;
        default:
          break;
      }
    }
    m_frames.push_back(Frame{context});
    return true;
  }

  bool close(bool object) {
    if (m_capture) {
      bool ok = object ? m_capture->end_object() : m_capture->end_array();
      if (--m_capture_depth == 0) {
        m_capture.reset();
        m_frames.pop_back();
      }
      return ok;
    }
    m_frames.pop_back();
    return true;
  }

  RawReport& m_out;
  std::vector<Frame> m_frames;
  StringList* m_list = nullptr;
  std::unique_ptr<nlohmann::detail::json_sax_dom_parser<Json>> m_capture;
  int m_capture_depth = 0;
};

}  // namespace

bool read_report_fields(std::string_view text, RawReport& out) {
  Reader reader(out);
  return Json::sax_parse(text.begin(), text.end(), &reader);
}

}  // namespace stsctl::report_fields

#include "config/yaml_tree.h"

#include <yaml.h>

#include <algorithm>
#include <cstdint>
#include <unordered_map>

namespace stsctl::yaml {

ParseError::ParseError(const Mark& error_mark, const std::string& message)
    : std::runtime_error(message), mark(error_mark), msg(message) {}

namespace {

const std::string k_empty;

struct ParserDeleter {
  void operator()(yaml_parser_t* parser) const {
    yaml_parser_delete(parser);
    delete parser;
  }
};
using ParserPtr = std::unique_ptr<yaml_parser_t, ParserDeleter>;

struct EventDeleter {
  void operator()(yaml_event_t* event) const { yaml_event_delete(event); }
};
using EventGuard = std::unique_ptr<yaml_event_t, EventDeleter>;

Mark to_mark(const yaml_mark_t& mark) {
  return Mark{static_cast<int>(mark.index), static_cast<int>(mark.line), static_cast<int>(mark.column)};
}

// Reader errors (bad encoding) carry only a byte offset.
Mark mark_at_offset(const std::string& text, std::size_t offset) {
  offset = std::min(offset, text.size());
  Mark mark{static_cast<int>(offset), 0, 0};
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++mark.line;
      mark.column = 0;
    } else {
      ++mark.column;
    }
  }
  return mark;
}

[[noreturn]] void throw_parser_error(const yaml_parser_t& parser, const std::string& text) {
  std::string problem = parser.problem != nullptr ? parser.problem : "unknown error";
  if (parser.error == YAML_READER_ERROR) {
    throw ParseError(mark_at_offset(text, parser.problem_offset), problem);
  }
  throw ParseError(to_mark(parser.problem_mark), problem);
}

// yaml-cpp's null spellings for an untagged plain scalar.
bool is_null_text(const char* value, std::size_t length) {
  std::string_view text(value, length);
  return text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL";
}

uint64_t saturating_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

class Builder {
 public:
  explicit Builder(detail::Document* document) : m_document(document) {}

  // Adds a node record and attaches it to the open collection; returns its index.
  uint32_t add(detail::NodeRecord record, const yaml_char_t* anchor) {
    auto index = static_cast<uint32_t>(m_document->nodes.size());
    m_document->nodes.push_back(std::move(record));
    if (anchor != nullptr) {
      m_anchors[reinterpret_cast<const char*>(anchor)] = index;
    }
    attach(index);
    return index;
  }

  void attach(uint32_t index) {
    if (!m_open.empty()) {
      m_pending.push_back(index);
    }
  }

  /// Collections open around the next node.
  std::size_t depth() const { return m_open.size(); }

  void open(uint32_t index) { m_open.push_back({index, m_pending.size()}); }

  void close() {
    auto [index, start] = m_open.back();
    m_open.pop_back();
    detail::NodeRecord& record = m_document->nodes[index];
    record.first = static_cast<uint32_t>(m_document->children.size());
    record.count = static_cast<uint32_t>(m_pending.size() - start);
    uint32_t height = 0;
    uint64_t expanded = 1;
    for (std::size_t i = start; i < m_pending.size(); ++i) {
      const detail::NodeRecord& child = m_document->nodes[m_pending[i]];
      height = std::max(height, child.height);
      expanded = saturating_add(expanded, child.expanded);
    }
    record.height = height + 1;
    record.expanded = expanded;
    m_document->children.insert(m_document->children.end(), m_pending.begin() + start, m_pending.end());
    m_pending.resize(start);
  }

  /// Attaches the anchored node `index` where an alias stands, or throws when
  /// that would make a cycle, nest too deep or multiply the work of a walk.
  void attach_alias(uint32_t index, const Mark& mark) {
    for (const auto& open : m_open) {
      if (open.first == index) {
        throw ParseError(mark, "an alias cannot refer to a node that contains it");
      }
    }
    const detail::NodeRecord& target = m_document->nodes[index];
    if (m_open.size() + target.height > static_cast<std::size_t>(k_max_depth)) {
      throw ParseError(mark,
                       "this alias nests deeper than " + std::to_string(k_max_depth) + " levels (the limit)");
    }
    m_alias_nodes = saturating_add(m_alias_nodes, target.expanded);
    if (m_alias_nodes > k_max_alias_nodes + m_document->nodes.size()) {
      throw ParseError(mark, "aliases expand to more than " + std::to_string(k_max_alias_nodes) +
                                 " nodes beyond the document's own (the limit)");
    }
    attach(index);
  }

  int32_t tag(const yaml_char_t* tag) {
    if (tag == nullptr) {
      return -1;
    }
    m_document->tags.emplace_back(reinterpret_cast<const char*>(tag));
    return static_cast<int32_t>(m_document->tags.size() - 1);
  }

  bool find_anchor(const char* name, uint32_t* index) const {
    auto it = m_anchors.find(name);
    if (it == m_anchors.end()) {
      return false;
    }
    *index = it->second;
    return true;
  }

 private:
  detail::Document* m_document;
  std::unordered_map<std::string, uint32_t> m_anchors;
  // Children of the open collections, innermost last; each open collection
  // remembers where its own children start.
  std::vector<std::pair<uint32_t, std::size_t>> m_open;
  std::vector<uint32_t> m_pending;
  uint64_t m_alias_nodes = 0;  // nodes that aliases add to a full walk
};

// After the first document only the end of the stream may follow.
void expect_stream_end(yaml_parser_t& parser, const std::string& text) {
  yaml_event_t raw;
  if (yaml_parser_parse(&parser, &raw) == 0) {
    throw_parser_error(parser, text);
  }
  EventGuard event(&raw);
  if (raw.type != YAML_STREAM_END_EVENT) {
    throw ParseError(to_mark(raw.start_mark),
                     "only one YAML document is allowed: something follows the first one here");
  }
}

}  // namespace

Node Node::undefined() {
  Node node;
  node.m_undefined = true;
  return node;
}

const detail::NodeRecord* Node::record() const { return m_document ? &m_document->nodes[m_index] : nullptr; }

NodeType Node::Type() const {
  if (m_undefined) {
    return NodeType::Undefined;
  }
  const detail::NodeRecord* node = record();
  return node != nullptr ? node->type : NodeType::Null;
}

yaml::Mark Node::Mark() const {
  const detail::NodeRecord* node = m_undefined ? nullptr : record();
  return node != nullptr ? node->mark : yaml::Mark::null_mark();
}

const std::string& Node::Scalar() const {
  const detail::NodeRecord* node = m_undefined ? nullptr : record();
  return node != nullptr && node->type == NodeType::Scalar ? node->scalar : k_empty;
}

std::string Node::Tag() const {
  const detail::NodeRecord* node = m_undefined ? nullptr : record();
  if (node == nullptr || node->type == NodeType::Null) {
    return "";
  }
  if (node->tag >= 0) {
    return m_document->tags[static_cast<std::size_t>(node->tag)];
  }
  return node->type == NodeType::Scalar && node->style == detail::ScalarStyle::Quoted ? "!" : "?";
}

std::size_t Node::size() const {
  const detail::NodeRecord* node = m_undefined ? nullptr : record();
  if (node == nullptr) {
    return 0;
  }
  if (node->type == NodeType::Map) {
    return node->count / 2;
  }
  return node->type == NodeType::Sequence ? node->count : 0;
}

NodeIterator Node::begin() const {
  const detail::NodeRecord* node = m_undefined ? nullptr : record();
  if (node == nullptr || (node->type != NodeType::Map && node->type != NodeType::Sequence)) {
    return NodeIterator();
  }
  return NodeIterator(m_document, node->type == NodeType::Map, node->first, node->first + node->count);
}

NodeIterator Node::end() const {
  const detail::NodeRecord* node = m_undefined ? nullptr : record();
  if (node == nullptr || (node->type != NodeType::Map && node->type != NodeType::Sequence)) {
    return NodeIterator();
  }
  uint32_t end = node->first + node->count;
  return NodeIterator(m_document, node->type == NodeType::Map, end, end);
}

NodeIterator::NodeIterator(const detail::Document* document, bool map, uint32_t position, uint32_t end)
    : m_document(document), m_map(map), m_position(position), m_end(end) {
  load_value();
}

void NodeIterator::load_value() {
  if (m_position >= m_end) {
    m_value = IteratorValue();
    return;
  }
  const std::vector<uint32_t>& children = m_document->children;
  if (m_map) {
    m_value = IteratorValue(Node::undefined(), Node(m_document, children[m_position]),
                            Node(m_document, children[m_position + 1]));
  } else {
    m_value = IteratorValue(Node(m_document, children[m_position]), Node::undefined(), Node::undefined());
  }
}

NodeIterator& NodeIterator::operator++() {
  m_position += m_map ? 2 : 1;
  load_value();
  return *this;
}

NodeIterator NodeIterator::operator++(int) {
  NodeIterator before = *this;
  ++*this;
  return before;
}

Node load(const std::string& text) {
  ParserPtr parser(new yaml_parser_t);
  if (yaml_parser_initialize(parser.get()) == 0) {
    delete parser.release();
    throw std::bad_alloc();
  }
  yaml_parser_set_input_string(parser.get(), reinterpret_cast<const unsigned char*>(text.data()),
                               text.size());

  auto document = std::make_shared<detail::Document>();
  // Config files run at about 12 bytes of text per node. Reserving for 8
  // avoids moving every record (and its string) on growth; pages never
  // touched cost address space only.
  document->nodes.reserve(text.size() / 8 + 1);
  document->children.reserve(text.size() / 8 + 1);
  Builder builder(document.get());
  bool have_root = false;
  // yaml-cpp gives an empty value the mark of the token after it.
  bool fix_empty_mark = false;
  uint32_t empty_index = 0;

  while (true) {
    yaml_event_t raw;
    if (yaml_parser_parse(parser.get(), &raw) == 0) {
      throw_parser_error(*parser, text);
    }
    EventGuard event(&raw);
    if (fix_empty_mark) {
      document->nodes[empty_index].mark = to_mark(raw.start_mark);
      fix_empty_mark = false;
    }
    switch (raw.type) {
      case YAML_STREAM_END_EVENT:
        if (!have_root) {
          return Node();
        }
        return Node(std::move(document));
      case YAML_DOCUMENT_END_EVENT:
        // Whatever follows the first document would be silently ignored.
        expect_stream_end(*parser, text);
        if (!have_root) {
          return Node();
        }
        return Node(std::move(document));
      case YAML_ALIAS_EVENT: {
        uint32_t index = 0;
        if (!builder.find_anchor(reinterpret_cast<const char*>(raw.data.alias.anchor), &index)) {
          throw ParseError(to_mark(raw.start_mark), "the referenced anchor is not defined");
        }
        builder.attach_alias(index, to_mark(raw.start_mark));
        have_root = true;
        break;
      }
      case YAML_SCALAR_EVENT: {
        const auto& scalar = raw.data.scalar;
        if (scalar.length > k_max_scalar_bytes) {
          throw ParseError(to_mark(raw.start_mark),
                           "a value of " + std::to_string(scalar.length) + " bytes is longer than " +
                               std::to_string(k_max_scalar_bytes) + " bytes (the limit)");
        }
        const char* value = reinterpret_cast<const char*>(scalar.value);
        detail::NodeRecord record;
        record.mark = to_mark(raw.start_mark);
        record.tag = builder.tag(scalar.tag);
        bool plain = scalar.style == YAML_PLAIN_SCALAR_STYLE || scalar.style == YAML_ANY_SCALAR_STYLE;
        record.style = plain ? detail::ScalarStyle::Plain : detail::ScalarStyle::Quoted;
        if (plain && record.tag < 0 && is_null_text(value, scalar.length)) {
          record.type = NodeType::Null;
        } else {
          record.type = NodeType::Scalar;
          record.scalar.assign(value, scalar.length);
        }
        uint32_t index = builder.add(std::move(record), scalar.anchor);
        if (scalar.length == 0 && raw.start_mark.index == raw.end_mark.index) {
          fix_empty_mark = true;
          empty_index = index;
        }
        have_root = true;
        break;
      }
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        if (builder.depth() >= static_cast<std::size_t>(k_max_depth)) {
          // Checked before libyaml reads deeper: its own work per token grows with the depth.
          throw ParseError(to_mark(raw.start_mark),
                           "nesting deeper than " + std::to_string(k_max_depth) + " levels (the limit)");
        }
        bool map = raw.type == YAML_MAPPING_START_EVENT;
        detail::NodeRecord record;
        record.mark = to_mark(raw.start_mark);
        record.type = map ? NodeType::Map : NodeType::Sequence;
        record.tag = builder.tag(map ? raw.data.mapping_start.tag : raw.data.sequence_start.tag);
        uint32_t index = builder.add(std::move(record),
                                     map ? raw.data.mapping_start.anchor : raw.data.sequence_start.anchor);
        builder.open(index);
        have_root = true;
        break;
      }
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT:
        builder.close();
        break;
      default:  // stream and document start, no-event
        break;
    }
  }
}

}  // namespace stsctl::yaml

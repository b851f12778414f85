#pragma once
// A small read-only YAML document tree built from libyaml events. It mirrors
// exactly the part of the yaml-cpp 0.7 API that config/load.cpp uses (Node,
// Mark, NodeType, iteration, Load), with yaml-cpp's semantics for marks, null
// scalars and non-specific tags, at a fraction of yaml-cpp's time and memory.
//
// Ownership: the Node that load() returns (and its copies) owns the whole
// document; every other Node is a plain view into it, valid while an owning
// Node lives. Views cost no reference counting, so the loader can read one
// document from several threads. Nodes are immutable. Duplicate map keys are kept as separate pairs (the
// loader reports them). Aliases resolve to the anchored node itself.
//
// Hostile input is refused by load() with a ParseError, so that walking the
// tree (aliases followed) is always bounded: nesting deeper than
// k_max_depth (counting what aliases bring in), an alias to a node that
// contains it, aliases that would add more than k_max_alias_nodes nodes (or
// more nodes than the document itself has) to a full walk, a scalar longer
// than k_max_scalar_bytes, and anything after the first document.

#include <cstdint>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace stsctl::yaml {

/// A position in the text; 0-based like yaml-cpp's. -1 everywhere: unknown.
struct Mark {
  int pos = -1;
  int line = -1;
  int column = -1;

  bool is_null() const { return pos == -1 && line == -1 && column == -1; }
  static Mark null_mark() { return Mark(); }
};

enum class NodeType { Undefined, Null, Scalar, Sequence, Map };

/// Limits load() enforces (see the header comment).
constexpr int k_max_depth = 64;
constexpr uint64_t k_max_alias_nodes = 1000000;
constexpr std::size_t k_max_scalar_bytes = 65536;

/// Thrown by load() on a YAML syntax error (or an undefined alias).
class ParseError : public std::runtime_error {
 public:
  ParseError(const Mark& error_mark, const std::string& message);

  Mark mark;
  std::string msg;
};

namespace detail {

enum class ScalarStyle : uint8_t { Plain, Quoted };

struct NodeRecord {
  std::string scalar;  // Scalar nodes only
  Mark mark;
  NodeType type = NodeType::Null;
  ScalarStyle style = ScalarStyle::Plain;
  int32_t tag = -1;       // index into Document::tags; -1: no explicit tag
  uint32_t first = 0;     // first child in Document::children
  uint32_t count = 0;     // children: elements, or 2 per map pair (key, value)
  uint32_t height = 0;    // collection levels in the node, aliases followed (a scalar: 0)
  uint64_t expanded = 1;  // nodes a full walk visits, aliases followed (saturating)
};

struct Document {
  std::vector<NodeRecord> nodes;
  std::vector<uint32_t> children;  // indexes into nodes
  std::vector<std::string> tags;
};

}  // namespace detail

class IteratorValue;
class NodeIterator;

/// A cheap handle on one node of a loaded document. A default Node is Null.
class Node {
 public:
  Node() = default;

  NodeType Type() const;
  bool IsDefined() const { return Type() != NodeType::Undefined; }
  bool IsNull() const { return Type() == NodeType::Null; }
  bool IsScalar() const { return Type() == NodeType::Scalar; }
  bool IsSequence() const { return Type() == NodeType::Sequence; }
  bool IsMap() const { return Type() == NodeType::Map; }

  /// Start of the node (null mark for a default or undefined Node).
  yaml::Mark Mark() const;
  /// The scalar's text; empty for anything else.
  const std::string& Scalar() const;
  /// "?" for an untagged plain scalar, "!" for an untagged quoted one, the
  /// resolved explicit tag otherwise; "" for null and undefined nodes.
  std::string Tag() const;
  /// Elements of a sequence, pairs of a map; 0 otherwise.
  std::size_t size() const;
  /// The node's place in its document: an alias has its anchor's, so a walk
  /// can visit each node of the text once however many aliases reach it.
  uint32_t Id() const { return m_index; }

  NodeIterator begin() const;
  NodeIterator end() const;

 private:
  friend class NodeIterator;
  friend Node load(const std::string& text);
  static Node undefined();
  explicit Node(std::shared_ptr<const detail::Document> owner)
      : m_owner(std::move(owner)), m_document(m_owner.get()), m_index(0) {}
  Node(const detail::Document* document, uint32_t index) : m_document(document), m_index(index) {}

  const detail::NodeRecord* record() const;

  std::shared_ptr<const detail::Document> m_owner;  // set on the root load() returns
  const detail::Document* m_document = nullptr;     // null: default Null node
  uint32_t m_index = 0;
  bool m_undefined = false;
};

/// What iteration yields: for a sequence the element itself (first and second
/// undefined); for a map an undefined Node with the pair in first and second.
class IteratorValue : public Node {
 public:
  IteratorValue() = default;
  IteratorValue(const Node& element, Node key, Node value)
      : Node(element), first(std::move(key)), second(std::move(value)) {}

  Node first;
  Node second;
};

class NodeIterator {
 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = IteratorValue;
  using difference_type = std::ptrdiff_t;
  using pointer = const IteratorValue*;
  using reference = const IteratorValue&;

  NodeIterator() = default;

  reference operator*() const { return m_value; }
  pointer operator->() const { return &m_value; }
  NodeIterator& operator++();
  NodeIterator operator++(int);
  bool operator==(const NodeIterator& other) const { return m_position == other.m_position; }
  bool operator!=(const NodeIterator& other) const { return !(*this == other); }

 private:
  friend class Node;
  NodeIterator(const detail::Document* document, bool map, uint32_t position, uint32_t end);
  void load_value();

  const detail::Document* m_document = nullptr;
  bool m_map = false;
  uint32_t m_position = 0;  // index into Document::children
  uint32_t m_end = 0;
  IteratorValue m_value;
};

/// Parses the one document of `text`. Empty input gives a Null node. Throws
/// ParseError on a syntax error, a second document, or a limit above.
Node load(const std::string& text);

}  // namespace stsctl::yaml

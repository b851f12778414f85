// The libyaml-based tree must behave like the yaml-cpp subset the loader used:
// marks, null and tag rules, aliases, duplicate keys and syntax errors.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "config/yaml_tree.h"

namespace yaml = stsctl::yaml;

namespace {

// The value of the first pair of `map` whose key is `name` (undefined if none).
yaml::Node get(const yaml::Node& map, const std::string& name) {
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.Scalar() == name) {
      return it->second;
    }
  }
  return {};
}

}  // namespace

TEST_CASE("marks point at the start of each node, 0-based", "[config][yaml]") {
  yaml::Node root = yaml::load(
      "version: 1\n"
      "domains:\n"
      "  example.net:\n"
      "    mx: [mail.example.net, 'b']\n"
      "    policy: {mode: testing}\n"
      "list:\n"
      "  - one\n"
      "  - \"two\"\n");
  REQUIRE(root.IsMap());
  CHECK(root.Mark().line == 0);
  CHECK(root.Mark().column == 0);
  CHECK(root.Mark().pos == 0);
  CHECK(root.size() == 3);

  auto it = root.begin();
  CHECK(it->first.Scalar() == "version");
  CHECK(it->second.Scalar() == "1");
  CHECK(it->second.Mark().line == 0);
  CHECK(it->second.Mark().column == 9);

  yaml::Node domains = get(root, "domains");
  REQUIRE(domains.IsMap());
  CHECK(domains.Mark().line == 2);  // a block map starts at its first key
  CHECK(domains.Mark().column == 2);

  yaml::Node domain = get(domains, "example.net");
  yaml::Node mx = get(domain, "mx");
  REQUIRE(mx.IsSequence());
  CHECK(mx.Mark().line == 3);  // a flow sequence starts at its bracket
  CHECK(mx.Mark().column == 8);
  CHECK(mx.size() == 2);
  std::vector<std::string> hosts;
  for (auto element = mx.begin(); element != mx.end(); ++element) {
    hosts.push_back(element->Scalar());
  }
  CHECK(hosts == std::vector<std::string>{"mail.example.net", "b"});
  auto second = ++mx.begin();
  CHECK(second->Mark().column == 27);  // a quoted scalar starts at its quote

  yaml::Node policy = get(domain, "policy");
  REQUIRE(policy.IsMap());
  CHECK(policy.Mark().line == 4);
  CHECK(policy.Mark().column == 12);  // a flow map starts at its brace

  yaml::Node list = get(root, "list");
  REQUIRE(list.IsSequence());
  CHECK(list.Mark().line == 6);
  CHECK(list.Mark().column == 2);  // a block sequence starts at its first dash
  CHECK((*list.begin()).Mark().column == 4);
  CHECK((*list.begin()).Scalar() == "one");
}

TEST_CASE("tags: '?' for plain, '!' for quoted, explicit tags resolved", "[config][yaml]") {
  yaml::Node root = yaml::load("a: 3600\nb: \"3600\"\nc: '3600'\nd: !!str 3600\ne: !local x\nf: |\n  text\n");
  CHECK(get(root, "a").Tag() == "?");
  CHECK(get(root, "b").Tag() == "!");
  CHECK(get(root, "c").Tag() == "!");
  CHECK(get(root, "d").Tag() == "tag:yaml.org,2002:str");
  CHECK(get(root, "e").Tag() == "!local");
  CHECK(get(root, "f").Tag() == "!");
  CHECK(get(root, "f").Scalar() == "text\n");
  CHECK(get(root, "a").Type() == yaml::NodeType::Scalar);
}

TEST_CASE("null: empty, ~ and null spellings when plain and untagged", "[config][yaml]") {
  yaml::Node root = yaml::load(
      "empty:\n"
      "tilde: ~\n"
      "lower: null\n"
      "title: Null\n"
      "upper: NULL\n"
      "quoted: \"null\"\n"
      "mixed: nUll\n"
      "blank: ''\n"
      "tagged: !!str null\n");
  for (const char* name : {"empty", "tilde", "lower", "title", "upper"}) {
    INFO(name);
    yaml::Node node = get(root, name);
    CHECK(node.IsNull());
    CHECK(node.Type() == yaml::NodeType::Null);
    CHECK_FALSE(node.IsScalar());
    CHECK(node.Scalar().empty());
  }
  for (const char* name : {"quoted", "mixed", "blank", "tagged"}) {
    INFO(name);
    CHECK(get(root, name).IsScalar());
  }
  // An empty value takes the mark of what follows it, like yaml-cpp.
  CHECK(get(root, "empty").Mark().line == 1);
  CHECK(get(root, "empty").Mark().column == 0);
}

TEST_CASE("empty input and comments give a null root", "[config][yaml]") {
  CHECK(yaml::load("").IsNull());
  CHECK(yaml::load("# just a comment\n").IsNull());
  CHECK(yaml::load("---\n").IsNull());
  yaml::Node none;
  CHECK(none.IsNull());
  CHECK(none.IsDefined());
  CHECK(none.Mark().is_null());
  CHECK(none.size() == 0);
  CHECK(none.begin() == none.end());
}

TEST_CASE("a second document is refused, an explicit end alone is fine", "[config][yaml]") {
  try {
    yaml::load("a: 1\n---\nb: 2\n");
    FAIL("a second document was accepted");
  } catch (const yaml::ParseError& e) {
    CHECK(e.mark.line == 1);
    CHECK(e.msg == "only one YAML document is allowed: something follows the first one here");
  }
  CHECK_THROWS_AS(yaml::load("a: 1\n...\n[junk\n"), yaml::ParseError);
  CHECK(yaml::load("a: 1\n...\n# a comment\n").IsMap());
  CHECK(yaml::load("--- \na: 1\n...\n").IsMap());
}

TEST_CASE("limits: depth, alias cycles and alias bombs", "[config][yaml]") {
  CHECK(yaml::load(std::string(64, '[') + std::string(64, ']')).IsSequence());
  CHECK_THROWS_WITH(yaml::load(std::string(65, '[') + std::string(65, ']')),
                    "nesting deeper than 64 levels (the limit)");
  CHECK_THROWS_WITH(yaml::load("a: &a [*a]\n"), "an alias cannot refer to a node that contains it");
  CHECK_THROWS_WITH(yaml::load("a: &a {x: [{y: *a}]}\n"), "an alias cannot refer to a node that contains it");
  // An anchor 60 deep used 10 deep would nest 70 levels.
  CHECK_THROWS_WITH(yaml::load("a: &d " + std::string(60, '[') + std::string(60, ']') +
                               "\nb: " + std::string(10, '[') + "*d" + std::string(10, ']') + "\n"),
                    "this alias nests deeper than 64 levels (the limit)");
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 8; ++i) {
    std::string prev = "*a" + std::to_string(i - 1);
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + prev;
    for (int k = 1; k < 10; ++k) {
      bomb += ", " + prev;
    }
    bomb += "]\n";
  }
  CHECK_THROWS_WITH(yaml::load(bomb),
                    "aliases expand to more than 1000000 nodes beyond the document's own (the limit)");
}

TEST_CASE("aliases resolve to the anchored node", "[config][yaml]") {
  yaml::Node root = yaml::load("base: &b {mode: testing}\nother: *b\nlist: [&x one, *x]\n");
  yaml::Node other = get(root, "other");
  REQUIRE(other.IsMap());
  CHECK(get(other, "mode").Scalar() == "testing");
  CHECK(other.Mark().line == 0);  // the anchored node's own mark
  CHECK(other.Mark().column == 6);
  yaml::Node list = get(root, "list");
  REQUIRE(list.size() == 2);
  CHECK((++list.begin())->Scalar() == "one");
}

TEST_CASE("undefined aliases and syntax errors throw with a mark", "[config][yaml]") {
  try {
    yaml::load("a: 1\nb: *nowhere\n");
    FAIL("no exception");
  } catch (const yaml::ParseError& e) {
    CHECK(e.mark.line == 1);
    CHECK(e.mark.column == 3);
    CHECK(e.msg == "the referenced anchor is not defined");
  }
  try {
    yaml::load("version: 1\ndomains:\n  example.net: {mx: [mail.example.net}\n");
    FAIL("no exception");
  } catch (const yaml::ParseError& e) {
    CHECK(e.mark.line == 2);
    CHECK(e.mark.column == 37);
    CHECK_FALSE(e.msg.empty());
  }
}

TEST_CASE("duplicate keys are kept as separate pairs, in order", "[config][yaml]") {
  yaml::Node root = yaml::load("ttl: 60\nmode: x\nttl: 120\n");
  REQUIRE(root.size() == 3);
  std::vector<std::pair<std::string, int>> keys;
  for (auto it = root.begin(); it != root.end(); ++it) {
    keys.emplace_back(it->first.Scalar() + "=" + it->second.Scalar(), it->first.Mark().line);
  }
  CHECK(keys == std::vector<std::pair<std::string, int>>{{"ttl=60", 0}, {"mode=x", 1}, {"ttl=120", 2}});
}

TEST_CASE("iterator values: map pairs are not elements, elements have no pair", "[config][yaml]") {
  yaml::Node root = yaml::load("m: {k: v}\ns: [e]\n");
  yaml::Node map = get(root, "m");
  CHECK_FALSE(map.begin()->IsDefined());
  CHECK(map.begin()->first.Scalar() == "k");
  yaml::Node seq = get(root, "s");
  CHECK(seq.begin()->IsScalar());
  CHECK_FALSE(seq.begin()->first.IsDefined());
  CHECK_FALSE(seq.begin()->second.IsDefined());
  yaml::Node scalar = get(map, "k");
  CHECK(scalar.begin() == scalar.end());
  CHECK(scalar.size() == 0);
  CHECK(map.Scalar().empty());
}

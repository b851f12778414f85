#pragma once
// Edit distance for "did you mean" suggestions on unknown config keys.

#include <string>
#include <vector>

namespace stsctl {

/// Levenshtein distance between `a` and `b` (insertions, deletions and, when
/// `allow_replacements`, substitutions each cost 1). When `max_edit_distance`
/// is > 0, returns max_edit_distance + 1 as soon as the distance is known to
/// exceed it.
int edit_distance(const std::string& a, const std::string& b, bool allow_replacements = true,
                  int max_edit_distance = 0);

/// The candidate closest to `text` when it is close enough to be a likely
/// typo (1 edit for words of up to 3 characters, 2 up to 5, else 3); ties go
/// to the earliest candidate. Empty when none is close.
std::string spellcheck(const std::string& text, const std::vector<std::string>& candidates);

}  // namespace stsctl

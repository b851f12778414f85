#include "config/edit_distance.h"

#include <algorithm>

namespace stsctl {

int edit_distance(const std::string& a, const std::string& b, bool allow_replacements,
                  int max_edit_distance) {
  // One row of the classic dynamic-programming table at a time.
  const size_t n = b.size();
  std::vector<int> row(n + 1);
  for (size_t j = 0; j <= n; ++j) {
    row[j] = static_cast<int>(j);
  }
  for (size_t i = 1; i <= a.size(); ++i) {
    int diagonal = row[0];
    row[0] = static_cast<int>(i);
    int best = row[0];
    for (size_t j = 1; j <= n; ++j) {
      int above = row[j];
      int value;
      if (a[i - 1] == b[j - 1]) {
        value = diagonal;
      } else {
        value = std::min(row[j - 1], above) + 1;
        if (allow_replacements) {
          value = std::min(value, diagonal + 1);
        }
      }
      row[j] = value;
      diagonal = above;
      best = std::min(best, value);
    }
    if (max_edit_distance > 0 && best > max_edit_distance) {
      return max_edit_distance + 1;
    }
  }
  return row[n];
}

std::string spellcheck(const std::string& text, const std::vector<std::string>& candidates) {
  const int limit = text.size() <= 3 ? 1 : text.size() <= 5 ? 2 : 3;
  std::string best;
  int best_distance = limit + 1;
  for (const std::string& candidate : candidates) {
    int distance = edit_distance(text, candidate, true, limit);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
}

}  // namespace stsctl

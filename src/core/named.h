#pragma once
// Lookup by name in the program's fixed lists (architectures, generative
// networks, acquisition shifts), with the one error message they share.
#include <string>
#include <vector>

#include "core/errors.h"

namespace pneumoscan {

// The entry of `entries` whose `name` member equals `name`. Throws UsageError
// "unknown WHAT 'NAME' (known: a, b, ...)" otherwise.
template <typename Entry>
const Entry& find_named(const std::vector<Entry>& entries, const std::string& name, const std::string& what) {
  std::string known;
  for (const Entry& entry : entries) {
    if (entry.name == name) return entry;
    known += (known.empty() ? "" : ", ") + entry.name;
  }
  throw UsageError("unknown " + what + " '" + name + "' (known: " + known + ")");
}

}  // namespace pneumoscan

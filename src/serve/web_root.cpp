#include "serve/web_root.h"

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "core/runtime.h"

namespace pneumoscan {
namespace fs = std::filesystem;

std::string find_web_root() {
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("PNEUMOSCAN_WEB_DIR"); env != nullptr && *env != '\0')
    candidates.push_back(env);
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back(exe.parent_path().parent_path() / "web");
    candidates.push_back(exe.parent_path() / "web");
  }
  candidates.push_back(fs::path(source_dir()) / "web");
  for (const fs::path& candidate : candidates)
    if (fs::exists(candidate / "index.html", ec)) return candidate.string();
  return "";
}

}  // namespace pneumoscan

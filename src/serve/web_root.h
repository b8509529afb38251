#pragma once
// Where the web page's files (web/index.html, app.js, style.css) are.
#include <string>

namespace pneumoscan {

// $PNEUMOSCAN_WEB_DIR, else web/ in the executable's parent folder (build/..
// = the repository), next to the executable, or in the source tree. "" when
// none holds an index.html.
std::string find_web_root();

}  // namespace pneumoscan

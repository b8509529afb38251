#include "report/html.h"

#include <cctype>
#include <filesystem>
#include <sstream>

#include "core/atomic_file.h"
#include "core/errors.h"

namespace pneumoscan {
namespace {

constexpr const char* kStyle = R"(
body { font-family: -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif; margin: 2em auto;
       max-width: 1700px; padding: 0 1.5em; color: #1e1e1e; line-height: 1.45; }
h1 { font-size: 1.7em; margin-bottom: 0.3em; }
h2 { font-size: 1.3em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
p { max-width: 75em; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #d0d0d0; padding: 0.35em 0.6em; text-align: right; white-space: nowrap; }
th { background: #eef2f7; position: sticky; top: 0; }
td:first-child, th:first-child, td.text { text-align: left; }
tr:nth-child(even) td { background: #f8f9fb; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; }
figure img { width: 560px; max-width: 100%; border: 1px solid #e2e2e2; }
figcaption { font-size: 0.9em; color: #555; text-align: center; }
a { color: #1f5fa8; }
)";

// Figures ("0.9531", "11.2 M", "3m 20s", "5/10") are right-aligned, words left-aligned.
bool is_numeric(const std::string& cell) {
  return cell == "n/a" || (!cell.empty() && std::isdigit(static_cast<unsigned char>(cell[0])));
}

}  // namespace

std::string markdown_table(const Table& table) {
  const auto cell = [](std::string text) {
    for (size_t at = text.find('|'); at != std::string::npos; at = text.find('|', at + 2))
      text.replace(at, 1, "\\|");
    return text;
  };
  std::ostringstream md;
  md << "|";
  for (const auto& h : table.header) md << " " << cell(h) << " |";
  md << "\n|";
  for (size_t i = 0; i < table.header.size(); ++i) md << "---|";
  md << "\n";
  for (const auto& row : table.rows) {
    md << "|";
    for (size_t i = 0; i < row.size(); ++i) {
      const std::string text = cell(row[i]);
      md << " " << (static_cast<int>(i) == table.link_column ? "[" + text + "](" + text + ")" : text) << " |";
    }
    md << "\n";
  }
  return md.str();
}

std::string html_escape(const std::string& text) {
  std::string escaped;
  for (char c : text) {
    switch (c) {
      case '&':
        escaped += "&amp;";
        break;
      case '<':
        escaped += "&lt;";
        break;
      case '>':
        escaped += "&gt;";
        break;
      case '"':
        escaped += "&quot;";
        break;
      case '\'':
        escaped += "&#39;";
        break;
      default:
        escaped += c;
    }
  }
  return escaped;
}

void write_html_report(const std::string& path, const std::string& title,
                       const std::vector<std::string>& paragraphs, const Table& table,
                       const std::vector<ReportSection>& sections) {
  namespace fs = std::filesystem;
  const fs::path folder = fs::absolute(fs::path(path)).parent_path();
  const auto relative = [&](const std::string& file) {
    const fs::path link = fs::absolute(file).lexically_normal().lexically_relative(folder.lexically_normal());
    if (link.empty() || *link.begin() == "..")
      throw UsageError(file + ": a report can only link files in its folder");
    return link.generic_string();
  };
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>"
       << html_escape(title) << "</title>\n<style>" << kStyle << "</style>\n</head>\n<body>\n<h1>"
       << html_escape(title) << "</h1>\n";
  for (const auto& paragraph : paragraphs) html << "<p>" << html_escape(paragraph) << "</p>\n";
  html << "<div class=\"table-wrap\"><table>\n<tr>";
  for (const auto& h : table.header) html << "<th>" << html_escape(h) << "</th>";
  html << "</tr>\n";
  for (const auto& row : table.rows) {
    html << "<tr>";
    for (size_t i = 0; i < row.size(); ++i) {
      html << (is_numeric(row[i]) ? "<td>" : "<td class=\"text\">");
      if (static_cast<int>(i) == table.link_column)
        html << "<a href=\"" << html_escape(row[i]) << "\">" << html_escape(row[i]) << "</a>";
      else
        html << html_escape(row[i]);
      html << "</td>";
    }
    html << "</tr>\n";
  }
  html << "</table></div>\n";
  for (const auto& section : sections) {
    html << "<h2>" << html_escape(section.heading) << "</h2>\n<div class=\"plots\">\n";
    for (const auto& plot : section.plots) {
      const std::string link = html_escape(relative(plot.path));
      html << "<figure><a href=\"" << link << "\"><img src=\"" << link << "\" alt=\""
           << html_escape(plot.caption) << "\"></a><figcaption>" << html_escape(plot.caption)
           << "</figcaption></figure>\n";
    }
    html << "</div>\n";
  }
  html << "</body>\n</html>\n";
  write_file_atomically(path, html.str());
}

}  // namespace pneumoscan

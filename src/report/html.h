#pragma once
// Self-contained reports: a table and plots on one HTML page that opens with
// no network (inline styling, relative links only), and the same table as markdown.
#include <string>
#include <vector>

#include "report/plots.h"

namespace pneumoscan {

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  int link_column = -1;  // cells of this column are relative paths, shown as links
};

// A GitHub-flavoured markdown table ('|' in cells escaped).
std::string markdown_table(const Table& table);

std::string html_escape(const std::string& text);

struct ReportSection {
  std::string heading;
  std::vector<PlotFile> plots;  // paths are made relative to the report's folder
};

// Writes `path` atomically: title, paragraphs (plain text, escaped), the table,
// then one block of plots per section. Throws UsageError for a plot outside the report's folder.
void write_html_report(const std::string& path, const std::string& title,
                       const std::vector<std::string>& paragraphs, const Table& table,
                       const std::vector<ReportSection>& sections);

}  // namespace pneumoscan

#include "report/case_report.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/text.h"
#include "explain/overlay.h"
#include "image/data_url.h"
#include "report/html.h"

namespace pneumoscan {
namespace {

const char* const kStyle = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:24px;color:#1d2733;background:#f6f8fa}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:24px 0 8px}
.meta{color:#566270;font-size:13px;word-break:break-all}
.warning{color:#8a5a00;background:#fff4d6;border:1px solid #e8c46a;padding:6px 10px;border-radius:4px}
.images{display:flex;flex-wrap:wrap;gap:16px}
figure{margin:0;background:#fff;border:1px solid #d8dee4;border-radius:6px;padding:8px}
figure img{display:block;max-width:100%;height:auto}figcaption{font-size:13px;color:#566270;margin-top:6px}
.decision{display:inline-block;font-weight:700;font-size:18px;padding:6px 14px;border-radius:6px;color:#fff}
.PNEUMONIA{background:#c0392b}.NORMAL{background:#1e8449}
.bar{position:relative;height:26px;background:#e3e8ee;border-radius:4px;max-width:640px;margin:28px 0 8px}
.fill{position:absolute;left:0;top:0;bottom:0;border-radius:4px;background:#2f6fb5}
.marker{position:absolute;top:-8px;bottom:-8px;width:3px;background:#111}
.marker span{position:absolute;top:-18px;left:-40px;width:84px;text-align:center;font-size:12px}
.scale{display:flex;justify-content:space-between;max-width:640px;font-size:12px;color:#566270}
.cases{display:flex;flex-wrap:wrap;gap:12px}.case{width:180px;font-size:12px}
.case img{width:160px;height:auto}.path{word-break:break-all;color:#566270}
.note{font-size:12px;color:#566270;max-width:760px}
)";

}  // namespace

std::string case_report_html(const CaseReport& report, int max_side) {
  if (report.image == nullptr || report.image->pixels.empty())
    throw UsageError("case report: no image for " + report.source_path);
  const Prediction& p = report.prediction;
  const std::string name = std::filesystem::path(report.source_path).filename().string();
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>PneumoScan report: " +
      html_escape(name) + "</title>\n<style>" + kStyle + "</style></head>\n<body>\n";
  html += "<h1>PneumoScan case report</h1>\n<div class=\"meta\">" + html_escape(report.source_path) +
          " &middot; " + std::to_string(report.image->width()) + "&times;" +
          std::to_string(report.image->height()) + " px &middot; model " + html_escape(report.model_name) +
          " (" + html_escape(report.architecture) + ")</div>\n";

  // Decision and probability against the threshold.
  const double probability = std::clamp(p.probability, 0.0, 1.0);
  const double threshold = std::clamp(p.threshold, 0.0, 1.0);
  html += "<h2>Decision</h2>\n<span class=\"decision " + html_escape(p.label) + "\">" + html_escape(p.label) +
          "</span>\n";
  html += "<div class=\"bar\" role=\"img\" aria-label=\"P(pneumonia) " + format_string("%.3f", probability) +
          ", threshold " + format_string("%.3f", threshold) +
          "\"><div class=\"fill\" style=\"width:" + format_string("%.2f", 100 * probability) +
          "%\"></div><div class=\"marker\" style=\"left:" + format_string("%.2f", 100 * threshold) +
          "%\"><span>threshold " + format_string("%.3f", threshold) + "</span></div></div>\n";
  html += "<div class=\"scale\"><span>0</span><span>P(pneumonia) = <b>" +
          format_string("%.4f", p.probability) + "</b> (PNEUMONIA when &ge; " +
          format_string("%.4f", p.threshold) + ")</span><span>1</span></div>\n";
  if (!report.uncertainty.empty()) html += "<p class=\"note\">" + html_escape(report.uncertainty) + "</p>\n";
  for (const std::string& warning : report.gate_warnings)
    html += "<p class=\"warning\">Input check: " + html_escape(warning) + "</p>\n";

  // The X-ray and the heatmap overlay.
  html += "<h2>Image</h2>\n<div class=\"images\">\n<figure><img alt=\"X-ray\" src=\"" +
          jpeg_data_url(to_u8(*report.image), max_side) + "\"><figcaption>X-ray</figcaption></figure>\n";
  if (!report.heatmap01.empty())
    html += "<figure><img alt=\"" + html_escape(report.heatmap_method) + " overlay\" src=\"" +
            jpeg_data_url(overlay(*report.image, report.heatmap01), max_side) + "\"><figcaption>" +
            html_escape(report.heatmap_method) + " heatmap of the " + html_escape(p.label) +
            " output (red = most influential)</figcaption></figure>\n";
  html += "</div>\n";

  if (report.similar_requested) {
    html += "<h2>Similar past cases</h2>\n";
    if (report.similar.empty()) html += "<p class=\"note\">No similar cases found.</p>\n";
    html += "<div class=\"cases\">\n";
    for (const SimilarCase& c : report.similar) {
      const std::string label = c.item.label >= 0 ? kClassNames[c.item.label] : "unlabelled";
      html += "<div class=\"case\">";
      try {
        html +=
            "<img alt=\"similar case\" src=\"" + jpeg_data_url(to_u8(decode_image(c.item.path)), 160) + "\">";
      } catch (const Error&) {
        html += "<div class=\"note\">(image unavailable)</div>";
      }
      html += "<div><span class=\"decision " + html_escape(label) +
              "\" style=\"font-size:12px;padding:2px 6px\">" + html_escape(label) + "</span> similarity " +
              format_string("%.3f", c.similarity) + "</div><div class=\"path\">" + html_escape(c.item.path) +
              "</div></div>\n";
    }
    html +=
        "</div>\n<p class=\"note\">Cosine similarity of the model's image embeddings; the query's own file "
        "and patient are left out.</p>\n";
  }
  html +=
      "<p class=\"note\">Decision support only: PneumoScan's output must be reviewed by a clinician.</p>\n"
      "</body></html>\n";
  return html;
}

std::string write_case_report(const CaseReport& report, const std::string& out_dir) {
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) throw IoError(out_dir, "cannot create folder: " + ec.message());
  const std::string path = (std::filesystem::path(out_dir) /
                            (std::filesystem::path(report.source_path).stem().string() + ".report.html"))
                               .string();
  write_file_atomically(path, case_report_html(report));
  return path;
}

}  // namespace pneumoscan

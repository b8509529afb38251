#include "model_file/intended_use.h"

#include <cctype>
#include <cmath>

#include "core/errors.h"
#include "core/json_text.h"
#include "core/text.h"

namespace pneumoscan {
namespace {

std::vector<std::string> upper_list(const nlohmann::json& json, const char* key) {
  std::vector<std::string> values = json.value(key, std::vector<std::string>{});
  for (std::string& value : values) value = uppercase(value);
  return values;
}

}  // namespace

nlohmann::json to_json(const IntendedUse& use) {
  nlohmann::json json = nlohmann::json::object();
  const Population& p = use.population;
  if (p.stated()) {
    nlohmann::json population = {{"description", p.description},
                                 {"modalities", p.modalities},
                                 {"views", p.views},
                                 {"body_parts", p.body_parts}};
    if (p.age_years) population["age_years"] = {p.age_years->first, p.age_years->second};
    json["population"] = population;
  }
  const OodReference& o = use.ood;
  if (o.present())
    json["ood"] = {{"k", o.k},
                   {"limit", o.limit},
                   {"pass_rate", o.pass_rate},
                   {"references", o.references},
                   {"dimension", o.dimension},
                   {"fitted_on", o.fitted_on},
                   {"record", o.record}};
  return json;
}

IntendedUse intended_use_from_json(const nlohmann::json& json, const std::string& source) {
  IntendedUse use;
  try {
    if (json.contains("population")) {
      const nlohmann::json& p = json.at("population");
      use.population.description = p.value("description", "");
      use.population.modalities = upper_list(p, "modalities");
      use.population.views = upper_list(p, "views");
      use.population.body_parts = upper_list(p, "body_parts");
      if (p.contains("age_years")) {
        const auto range = p.at("age_years").get<std::vector<int>>();
        if (range.size() != 2 || range[0] < 0 || range[1] > 130 || range[0] > range[1])
          throw ModelFileError(source, "population age range must be [min, max] years within 0-130");
        use.population.age_years = std::make_pair(range[0], range[1]);
      }
    }
    if (json.contains("ood")) {
      const nlohmann::json& o = json.at("ood");
      use.ood.k = o.at("k").get<int>();
      use.ood.limit = o.at("limit").get<double>();
      use.ood.pass_rate = o.value("pass_rate", 0.99);
      use.ood.references = o.at("references").get<int64_t>();
      use.ood.dimension = o.at("dimension").get<int64_t>();
      use.ood.fitted_on = o.value("fitted_on", "");
      use.ood.record = o.value("record", nlohmann::json::object());
      if (use.ood.k < 1 || use.ood.k > 100 || use.ood.k > use.ood.references)
        throw ModelFileError(
            source, "out-of-distribution reference: k must lie in 1-100 and not exceed the references");
      if (!std::isfinite(use.ood.limit) || use.ood.references < 1 || use.ood.references > 1'000'000 ||
          use.ood.dimension < 1 || use.ood.dimension > 100'000)
        throw ModelFileError(source, "out-of-distribution reference: bad limit or size");
    }
  } catch (const nlohmann::json::exception& e) {
    throw ModelFileError(source, std::string("bad intended-use metadata: ") + json_problem(e));
  }
  return use;
}

std::pair<int, int> parse_age_range(const std::string& text) {
  const std::string usage = "expected an age range in years such as 1-5, got '" + text.substr(0, 40) + "'";
  const auto dash = text.find('-');
  auto number = [&](const std::string& s) {
    if (s.empty() || s.size() > 3) throw UsageError(usage);
    for (char c : s)
      if (!std::isdigit(static_cast<unsigned char>(c))) throw UsageError(usage);
    return std::stoi(s);
  };
  const int low = number(text.substr(0, dash));
  const int high = dash == std::string::npos ? low : number(text.substr(dash + 1));
  if (low > high || high > 130) throw UsageError(usage);
  return {low, high};
}

}  // namespace pneumoscan

#include "core/precision.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "core/errors.h"

namespace pneumoscan {

Precision parse_precision(const std::string& text) {
  std::string name = text;
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  if (name == "fp32" || name == "float32") return Precision::kFloat32;
  if (name == "bf16" || name == "bfloat16") return Precision::kBFloat16;
  throw UsageError("unknown precision '" + text + "' (use fp32 or bf16)");
}

std::string precision_name(Precision precision) {
  return precision == Precision::kBFloat16 ? "bfloat16" : "float32";
}

c10::ScalarType scalar_type(Precision precision) {
  return precision == Precision::kBFloat16 ? c10::kBFloat16 : c10::kFloat;
}

bool cpu_flags_have_native_bf16(const std::string& flags) {
  std::istringstream words(flags);
  for (std::string word; words >> word;)
    if (word == "avx512_bf16" || word == "amx_bf16") return true;
  return false;
}

bool cpu_has_native_bf16() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);)
    if (line.rfind("flags", 0) == 0) return cpu_flags_have_native_bf16(line.substr(line.find(':') + 1));
  return false;
}

void check_precision_supported(Precision precision, c10::Device device) {
  if (precision != Precision::kBFloat16 || !device.is_cpu()) return;
  if (!cpu_has_native_bf16())
    throw UsageError(
        "--precision bf16 needs a CPU with AVX512-BF16 or AMX (this one has neither, so bf16 would be "
        "emulated and slower than float32); use --precision fp32");
}

}  // namespace pneumoscan

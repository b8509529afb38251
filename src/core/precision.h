#pragma once
// The number format inference computes in. float32 is the default and what
// every model is trained, calibrated and thresholded in; bfloat16 halves the
// bytes each convolution moves and runs on the AVX512-BF16/AMX units of
// recent x86 CPUs (README "Performance": resnet18 batch 1 at 224 px 15.2 ->
// 8.4 ms here) at a probability change the README reports per model.
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <string>

namespace pneumoscan {

enum class Precision { kFloat32, kBFloat16 };

// "fp32"/"float32" or "bf16"/"bfloat16", in any case; throws UsageError naming the choices otherwise.
Precision parse_precision(const std::string& text);
// "float32" or "bfloat16": what results and logs record.
std::string precision_name(Precision precision);
c10::ScalarType scalar_type(Precision precision);

// Whether a /proc/cpuinfo "flags" line lists native bf16 arithmetic
// (avx512_bf16 or amx_bf16). Without it oneDNN emulates bf16 and runs slower
// than float32, so asking for it there is refused rather than honoured.
bool cpu_flags_have_native_bf16(const std::string& flags);
// This machine's answer (false where /proc/cpuinfo cannot be read).
bool cpu_has_native_bf16();

// Throws UsageError when `precision` cannot run well on `device`: bfloat16 on
// a CPU without native bf16 (the message says what to use instead).
void check_precision_supported(Precision precision, c10::Device device);

}  // namespace pneumoscan

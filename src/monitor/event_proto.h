#pragma once
// TensorBoard's Event message and the Summary values PneumoScan writes and
// reads, under the field numbers of TensorFlow's tensorflow/core/util/event.proto
// and tensorflow/core/framework/summary.proto (+ tensor.proto for text):
//   Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
//   Summary { repeated Value value = 1; }
//   Value   { string tag = 1; float simple_value = 2; Image image = 4; HistogramProto histo = 5;
//             TensorProto tensor = 8; SummaryMetadata metadata = 9; }
//   Image   { int32 height = 1; int32 width = 2; int32 colorspace = 3; bytes encoded_image_string = 4; }
//   HistogramProto { double min = 1, max = 2, num = 3, sum = 4, sum_squares = 5;
//                    repeated double bucket_limit = 6 [packed]; repeated double bucket = 7 [packed]; }
//   SummaryMetadata { PluginData plugin_data = 1 { string plugin_name = 1; bytes content = 2; } }
//   TensorProto { DataType dtype = 1; TensorShapeProto tensor_shape = 2; bytes tensor_content = 4;
//                 repeated float float_val = 5; repeated double double_val = 6; repeated bytes string_val =
//                 8; }
// Text is the text plugin's form: a DT_STRING scalar tensor with plugin_name "text".
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pneumoscan {

struct Histogram {
  double min = 0, max = 0, num = 0, sum = 0, sum_squares = 0;
  std::vector<double> bucket_limit;  // right edge of each bucket (the first starts at -inf)
  std::vector<double> bucket;        // count per bucket
};

// `bins` equal-width buckets from the smallest to the largest finite value;
// NaN and infinities are left out. An empty histogram has no buckets.
Histogram make_histogram(const float* values, size_t count, int bins = 30);

struct SummaryImage {
  int height = 0, width = 0;
  int colorspace = 0;   // 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
  std::string encoded;  // PNG bytes
};

struct SummaryValue {
  enum class Kind { kScalar, kImage, kHistogram, kText, kOther };
  std::string tag;
  Kind kind = Kind::kOther;
  double scalar = 0;
  SummaryImage image;
  Histogram histogram;
  std::string text;
};

struct Event {
  double wall_time = 0;
  int64_t step = 0;
  std::string file_version;  // set only in a file's first event ("brain.Event:2")
  std::vector<SummaryValue> values;
};

// The serialized Event (kOther values are not written).
std::string encode_event(const Event& event);

// Parses an Event. Values of kinds it does not know (audio, other plugins'
// tensors) come back as kOther with their tag. Throws ProtoError on malformed bytes.
Event decode_event(std::string_view bytes);

}  // namespace pneumoscan

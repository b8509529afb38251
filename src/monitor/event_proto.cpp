#include "monitor/event_proto.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "monitor/proto_wire.h"

namespace pneumoscan {
namespace {

// Field numbers (see the header for their messages).
enum EventField { kWallTime = 1, kStep = 2, kFileVersion = 3, kSummary = 5 };
enum SummaryField { kValue = 1 };
enum ValueField { kTag = 1, kSimpleValue = 2, kImage = 4, kHisto = 5, kTensor = 8, kMetadata = 9 };
enum ImageField { kHeight = 1, kWidth = 2, kColorspace = 3, kEncoded = 4 };
enum HistoField { kMin = 1, kMax = 2, kNum = 3, kSum = 4, kSumSquares = 5, kBucketLimit = 6, kBucket = 7 };
enum MetadataField { kPluginData = 1 };
enum PluginDataField { kPluginName = 1 };
enum TensorField {
  kDtype = 1,
  kTensorShape = 2,
  kTensorContent = 4,
  kFloatVal = 5,
  kDoubleVal = 6,
  kStringVal = 8
};
enum DataType { kDtFloat = 1, kDtDouble = 2, kDtString = 7 };
constexpr int kWireFixed64 = 1, kWireBytes = 2, kWireFixed32 = 5;

std::string encode_value(const SummaryValue& v) {
  ProtoEncoder out;
  out.bytes_field(kTag, v.tag);
  switch (v.kind) {
    case SummaryValue::Kind::kScalar:
      out.float_field(kSimpleValue, static_cast<float>(v.scalar));
      break;
    case SummaryValue::Kind::kImage: {
      ProtoEncoder image;
      image.varint_field(kHeight, static_cast<uint64_t>(v.image.height));
      image.varint_field(kWidth, static_cast<uint64_t>(v.image.width));
      image.varint_field(kColorspace, static_cast<uint64_t>(v.image.colorspace));
      image.bytes_field(kEncoded, v.image.encoded);
      out.bytes_field(kImage, image.bytes());
      break;
    }
    case SummaryValue::Kind::kHistogram: {
      const Histogram& h = v.histogram;
      ProtoEncoder histo;
      histo.double_field(kMin, h.min);
      histo.double_field(kMax, h.max);
      histo.double_field(kNum, h.num);
      histo.double_field(kSum, h.sum);
      histo.double_field(kSumSquares, h.sum_squares);
      histo.packed_doubles(kBucketLimit, h.bucket_limit);
      histo.packed_doubles(kBucket, h.bucket);
      out.bytes_field(kHisto, histo.bytes());
      break;
    }
    case SummaryValue::Kind::kText: {
      ProtoEncoder plugin, metadata, tensor;
      plugin.bytes_field(kPluginName, "text");
      metadata.bytes_field(kPluginData, plugin.bytes());
      out.bytes_field(kMetadata, metadata.bytes());
      tensor.varint_field(kDtype, kDtString);
      tensor.bytes_field(kTensorShape, "");  // a scalar: no dimensions
      tensor.bytes_field(kStringVal, v.text);
      out.bytes_field(kTensor, tensor.bytes());
      break;
    }
    case SummaryValue::Kind::kOther:
      break;
  }
  return out.bytes();
}

void decode_image(std::string_view bytes, SummaryImage& image) {
  ProtoDecoder in(bytes);
  ProtoField f;
  while (in.next(f)) {
    if (f.number == kHeight)
      image.height = static_cast<int>(f.value);
    else if (f.number == kWidth)
      image.width = static_cast<int>(f.value);
    else if (f.number == kColorspace)
      image.colorspace = static_cast<int>(f.value);
    else if (f.number == kEncoded && f.wire_type == kWireBytes)
      image.encoded = std::string(f.bytes);
  }
}

// Repeated doubles arrive packed (the usual form) or one field per value.
void append_doubles(const ProtoField& f, std::vector<double>& values) {
  if (f.wire_type == kWireBytes) {
    const std::vector<double> unpacked = unpack_doubles(f.bytes);
    values.insert(values.end(), unpacked.begin(), unpacked.end());
  } else if (f.wire_type == kWireFixed64) {
    values.push_back(f.as_double());
  }
}

void decode_histogram(std::string_view bytes, Histogram& h) {
  ProtoDecoder in(bytes);
  ProtoField f;
  while (in.next(f)) {
    if (f.number >= kMin && f.number <= kSumSquares && f.wire_type == kWireFixed64) {
      double* fields[] = {&h.min, &h.max, &h.num, &h.sum, &h.sum_squares};
      *fields[f.number - kMin] = f.as_double();
    } else if (f.number == kBucketLimit) {
      append_doubles(f, h.bucket_limit);
    } else if (f.number == kBucket) {
      append_doubles(f, h.bucket);
    }
  }
}

std::string plugin_name(std::string_view metadata) {
  ProtoDecoder in(metadata);
  ProtoField f;
  while (in.next(f))
    if (f.number == kPluginData && f.wire_type == kWireBytes) {
      ProtoDecoder plugin(f.bytes);
      ProtoField p;
      while (plugin.next(p))
        if (p.number == kPluginName && p.wire_type == kWireBytes) return std::string(p.bytes);
    }
  return "";
}

// A text tensor (DT_STRING) or a one-element float/double tensor (how TF2 writes scalars).
void decode_tensor(std::string_view bytes, const std::string& plugin, SummaryValue& v) {
  ProtoDecoder in(bytes);
  ProtoField f;
  int64_t dtype = 0;
  std::vector<std::string_view> strings;
  std::vector<double> numbers;
  std::string_view content;
  while (in.next(f)) {
    if (f.number == kDtype)
      dtype = static_cast<int64_t>(f.value);
    else if (f.number == kStringVal && f.wire_type == kWireBytes)
      strings.push_back(f.bytes);
    else if (f.number == kDoubleVal)
      append_doubles(f, numbers);
    else if (f.number == kTensorContent && f.wire_type == kWireBytes)
      content = f.bytes;
    else if (f.number == kFloatVal && f.wire_type == kWireFixed32)
      numbers.push_back(f.as_float());
    else if (f.number == kFloatVal && f.wire_type == kWireBytes) {
      if (f.bytes.size() % 4 != 0) throw ProtoError("packed floats not a multiple of 4 bytes");
      for (size_t i = 0; i < f.bytes.size(); i += 4) {
        float value;
        std::memcpy(&value, f.bytes.data() + i, 4);  // little-endian host (x86-64, aarch64)
        numbers.push_back(value);
      }
    }
  }
  if (dtype == kDtString && (plugin == "text" || plugin.empty()) && !strings.empty()) {
    v.kind = SummaryValue::Kind::kText;
    v.text = std::string(strings.front());
  } else if ((dtype == kDtFloat || dtype == kDtDouble) && (plugin == "scalars" || plugin.empty())) {
    if (numbers.empty() && content.size() == (dtype == kDtFloat ? 4u : 8u)) {
      if (dtype == kDtFloat) {
        float value;
        std::memcpy(&value, content.data(), 4);
        numbers.push_back(value);
      } else {
        numbers.push_back(unpack_doubles(content).front());
      }
    }
    if (numbers.size() == 1) {
      v.kind = SummaryValue::Kind::kScalar;
      v.scalar = numbers.front();
    }
  }
}

SummaryValue decode_value(std::string_view bytes) {
  SummaryValue v;
  ProtoDecoder in(bytes);
  ProtoField f;
  std::string plugin;
  std::string_view tensor;
  bool has_tensor = false;
  while (in.next(f)) {
    if (f.number == kTag && f.wire_type == kWireBytes) {
      v.tag = std::string(f.bytes);
    } else if (f.number == kSimpleValue && f.wire_type == kWireFixed32) {
      v.kind = SummaryValue::Kind::kScalar;
      v.scalar = f.as_float();
    } else if (f.number == kImage && f.wire_type == kWireBytes) {
      v.kind = SummaryValue::Kind::kImage;
      decode_image(f.bytes, v.image);
    } else if (f.number == kHisto && f.wire_type == kWireBytes) {
      v.kind = SummaryValue::Kind::kHistogram;
      decode_histogram(f.bytes, v.histogram);
    } else if (f.number == kMetadata && f.wire_type == kWireBytes) {
      plugin = plugin_name(f.bytes);
    } else if (f.number == kTensor && f.wire_type == kWireBytes) {
      tensor = f.bytes;
      has_tensor = true;
    }
  }
  if (has_tensor && v.kind == SummaryValue::Kind::kOther) decode_tensor(tensor, plugin, v);
  return v;
}

}  // namespace

Histogram make_histogram(const float* values, size_t count, int bins) {
  Histogram h;
  h.min = INFINITY;
  h.max = -INFINITY;
  for (size_t i = 0; i < count; ++i) {
    const double x = values[i];
    if (!std::isfinite(x)) continue;
    h.min = std::min(h.min, x);
    h.max = std::max(h.max, x);
    h.num += 1;
    h.sum += x;
    h.sum_squares += x * x;
  }
  if (h.num == 0) {
    h.min = h.max = 0;
    return h;
  }
  bins = std::max(1, bins);
  if (h.max == h.min) bins = 1;
  const double width = (h.max - h.min) / bins;
  h.bucket.assign(bins, 0.0);
  for (int i = 0; i < bins; ++i) h.bucket_limit.push_back(i + 1 == bins ? h.max : h.min + width * (i + 1));
  for (size_t i = 0; i < count; ++i) {
    const double x = values[i];
    if (!std::isfinite(x)) continue;
    const int bin = bins == 1 ? 0 : std::min(bins - 1, static_cast<int>((x - h.min) / width));
    h.bucket[bin] += 1;
  }
  return h;
}

std::string encode_event(const Event& event) {
  ProtoEncoder out;
  out.double_field(kWallTime, event.wall_time);
  if (event.step != 0) out.varint_field(kStep, static_cast<uint64_t>(event.step));
  if (!event.file_version.empty()) {
    out.bytes_field(kFileVersion, event.file_version);
  } else if (!event.values.empty()) {
    ProtoEncoder summary;
    for (const SummaryValue& v : event.values)
      if (v.kind != SummaryValue::Kind::kOther) summary.bytes_field(kValue, encode_value(v));
    out.bytes_field(kSummary, summary.bytes());
  }
  return out.bytes();
}

Event decode_event(std::string_view bytes) {
  Event event;
  ProtoDecoder in(bytes);
  ProtoField f;
  while (in.next(f)) {
    if (f.number == kWallTime && f.wire_type == kWireFixed64) {
      event.wall_time = f.as_double();
    } else if (f.number == kStep && f.wire_type == 0) {
      event.step = static_cast<int64_t>(f.value);
    } else if (f.number == kFileVersion && f.wire_type == kWireBytes) {
      event.file_version = std::string(f.bytes);
    } else if (f.number == kSummary && f.wire_type == kWireBytes) {
      ProtoDecoder summary(f.bytes);
      ProtoField s;
      while (summary.next(s))
        if (s.number == kValue && s.wire_type == kWireBytes) event.values.push_back(decode_value(s.bytes));
    }
  }
  return event;
}

}  // namespace pneumoscan

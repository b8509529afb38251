// TensorBoard event files (src/monitor): CRC-32C test vectors, the protobuf
// encoding, TFRecord framing, the writer checked by a reader that shares none
// of its code (tfevents_check.h) and by Google's protobuf runtime
// (tfevents_check.py, where python3-protobuf is installed), and the
// fuzz-safety of the reader the board uses.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "core/errors.h"
#include "monitor/crc32c.h"
#include "monitor/event_reader.h"
#include "monitor/event_writer.h"
#include "monitor/proto_wire.h"
#include "monitor/tfrecord.h"
#include "test_support.h"
#include "tfevents_check.h"

namespace pneumoscan {
namespace {
namespace fs = std::filesystem;

// PNG-looking bytes (signature + IHDR of a 1x1 gray image): the writer carries them unchanged.
const char kPngBytes[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\0\0\0\0";
const std::string kPng(kPngBytes, sizeof kPngBytes - 1);

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// A run as the trainer's observer writes it: every kind of value.
std::string write_sample_run(const fs::path& dir) {
  EventWriter writer(dir.string());
  for (int step = 1; step <= 5; ++step) writer.add_scalar("step/train_loss", 1.0 / step, step);
  const std::vector<float> weights = {-1.5f, -0.5f, 0.0f, 0.25f, 0.5f, 2.0f, NAN};
  writer.add_histogram("weights/conv1", weights.data(), weights.size(), 1, 4);
  writer.add_image("gradcam/0", kPng, 1, 1, 1, 1);
  writer.add_text("config", "    {\"architecture\": \"small-cnn\"}", 0);
  writer.flush();
  return writer.path();
}

TEST(Crc32c, StandardCheckValues) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);  // RFC 3720 B.4
  EXPECT_EQ(crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  std::string ascending, descending;
  for (int i = 0; i < 32; ++i) {
    ascending.push_back(static_cast<char>(i));
    descending.push_back(static_cast<char>(31 - i));
  }
  EXPECT_EQ(crc32c(ascending), 0x46DD794Eu);
  EXPECT_EQ(crc32c(descending), 0x113FDB5Cu);
  EXPECT_EQ(crc32c(""), 0u);
  // Continuing a CRC over a split buffer gives the CRC of the whole.
  EXPECT_EQ(crc32c("6789", 4, crc32c("12345", 5)), 0xE3069283u);
}

TEST(Crc32c, AgreesWithABitwiseImplementation) {
  std::mt19937 rng(5);
  for (int n : {1, 7, 64, 1000, 4099}) {
    std::string bytes(n, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    EXPECT_EQ(crc32c(bytes), test::tfevents_detail::crc32c_bitwise(bytes)) << n << " bytes";
  }
}

TEST(TfRecord, FramesWithMaskedChecksumsAndRejectsDamage) {
  const std::string record = frame_record("hello");
  ASSERT_EQ(record.size(), 21u);
  EXPECT_EQ(record.substr(0, 8), std::string("\x05\0\0\0\0\0\0\0", 8));
  const RecordRead read = read_record(record);
  ASSERT_EQ(read.status, RecordRead::Status::kRecord);
  EXPECT_EQ(read.data, "hello");
  EXPECT_EQ(read.size, 21u);
  for (size_t cut = 0; cut < record.size(); ++cut)
    EXPECT_EQ(read_record(record.substr(0, cut)).status, RecordRead::Status::kNeedMore) << cut;
  for (size_t at = 0; at < record.size(); ++at) {
    std::string damaged = record;
    damaged[at] ^= 0x20;
    const RecordRead bad = read_record(damaged);
    // A damaged length may also claim more bytes than there are; it never passes as a record.
    EXPECT_NE(bad.status, RecordRead::Status::kRecord) << "byte " << at;
  }
  // A length over the limit is refused before anything is allocated or awaited.
  const std::string huge = frame_record(std::string(100, 'x'));
  EXPECT_EQ(read_record(huge, 99).status, RecordRead::Status::kCorrupt);
  EXPECT_NE(read_record(huge, 99).problem.find("limit"), std::string::npos);
}

TEST(EventProto, RoundTripsEveryKind) {
  Event event;
  event.wall_time = 1700000000.25;
  event.step = 1234567890123;
  SummaryValue scalar, image, histo, text;
  scalar.tag = "epoch/val_loss";
  scalar.kind = SummaryValue::Kind::kScalar;
  scalar.scalar = 0.125;
  image.tag = "gradcam/0";
  image.kind = SummaryValue::Kind::kImage;
  image.image = {2, 3, 3, kPng};
  histo.tag = "weights/fc";
  histo.kind = SummaryValue::Kind::kHistogram;
  const std::vector<float> values = {1, 2, 3, 4};
  histo.histogram = make_histogram(values.data(), values.size(), 2);
  text.tag = "config";
  text.kind = SummaryValue::Kind::kText;
  text.text = "lr = 1e-3";
  event.values = {scalar, image, histo, text};
  const Event back = decode_event(encode_event(event));
  EXPECT_EQ(back.wall_time, event.wall_time);
  EXPECT_EQ(back.step, event.step);
  ASSERT_EQ(back.values.size(), 4u);
  EXPECT_EQ(back.values[0].tag, "epoch/val_loss");
  EXPECT_EQ(back.values[0].scalar, 0.125);
  EXPECT_EQ(back.values[1].kind, SummaryValue::Kind::kImage);
  EXPECT_EQ(back.values[1].image.width, 3);
  EXPECT_EQ(back.values[1].image.encoded, kPng);
  EXPECT_EQ(back.values[2].histogram.bucket, (std::vector<double>{2, 2}));
  EXPECT_EQ(back.values[2].histogram.bucket_limit, (std::vector<double>{2.5, 4}));
  EXPECT_EQ(back.values[3].kind, SummaryValue::Kind::kText);
  EXPECT_EQ(back.values[3].text, "lr = 1e-3");
}

TEST(EventProto, HistogramCountsEveryFiniteValue) {
  const std::vector<float> values = {-3, -1, 0, 0, 1, 2, 5, NAN, INFINITY};
  const Histogram h = make_histogram(values.data(), values.size(), 4);
  EXPECT_EQ(h.num, 7);
  EXPECT_EQ(h.min, -3);
  EXPECT_EQ(h.max, 5);
  EXPECT_EQ(h.sum, 4);
  EXPECT_EQ(h.sum_squares, 40);
  EXPECT_EQ(h.bucket, (std::vector<double>{1, 3, 2, 1}));  // [lo, hi), the maximum in the last
  EXPECT_EQ(h.bucket_limit, (std::vector<double>{-1, 1, 3, 5}));
  const std::vector<float> same = {0.5f, 0.5f};
  EXPECT_EQ(make_histogram(same.data(), same.size()).bucket, (std::vector<double>{2}));
  EXPECT_TRUE(make_histogram(values.data() + 7, 2).bucket.empty());
}

TEST(EventWriter, FileIsReadBackByAnIndependentReader) {
  test::TempDir dir;
  const std::string path = write_sample_run(dir.path / "run");
  EXPECT_EQ(fs::path(path).filename().string().rfind("events.out.tfevents.", 0), 0u) << path;
  const std::vector<test::CheckedEvent> events = test::read_events_independently(path);
  ASSERT_EQ(events.size(), 9u);
  EXPECT_EQ(events[0].file_version, "brain.Event:2");
  EXPECT_GT(events[0].wall_time, 1.6e9);
  for (int step = 1; step <= 5; ++step) {
    const test::CheckedEvent& e = events[step];
    EXPECT_EQ(e.step, step);
    ASSERT_EQ(e.values.size(), 1u);
    EXPECT_EQ(e.values[0].tag, "step/train_loss");
    EXPECT_EQ(e.values[0].kind, "scalar");
    EXPECT_FLOAT_EQ(e.values[0].simple_value, 1.0f / step);
  }
  const test::CheckedValue& histo = events[6].values.at(0);
  EXPECT_EQ(histo.kind, "histo");
  EXPECT_EQ(histo.histo_num, 6);
  EXPECT_EQ(histo.bucket_total, 6);
  EXPECT_EQ(histo.buckets, 4u);
  EXPECT_EQ(histo.bucket_limits, 4u);
  EXPECT_EQ(histo.histo_min, -1.5);
  EXPECT_EQ(histo.histo_max, 2.0);
  const test::CheckedValue& image = events[7].values.at(0);
  EXPECT_EQ(image.kind, "image");
  EXPECT_EQ(image.png, kPng);
  EXPECT_EQ(image.height * image.width * image.colorspace, 1);
  const test::CheckedValue& text = events[8].values.at(0);
  EXPECT_EQ(text.kind, "text");
  EXPECT_EQ(text.plugin, "text");
  EXPECT_EQ(text.text, "    {\"architecture\": \"small-cnn\"}");
}

TEST(EventWriter, WritersInOneFolderGetFilesOfTheirOwn) {
  test::TempDir dir;
  EventWriter a(dir.path.string()), b(dir.path.string());
  EXPECT_NE(a.path(), b.path());
  EXPECT_EQ(test::read_events_independently(a.path()).size(), 1u);
  EXPECT_EQ(test::read_events_independently(b.path()).size(), 1u);
}

TEST(EventWriter, UnusableFolderIsAnIoErrorNamingIt) {
  test::TempDir dir;
  write_bytes(dir / "file", "x");
  try {
    EventWriter writer(dir / "file/run");
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(dir / "file/run"), std::string::npos) << e.what();
  }
}

TEST(EventReader, FollowsAFileAsItGrows) {
  test::TempDir dir;
  const std::string whole = file_bytes(write_sample_run(dir.path / "source"));
  const std::string path = dir / "events.out.tfevents.1.growing";
  EventFileReader reader(path);
  size_t seen = 0;
  // Bytes arrive in uneven pieces, cutting records anywhere.
  for (size_t end = 0; end <= whole.size(); end += 37) {
    write_bytes(path, whole.substr(0, end));
    seen += reader.poll([](const Event&) {});
    EXPECT_TRUE(reader.error().empty()) << reader.error();
  }
  write_bytes(path, whole);
  seen += reader.poll([](const Event&) {});
  EXPECT_EQ(seen, 9u);
  EXPECT_EQ(reader.offset(), whole.size());
}

TEST(EventReader, ChecksumMismatchStopsTheFileAtItsOffset) {
  test::TempDir dir;
  const std::string path = write_sample_run(dir.path);
  std::string bytes = file_bytes(path);
  const size_t first = read_record(bytes).size;
  bytes[first + 14] ^= 1;  // inside the second record's data
  write_bytes(path, bytes);
  EventFileReader reader(path);
  EXPECT_EQ(reader.poll([](const Event&) {}), 1u);
  EXPECT_TRUE(reader.stopped());
  EXPECT_NE(reader.error().find("data checksum mismatch at byte " + std::to_string(first)), std::string::npos)
      << reader.error();
  try {
    read_event_file(path);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ": record data checksum mismatch", 0), 0u) << e.what();
  }
  write_bytes(path, file_bytes(path).substr(0, first + 5));
  EXPECT_THROW(read_event_file(path), InputError);  // a truncated record in a finished file
}

TEST(EventReader, SurvivesRandomDamage) {
  test::TempDir dir;
  const std::string whole = file_bytes(write_sample_run(dir.path / "source"));
  const std::string path = dir / "events.out.tfevents.1.fuzz";
  std::mt19937 rng(12);
  size_t events = 0;
  for (int round = 0; round < 1500; ++round) {
    std::string bytes = whole;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % bytes.size();
      switch (rng() % 3) {
        case 0:
          bytes[at] = static_cast<char>(rng());
          break;
        case 1:
          bytes.resize(at);
          break;
        default:
          bytes.insert(at, std::string(1 + rng() % 9, static_cast<char>(rng())));
          break;
      }
      if (bytes.empty()) bytes = "x";
    }
    write_bytes(path, bytes);
    EventFileReader reader(path);
    events += reader.poll([](const Event&) {});
  }
  EXPECT_GT(events, 0u);
  // The protobuf decoder alone on random bytes: an event or ProtoError, nothing else.
  for (int round = 0; round < 20000; ++round) {
    std::string bytes(rng() % 64, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    try {
      decode_event(bytes);
    } catch (const ProtoError&) {
    }
  }
}

// Google's own protobuf runtime reads the file (tests/tfevents_check.py).
TEST(EventWriter, GoogleProtobufRuntimeReadsTheFile) {
  test::TempDir dir;
  const std::string path = write_sample_run(dir.path);
  const std::string script = std::string(PNEUMOSCAN_SOURCE_DIR) + "/tests/tfevents_check.py";
  const test::CommandResult result = test::run_command("/usr/bin/python3 '" + script + "' '" + path + "'");
  if (result.exit_code == 3 || result.exit_code == 127) {
    if (test::running_under_ci()) FAIL() << "python3-protobuf missing (scripts/setup.sh installs it)";
    GTEST_SKIP() << "python3-protobuf not installed: " << result.output;
  }
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const nlohmann::json events = nlohmann::json::parse(result.output);
  ASSERT_EQ(events.size(), 9u);
  EXPECT_EQ(events[0]["file_version"], "brain.Event:2");
  EXPECT_EQ(events[3]["step"], 3);
  EXPECT_EQ(events[3]["values"][0]["tag"], "step/train_loss");
  EXPECT_FLOAT_EQ(events[3]["values"][0]["value"].get<float>(), 1.0f / 3);
  EXPECT_EQ(events[6]["values"][0]["kind"], "histo");
  EXPECT_EQ(events[6]["values"][0]["bucket_total"], 6.0);
  EXPECT_EQ(events[7]["values"][0]["png_signature"], true);
  EXPECT_EQ(events[8]["values"][0]["text"], "    {\"architecture\": \"small-cnn\"}");
  EXPECT_EQ(events[8]["values"][0]["dtype"], 7);
}

}  // namespace
}  // namespace pneumoscan

// Tests of the DICOM side of decode_image (src/image/dicom.cpp) on the RSNA files
// in ../shared and on pydicom's test files (installed by the setup script).
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <opencv2/imgcodecs.hpp>
#include <thread>
#include <tuple>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/hash.h"
#include "image/dicom_dataset.h"
#include "image/image.h"
#include "test_support.h"

using namespace pneumoscan;
namespace fs = std::filesystem;

namespace {

const char* const kPydicomDir = "/usr/lib/python3/dist-packages/pydicom/data/test_files";

std::string pydicom_path(const std::string& name) {
  const fs::path path = fs::path(kPydicomDir) / name;
  return fs::exists(path) ? path.string() : std::string();
}

}  // namespace

// Like PNEUMOSCAN_REQUIRE_SHARED for pydicom's test files: skip when absent, fail under CI.
#define REQUIRE_PYDICOM(var, name)                                                                \
  const std::string var = pydicom_path(name);                                                     \
  if (var.empty()) {                                                                              \
    if (::pneumoscan::test::running_under_ci()) FAIL() << "pydicom test file missing: " << name;  \
    GTEST_SKIP() << "pydicom test files not found (" << name << "); apt install python3-pydicom"; \
  }

namespace {

double max_abs_diff(const cv::Mat& a, const cv::Mat& b) { return cv::norm(a, b, cv::NORM_INF); }

// Patient name and ID as strings, read with DCMTK directly (test-only).
std::vector<std::string> patient_identifiers(const std::string& path) {
  DcmFileFormat file;
  std::vector<std::string> out;
  if (file.loadFile(path.c_str()).bad()) return out;
  OFString value;
  for (const DcmTagKey& key : {DCM_PatientName, DCM_PatientID})
    if (file.getDataset()->findAndGetOFString(key, value).good() && value.length() >= 3)
      out.push_back(value.c_str());
  return out;
}

std::string decode_error(const std::string& path) {
  try {
    decode_image(path);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

void expect_no_identifiers(const std::string& text, const std::string& source) {
  for (const auto& id : patient_identifiers(source)) EXPECT_EQ(text.find(id), std::string::npos) << text;
}

// DCMTK's linear VOI window (PS3.3 C.11.2.1.2) on the raw pixel values of a file.
cv::Mat expected_windowed(const std::string& path, double center, double width) {
  DcmFileFormat file;
  EXPECT_TRUE(file.loadFile(path.c_str()).good());
  DcmDataset* ds = file.getDataset();
  Uint16 rows = 0, cols = 0;
  ds->findAndGetUint16(DCM_Rows, rows);
  ds->findAndGetUint16(DCM_Columns, cols);
  const Uint16* raw = nullptr;
  EXPECT_TRUE(ds->findAndGetUint16Array(DCM_PixelData, raw).good());
  cv::Mat out(rows, cols, CV_32FC1);
  for (int i = 0; i < rows * cols; ++i) {
    const double v = ((raw[i] - (center - 0.5)) / (width - 1) + 0.5);
    out.at<float>(i / cols, i % cols) = static_cast<float>(std::clamp(v, 0.0, 1.0));
  }
  return out;
}

}  // namespace

TEST(Dicom, RsnaChestFilesDecode) {
  PNEUMOSCAN_REQUIRE_SHARED(dir, "data/dicom/rsna");
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".dcm") files.push_back(e.path().string());
  ASSERT_EQ(files.size(), 16u);
  for (const auto& path : files) {
    SCOPED_TRACE(path);
    const Image image = decode_image(path);
    EXPECT_EQ(image.format, "dicom");
    EXPECT_EQ(image.width(), 1024);
    EXPECT_EQ(image.height(), 1024);
    EXPECT_EQ(image.bits_stored, 8);
    cv::Scalar mean, stddev;
    cv::meanStdDev(image.pixels, mean, stddev);
    double lo, hi;
    cv::minMaxLoc(image.pixels, &lo, &hi);
    EXPECT_GE(lo, 0.0);
    EXPECT_LE(hi, 1.0);
    EXPECT_GT(mean[0], 0.15);
    EXPECT_LT(mean[0], 0.85);
    EXPECT_GT(stddev[0], 0.08);
    ASSERT_TRUE(image.dicom.has_value());
    const DicomInfo& info = *image.dicom;
    EXPECT_EQ(info.transfer_syntax_uid, UID_JPEGProcess1TransferSyntax);  // JPEG Baseline
    EXPECT_EQ(info.modality, "CR");
    EXPECT_TRUE(info.view_position == "PA" || info.view_position == "AP") << info.view_position;
    EXPECT_TRUE(info.sex == "M" || info.sex == "F") << info.sex;
    ASSERT_TRUE(info.age_years.has_value());
    EXPECT_GT(*info.age_years, 0);
    EXPECT_LT(*info.age_years, 120);
    EXPECT_EQ(info.photometric, "MONOCHROME2");
    EXPECT_EQ(info.patient_hash.rfind("dcm-", 0), 0u);
    EXPECT_EQ(info.patient_hash.size(), 20u);
    EXPECT_FALSE(info.sop_instance_uid.empty());
    EXPECT_FALSE(info.study_instance_uid.empty());
  }
}

// The RSNA files hold one JPEG Baseline stream each: decoding that stream with
// OpenCV and applying the min-max window must give the same pixels.
TEST(Dicom, RsnaPixelsMatchIndependentJpegDecode) {
  PNEUMOSCAN_REQUIRE_SHARED(dir, "data/dicom/rsna");
  size_t checked = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".dcm") continue;
    SCOPED_TRACE(e.path().string());
    const std::string bytes = read_file(e.path().string());
    const size_t pixel_tag = bytes.find(std::string("\xE0\x7F\x10\x00", 4));
    ASSERT_NE(pixel_tag, std::string::npos);
    const size_t start = bytes.find("\xFF\xD8\xFF", pixel_tag);
    const size_t end = bytes.rfind("\xFF\xD9");
    ASSERT_NE(start, std::string::npos);
    ASSERT_NE(end, std::string::npos);
    const std::vector<uint8_t> jpeg(bytes.begin() + start, bytes.begin() + end + 2);
    const cv::Mat raw = cv::imdecode(jpeg, cv::IMREAD_GRAYSCALE);
    ASSERT_EQ(raw.size(), cv::Size(1024, 1024));
    double lo, hi;
    cv::minMaxLoc(raw, &lo, &hi);
    cv::Mat expected;
    raw.convertTo(expected, CV_32F, 1.0 / (hi - lo), -lo / (hi - lo));
    EXPECT_LT(max_abs_diff(decode_image(e.path().string()).pixels, expected), 1.0 / 255.0);
    ++checked;
  }
  EXPECT_EQ(checked, 16u);
}

TEST(Dicom, Uncompressed16BitWithWindow) {
  REQUIRE_PYDICOM(path, "MR_small.dcm");
  const Image image = decode_image(path);
  EXPECT_EQ(image.width(), 64);
  EXPECT_EQ(image.height(), 64);
  EXPECT_EQ(image.bits_stored, 16);
  // The file's WindowCenter/Width 600/1600 are applied.
  EXPECT_LT(max_abs_diff(image.pixels, expected_windowed(path, 600, 1600)), 2e-3);
}

TEST(Dicom, CompressedAndBigEndianVariantsEqualUncompressed) {
  REQUIRE_PYDICOM(reference_path, "MR_small.dcm");
  const Image reference = decode_image(reference_path);
  for (const char* name : {"MR_small_RLE.dcm", "MR_small_jpeg_ls_lossless.dcm", "MR_small_bigendian.dcm",
                           "MR_small_implicit.dcm", "MR_small_expb.dcm"}) {
    SCOPED_TRACE(name);
    REQUIRE_PYDICOM(path, name);
    const Image image = decode_image(path);
    ASSERT_EQ(image.pixels.size(), reference.pixels.size());
    EXPECT_LT(max_abs_diff(image.pixels, reference.pixels), 1e-6);
  }
}

TEST(Dicom, JpegExtended12Bit) {
  for (const char* name : {"JPEG-lossy.dcm", "JPGExtended.dcm"}) {
    SCOPED_TRACE(name);
    REQUIRE_PYDICOM(path, name);
    const Image image = decode_image(path);
    EXPECT_EQ(image.width(), 256);
    EXPECT_EQ(image.height(), 1024);
    EXPECT_EQ(image.bits_stored, 12);
    cv::Scalar mean, stddev;
    cv::meanStdDev(image.pixels, mean, stddev);
    EXPECT_GT(stddev[0], 0.01);
    EXPECT_EQ(image.dicom->transfer_syntax_uid, UID_JPEGProcess2_4TransferSyntax);
  }
  REQUIRE_PYDICOM(a, "JPEG-lossy.dcm");
  REQUIRE_PYDICOM(b, "JPGExtended.dcm");
  EXPECT_LT(max_abs_diff(decode_image(a).pixels, decode_image(b).pixels), 0.02);
}

TEST(Dicom, RescaleThenMinMaxWindowWithoutVoi) {
  REQUIRE_PYDICOM(path, "CT_small.dcm");
  const Image image = decode_image(path);
  EXPECT_EQ(image.width(), 128);
  EXPECT_EQ(image.height(), 128);
  EXPECT_EQ(image.bits_stored, 16);
  // No window in the file: the min-max window maps the (rescaled) range onto [0, 1].
  DcmFileFormat file;
  ASSERT_TRUE(file.loadFile(path.c_str()).good());
  Uint16 pixel_representation = 0;
  ASSERT_TRUE(file.getDataset()->findAndGetUint16(DCM_PixelRepresentation, pixel_representation).good());
  ASSERT_EQ(pixel_representation, 1);  // signed
  const Uint16* words = nullptr;
  ASSERT_TRUE(file.getDataset()->findAndGetUint16Array(DCM_PixelData, words).good());
  const Sint16* raw = reinterpret_cast<const Sint16*>(words);
  const auto [lo, hi] = std::minmax_element(raw, raw + 128 * 128);
  for (int i = 0; i < 128 * 128; i += 97) {
    const double hu = raw[i] * 1.0 - 1024.0;  // RescaleSlope 1, RescaleIntercept -1024
    const double expected = (hu - (*lo - 1024.0)) / (*hi - *lo);
    EXPECT_NEAR(image.pixels.at<float>(i / 128, i % 128), expected, 2e-3) << i;
  }
}

TEST(Dicom, Monochrome1IsShownInverted) {
  REQUIRE_PYDICOM(path, "MR_small.dcm");
  test::TempDir dir;
  DcmFileFormat file;
  ASSERT_TRUE(file.loadFile(path.c_str()).good());
  ASSERT_TRUE(file.getDataset()->putAndInsertString(DCM_PhotometricInterpretation, "MONOCHROME1").good());
  const std::string mono1 = dir / "mr_monochrome1.dcm";
  ASSERT_TRUE(file.saveFile(mono1.c_str(), EXS_LittleEndianExplicit).good());

  const Image normal = decode_image(path);
  const Image inverted = decode_image(mono1);
  EXPECT_EQ(inverted.dicom->photometric, "MONOCHROME1");
  cv::Mat expected = 1.0 - normal.pixels;
  EXPECT_LT(max_abs_diff(inverted.pixels, expected), 1e-4);
}

TEST(Dicom, ColourMultiFrameUsesFirstFrameInGray) {
  REQUIRE_PYDICOM(two_frames, "SC_rgb_rle_2frame.dcm");
  REQUIRE_PYDICOM(one_frame, "SC_rgb_rle.dcm");
  const Image image = decode_image(two_frames);
  EXPECT_EQ(image.width(), 100);
  EXPECT_EQ(image.height(), 100);
  EXPECT_EQ(image.pixels.channels(), 1);
  EXPECT_EQ(image.dicom->photometric, "RGB");
  EXPECT_LT(max_abs_diff(image.pixels, decode_image(one_frame).pixels), 1e-6);
}

TEST(Dicom, InfoFieldsAndPseudonym) {
  REQUIRE_PYDICOM(path, "MR_small.dcm");
  const Image image = decode_image(path);
  ASSERT_TRUE(image.dicom.has_value());
  const DicomInfo& info = *image.dicom;
  const std::string id = "4MR1";
  EXPECT_EQ(info.patient_hash, "dcm-" + hex64(fnv1a64(id.data(), id.size())));
  EXPECT_EQ(info.modality, "MR");
  EXPECT_EQ(info.photometric, "MONOCHROME2");
  EXPECT_EQ(info.transfer_syntax_uid, UID_LittleEndianExplicitTransferSyntax);
  EXPECT_EQ(info.sop_class_uid, UID_MRImageStorage);
  EXPECT_FALSE(info.sop_instance_uid.empty());
  EXPECT_FALSE(info.study_instance_uid.empty());
  for (const std::string* field : {&info.patient_hash, &info.sex, &info.modality, &info.view_position,
                                   &info.photometric, &info.study_instance_uid, &info.sop_instance_uid})
    expect_no_identifiers(*field, path);
}

TEST(Dicom, DecodeBytesMatchesFileAndNoPreambleFallback) {
  REQUIRE_PYDICOM(path, "MR_small.dcm");
  const std::string bytes = read_file(path);
  const Image from_bytes = decode_image_bytes(std::vector<uint8_t>(bytes.begin(), bytes.end()), "upload.dcm");
  EXPECT_EQ(max_abs_diff(from_bytes.pixels, decode_image(path).pixels), 0.0);

  // The same data set without the 128-byte preamble and "DICM" is still found by content.
  test::TempDir dir;
  DcmFileFormat file;
  ASSERT_TRUE(file.loadFile(path.c_str()).good());
  const std::string raw = dir / "dataset_only";
  ASSERT_TRUE(file.getDataset()->saveFile(raw.c_str(), EXS_LittleEndianExplicit).good());
  const Image no_preamble = decode_image(raw);
  EXPECT_EQ(no_preamble.format, "dicom");
  EXPECT_EQ(max_abs_diff(no_preamble.pixels, from_bytes.pixels), 0.0);
}

TEST(Dicom, DecodeDatasetMatchesFile) {
  // An in-memory dataset (as the DICOM node receives it), JPEG-compressed, decodes like the file.
  PNEUMOSCAN_REQUIRE_SHARED(dir, "data/dicom/rsna/0004cfab-14fd-4e49-80ba-63a80b6bddd6.dcm");
  DcmFileFormat file;
  ASSERT_TRUE(file.loadFile(dir.c_str()).good());
  const Image from_dataset = decode_dicom_dataset(*file.getDataset(), "received");
  const Image from_file = decode_image(dir);
  EXPECT_EQ(max_abs_diff(from_dataset.pixels, from_file.pixels), 0.0);
  EXPECT_EQ(from_dataset.dicom->transfer_syntax_uid, UID_JPEGProcess1TransferSyntax);
  EXPECT_EQ(from_dataset.dicom->sop_instance_uid, from_file.dicom->sop_instance_uid);

  DcmDataset no_pixels;
  no_pixels.putAndInsertString(DCM_Modality, "CR");
  try {
    decode_dicom_dataset(no_pixels, "received");
    ADD_FAILURE() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), "received: DICOM has no pixel data");
  }
}

TEST(Dicom, NonImageAndBrokenFilesGiveClearErrorsWithoutIdentifiers) {
  REQUIRE_PYDICOM(rtplan, "rtplan.dcm");
  const std::string message = decode_error(rtplan);
  EXPECT_EQ(message, rtplan + ": DICOM has no pixel data");

  REQUIRE_PYDICOM(j2k, "JPEG2000.dcm");
  const std::string j2k_message = decode_error(j2k);
  EXPECT_EQ(
      j2k_message.rfind(j2k + ": cannot decode DICOM pixel data (transfer syntax 1.2.840.10008.1.2.4.9", 0),
      0u)
      << j2k_message;
  EXPECT_NE(j2k_message.find("no decoder for this compression"), std::string::npos) << j2k_message;

  // An RSNA-like JPEG DICOM whose compressed stream is damaged.
  REQUIRE_PYDICOM(jpeg, "JPGExtended.dcm");
  std::string damaged = read_file(jpeg);
  const size_t soi = damaged.find("\xFF\xD8\xFF");
  ASSERT_NE(soi, std::string::npos);
  for (size_t i = soi + 2; i < soi + 400 && i < damaged.size(); ++i) damaged[i] = static_cast<char>(0x5A);
  test::TempDir damaged_dir;
  const std::string damaged_path = damaged_dir / "damaged_jpeg.dcm";
  write_file_atomically(damaged_path, damaged);
  const std::string damaged_message = decode_error(damaged_path);
  EXPECT_EQ(damaged_message.rfind(damaged_path + ": cannot decode DICOM pixel data", 0), 0u)
      << damaged_message;

  // A DICOM file cut in the middle of its pixel data.
  REQUIRE_PYDICOM(mr, "MR_small.dcm");
  test::TempDir dir;
  const std::string full = read_file(mr);
  const std::string truncated = dir / "truncated.dcm";
  write_file_atomically(truncated, full.substr(0, full.size() - 3000));
  const std::string truncated_message = decode_error(truncated);
  EXPECT_EQ(truncated_message.rfind(truncated + ": ", 0), 0u) << truncated_message;

  for (const auto& [source, text] : std::vector<std::pair<std::string, std::string>>{
           {rtplan, message}, {j2k, j2k_message}, {mr, truncated_message}, {jpeg, damaged_message}}) {
    EXPECT_EQ(text.find('\n'), std::string::npos) << text;
    EXPECT_FALSE(patient_identifiers(source).empty()) << source;  // the check below is meaningful
    expect_no_identifiers(text, source);
  }
}

TEST(Dicom, DcmtkPrintsNothing) {
  // DCMTK warns about this file's odd pixel data length and about rtplan's
  // content when its logger is on; the decoder switches it off.
  REQUIRE_PYDICOM(odd_length, "MR_small_jpeg_ls_lossless.dcm");
  REQUIRE_PYDICOM(rtplan, "rtplan.dcm");
  REQUIRE_PYDICOM(truncated, "MR_truncated.dcm");
  testing::internal::CaptureStderr();
  testing::internal::CaptureStdout();
  decode_image(odd_length);
  EXPECT_THROW(decode_image(rtplan), InputError);
  EXPECT_THROW(decode_image(truncated), InputError);
  const std::string out = testing::internal::GetCapturedStdout();
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(out, "");
  EXPECT_EQ(err, "");
}

// --- damaged but decodable DICOM (issue 14) --------------------------------------

namespace {

// A 16-bit MONOCHROME2 DICOM (Explicit VR Little Endian) of rows x columns
// with a gradient, built with DCMTK; `edit` may change the dataset before it
// is written (pixel data, window, Rows ...).
std::string synthetic_dicom(const test::TempDir& dir, const std::string& name, Uint16 rows, Uint16 columns,
                            const std::function<void(DcmDataset&)>& edit = {}) {
  DcmFileFormat file;
  DcmDataset* ds = file.getDataset();
  char uid[100];
  ds->putAndInsertString(DCM_SOPClassUID, UID_DigitalXRayImageStorageForPresentation);
  ds->putAndInsertString(DCM_SOPInstanceUID, dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT));
  ds->putAndInsertString(DCM_Modality, "DX");
  ds->putAndInsertUint16(DCM_Rows, rows);
  ds->putAndInsertUint16(DCM_Columns, columns);
  ds->putAndInsertUint16(DCM_SamplesPerPixel, 1);
  ds->putAndInsertString(DCM_PhotometricInterpretation, "MONOCHROME2");
  ds->putAndInsertUint16(DCM_BitsAllocated, 16);
  ds->putAndInsertUint16(DCM_BitsStored, 12);
  ds->putAndInsertUint16(DCM_HighBit, 11);
  ds->putAndInsertUint16(DCM_PixelRepresentation, 0);
  std::vector<Uint16> pixels(size_t{rows} * columns);
  for (size_t i = 0; i < pixels.size(); ++i)
    pixels[i] = static_cast<Uint16>((i * 7 + i / columns * 13) % 4096);
  ds->putAndInsertUint16Array(DCM_PixelData, pixels.data(), static_cast<unsigned long>(pixels.size()));
  if (edit) edit(*ds);
  const std::string path = dir / name;
  EXPECT_TRUE(file.saveFile(path.c_str(), EXS_LittleEndianExplicit).good());
  return path;
}

}  // namespace

TEST(DicomHostile, ConsistentSyntheticFileDecodes) {
  test::TempDir dir;
  const Image image = decode_image(synthetic_dicom(dir, "ok.dcm", 96, 80));
  EXPECT_EQ(image.width(), 80);
  EXPECT_EQ(image.height(), 96);
}

TEST(DicomHostile, PixelDataNotMatchingRowsAndColumnsIsRefused) {
  test::TempDir dir;
  // Half the pixel data (the element itself shortened, the file still well formed).
  const std::string half = synthetic_dicom(dir, "half.dcm", 128, 128, [](DcmDataset& ds) {
    std::vector<Uint16> pixels(128 * 64, 1000);
    ds.putAndInsertUint16Array(DCM_PixelData, pixels.data(), static_cast<unsigned long>(pixels.size()));
  });
  EXPECT_EQ(decode_error(half),
            half +
                ": DICOM pixel data is cut short: 16384 bytes, 128 rows x 128 columns x 16 "
                "bits needs 32768");
  // Rows=2 on a 1024-column image whose data holds 1024 rows.
  const std::string rows2 = synthetic_dicom(dir, "rows2.dcm", 256, 1024,
                                            [](DcmDataset& ds) { ds.putAndInsertUint16(DCM_Rows, 2); });
  EXPECT_EQ(decode_error(rows2),
            rows2 +
                ": DICOM Rows/Columns do not match the pixel data: 524288 bytes, 2 rows x "
                "1024 columns x 16 bits needs 4096");
  // More frames declared than present.
  const std::string frames = synthetic_dicom(
      dir, "frames.dcm", 64, 64, [](DcmDataset& ds) { ds.putAndInsertString(DCM_NumberOfFrames, "3"); });
  EXPECT_NE(decode_error(frames).find("cut short"), std::string::npos) << decode_error(frames);
  const std::string no_frames = synthetic_dicom(
      dir, "noframes.dcm", 64, 64, [](DcmDataset& ds) { ds.putAndInsertString(DCM_NumberOfFrames, "0"); });
  EXPECT_EQ(decode_error(no_frames), no_frames + ": DICOM NumberOfFrames is not a positive number ('0')");
}

TEST(DicomHostile, NonFiniteWindowAndRescaleAreRefused) {
  test::TempDir dir;
  const std::vector<std::tuple<std::string, DcmTagKey, std::string, std::string>> cases = {
      {"center_nan.dcm", DCM_WindowCenter, "NaN", "WindowCenter"},
      {"width_inf.dcm", DCM_WindowWidth, "-inf", "WindowWidth"},
      {"slope_inf.dcm", DCM_RescaleSlope, "inf", "RescaleSlope"},
      {"center_text.dcm", DCM_WindowCenter, "abc", "WindowCenter"},
      {"second_value.dcm", DCM_WindowCenter, "2048\\NaN", "WindowCenter"},
  };
  for (const auto& [name, tag, value, field] : cases) {
    const std::string path =
        synthetic_dicom(dir, name, 64, 64, [&, tag = tag, value = value](DcmDataset& ds) {
          ds.putAndInsertString(DCM_WindowCenter, "2048");
          ds.putAndInsertString(DCM_WindowWidth, "4096");
          ds.putAndInsertString(tag, value.c_str());
        });
    const std::string message = decode_error(path);
    EXPECT_EQ(message.rfind(path + ": DICOM " + field + " is not a finite number", 0), 0u) << message;
  }
}

TEST(DicomHostile, HugeRowsAndColumnsAreRefusedBeforeDecoding) {
  test::TempDir dir;
  const std::string path = synthetic_dicom(dir, "huge.dcm", 64, 64, [](DcmDataset& ds) {
    ds.putAndInsertUint16(DCM_Rows, 65535);
    ds.putAndInsertUint16(DCM_Columns, 65535);
  });
  const auto start = std::chrono::steady_clock::now();
  const std::string message = decode_error(path);
  const double elapsed_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(elapsed_ms, 200.0);
  EXPECT_EQ(message, path +
                         ": image is 65535x65535 pixels, over the limit of 100 megapixels and 30000 pixels a "
                         "side (not decoded)");
}

TEST(DicomHostile, JpegFragmentThatWouldHangTheDecoderIsRefused) {
  // Found by fuzzing: DCMTK's JPEG decoder scans a fragment's markers for the
  // frame header and never moves past a TEM marker (FF01); a 1.8 KB file hung
  // predict for good. It is refused before decoding.
  test::TempDir dir;
  DcmFileFormat file;
  DcmDataset* ds = file.getDataset();
  ds->putAndInsertString(DCM_SOPClassUID, UID_SecondaryCaptureImageStorage);
  ds->putAndInsertString(DCM_SOPInstanceUID, "1.2.826.0.1.3680043.9.7777.2");
  ds->putAndInsertString(DCM_Modality, "CR");
  ds->putAndInsertUint16(DCM_Rows, 64);
  ds->putAndInsertUint16(DCM_Columns, 64);
  ds->putAndInsertUint16(DCM_SamplesPerPixel, 1);
  ds->putAndInsertString(DCM_PhotometricInterpretation, "MONOCHROME2");
  ds->putAndInsertUint16(DCM_BitsAllocated, 8);
  ds->putAndInsertUint16(DCM_BitsStored, 8);
  ds->putAndInsertUint16(DCM_HighBit, 7);
  ds->putAndInsertUint16(DCM_PixelRepresentation, 0);
  auto* fragments = new DcmPixelSequence(DCM_PixelSequenceTag);
  fragments->insert(new DcmPixelItem(DCM_PixelItemTag));  // empty offset table
  std::vector<Uint8> jpeg = {0xFF, 0xD8, 0xFF, 0x01};     // SOI, then TEM before any frame header
  jpeg.resize(64, 0);
  auto* fragment = new DcmPixelItem(DCM_PixelItemTag);
  ASSERT_TRUE(fragment->putUint8Array(jpeg.data(), static_cast<unsigned long>(jpeg.size())).good());
  fragments->insert(fragment);
  auto* pixel_data = new DcmPixelData(DCM_PixelData);
  pixel_data->putOriginalRepresentation(EXS_JPEGProcess1, nullptr, fragments);
  ASSERT_TRUE(ds->insert(pixel_data, true).good());
  const std::string path = dir / "tem.dcm";
  ASSERT_TRUE(file.saveFile(path.c_str(), EXS_JPEGProcess1).good());

  // On its own thread: without the guard the decode never returns.
  auto result = std::make_shared<std::promise<std::string>>();
  std::future<std::string> message = result->get_future();
  std::thread([result, path] { result->set_value(decode_error(path)); }).detach();
  if (message.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
    ADD_FAILURE() << path << ": still decoding after 60 s";
    std::_Exit(1);  // a hung thread cannot be stopped; end the run rather than hang it
  }
  const std::string text = message.get();
  EXPECT_EQ(text.rfind(path + ": cannot decode DICOM pixel data (transfer syntax ", 0), 0u) << text;
  EXPECT_NE(text.find("a JPEG marker (FF01) before the frame header"), std::string::npos) << text;
}

TEST(DicomHostile, LibraryConditionTextsAreReworded) {
  test::TempDir dir;
  // A file cut inside its header: DCMTK's own text would be a stream condition.
  const std::string full = read_file(synthetic_dicom(dir, "ok.dcm", 64, 64));
  const std::string cut = dir / "cut.dcm";
  write_file_atomically(cut, full.substr(0, 300));
  const std::string message = decode_error(cut);
  EXPECT_EQ(message.rfind(cut + ": ", 0), 0u) << message;
  EXPECT_EQ(message.find("Illegal call"), std::string::npos) << message;
}

// DICOM decoding with DCMTK (dcmdata + dcmimgle/dcmimage, codecs from dcmjpeg,
// dcmjpls and dcmdata's RLE).
//
// Display pipeline, in DCMTK's order: Modality LUT or RescaleSlope/Intercept,
// then one VOI transformation chosen as follows (documented choice):
//   1. the first VOI LUT in the file (VOILUTSequence), if any; else
//   2. the first WindowCenter/WindowWidth pair, if any; else
//   3. a min-max window over the pixel values of the (first) frame.
// Then the presentation: MONOCHROME1 is rendered inverted by DCMTK so that, as
// for MONOCHROME2, high output = dense/bright (bone white). Colour images are
// converted to gray (ITU-R 601 weights). Only the first frame is used.
//
// Privacy: PatientName and PatientID never leave this file; the ID is reduced to
// a pseudonym (FNV-1a 64), and DCMTK's own logging is switched off so that it
// cannot print header contents.
#include <dcmtk/config/osconfig.h>  // must come first among DCMTK headers
#include <dcmtk/dcmdata/dccodec.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcdict.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcistrmb.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmimage/diregist.h>  // colour image support for DicomImage
#include <dcmtk/dcmimgle/dcmimage.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/oflog/oflog.h>

#include <cctype>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <opencv2/imgproc.hpp>

#include "core/errors.h"
#include "core/hash.h"
#include "core/text.h"
#include "image/codecs.h"
#include "image/dicom_dataset.h"
#include "image/dicom_decode.h"

namespace pneumoscan::detail {
namespace {

void init_dcmtk() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Off, not just quiet: DCMTK warnings can quote element values.
    OFLog::configure(OFLogger::OFF_LOG_LEVEL);
    DJDecoderRegistration::registerCodecs();    // JPEG baseline/extended/lossless
    DJLSDecoderRegistration::registerCodecs();  // JPEG-LS
    DcmRLEDecoderRegistration::registerCodecs();
  });
}

std::string get_string(DcmItem* item, const DcmTagKey& key) {
  OFString value;
  if (item->findAndGetOFString(key, value).good()) return value.c_str();
  return "";
}

// PatientAge is nnnD, nnnW, nnnM or nnnY; bare digits (seen in the RSNA files,
// e.g. "23") are read as years; anything else -> nullopt.
std::optional<int> parse_age_years(const std::string& text) {
  std::string s = trim(text);
  if (!s.empty() && std::isdigit(static_cast<unsigned char>(s.back()))) s += 'Y';
  if (s.size() < 2) return std::nullopt;
  const char unit = static_cast<char>(std::toupper(static_cast<unsigned char>(s.back())));
  const std::string digits = s.substr(0, s.size() - 1);
  if (digits.empty() || digits.size() > 3) return std::nullopt;
  for (char c : digits)
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  const int n = std::stoi(digits);
  switch (unit) {
    case 'Y':
      return n;
    case 'M':
      return n / 12;
    case 'W':
      return n / 52;
    case 'D':
      return n / 365;
    default:
      return std::nullopt;
  }
}

DicomInfo read_info(DcmDataset* ds, E_TransferSyntax xfer) {
  DicomInfo info;
  const std::string patient_id = trim(get_string(ds, DCM_PatientID));
  if (!patient_id.empty()) info.patient_hash = "dcm-" + hex64(fnv1a64(patient_id.data(), patient_id.size()));
  const std::string sex = trim(get_string(ds, DCM_PatientSex));
  if (sex == "M" || sex == "F" || sex == "O") info.sex = sex;
  info.age_years = parse_age_years(get_string(ds, DCM_PatientAge));
  info.modality = trim(get_string(ds, DCM_Modality));
  info.view_position = trim(get_string(ds, DCM_ViewPosition));
  info.body_part = trim(get_string(ds, DCM_BodyPartExamined));
  info.photometric = trim(get_string(ds, DCM_PhotometricInterpretation));
  info.transfer_syntax_uid = DcmXfer(xfer).getXferID();
  info.study_instance_uid = trim(get_string(ds, DCM_StudyInstanceUID));
  info.sop_instance_uid = trim(get_string(ds, DCM_SOPInstanceUID));
  info.sop_class_uid = trim(get_string(ds, DCM_SOPClassUID));
  return info;
}

std::string xfer_text(E_TransferSyntax xfer) {
  DcmXfer x(xfer);
  return std::string(x.getXferID()) + " " + x.getXferName();
}

// DCMTK's condition texts ("Illegal call, perhaps wrong parameters") in the
// user's terms; the original text stays in brackets for the ones we know.
std::string dicom_problem(const OFCondition& condition) {
  const std::string text = condition.text();
  if (condition == EC_StreamNotifyClient || condition == EC_EndOfStream) return "file cut short";
  if (condition == EC_IllegalCall || condition == EC_InvalidStream || condition == EC_CorruptedData ||
      condition == EC_ElemLengthLargerThanItem)
    return "damaged file structure [" + text + "]";
  if (condition == EC_SequEnd || condition == EC_ItemEnd) return "damaged sequence [" + text + "]";
  if (condition == EC_InvalidTag) return "invalid element tag";
  return text;
}

// Every value of a decimal-string element must be a finite number (NaN or
// infinite windows and rescales render an arbitrary image).
void require_finite(DcmItem* ds, const DcmTagKey& key, const char* what, const std::string& name) {
  DcmElement* element = nullptr;
  if (ds->findAndGetElement(key, element).bad() || element == nullptr) return;
  for (unsigned long i = 0; i < element->getVM(); ++i) {
    Float64 value = 0;
    if (ds->findAndGetFloat64(key, value, i).bad() || !std::isfinite(value))
      throw InputError(name, std::string("DICOM ") + what + " is not a finite number (" +
                                 quoted_excerpt(get_string(ds, key), 40) + ")");
  }
}

Uint16 get_u16(DcmItem* ds, const DcmTagKey& key, Uint16 missing) {
  Uint16 value = missing;
  return ds->findAndGetUint16(key, value).good() ? value : missing;
}

// Refuses what cannot be rendered truthfully: sizes over the pixel limit
// (before anything is decompressed), non-finite rescale or window values, and
// native pixel data whose length does not match Rows x Columns x frames (a
// file cut short, or Rows/Columns that do not describe the data).
void check_dicom_pixels(DcmDataset* ds, bool pixel_data_native, const std::string& name) {
  const Uint16 rows = get_u16(ds, DCM_Rows, 0), columns = get_u16(ds, DCM_Columns, 0);
  if (rows == 0 || columns == 0) throw InputError(name, "DICOM image has no rows or columns");
  Sint32 frames = 1;
  if (ds->tagExists(DCM_NumberOfFrames) && ds->findAndGetSint32(DCM_NumberOfFrames, frames).bad())
    frames = -1;
  if (frames < 1)
    throw InputError(name, "DICOM NumberOfFrames is not a positive number (" +
                               quoted_excerpt(get_string(ds, DCM_NumberOfFrames), 40) + ")");
  check_image_dimensions(columns, rows, name, frames);
  require_finite(ds, DCM_RescaleSlope, "RescaleSlope", name);
  require_finite(ds, DCM_RescaleIntercept, "RescaleIntercept", name);
  require_finite(ds, DCM_WindowCenter, "WindowCenter", name);
  require_finite(ds, DCM_WindowWidth, "WindowWidth", name);
  if (!pixel_data_native) return;

  const Uint16 samples = get_u16(ds, DCM_SamplesPerPixel, 1), bits = get_u16(ds, DCM_BitsAllocated, 0);
  if (samples < 1 || samples > 4)
    throw InputError(name, "DICOM SamplesPerPixel " + std::to_string(samples) + " is invalid");
  if (bits != 1 && bits % 8 != 0) return;  // packed layouts DCMTK checks itself
  // 4:2:2 colour stores two samples a pixel (Y each, Cb and Cr every other).
  const std::string photometric = trim(get_string(ds, DCM_PhotometricInterpretation));
  const uint64_t per_pixel =
      samples == 3 && photometric.rfind("YBR_", 0) == 0 && photometric.find("_422") != std::string::npos
          ? 2
          : samples;
  const uint64_t pixels = uint64_t{rows} * columns * per_pixel;
  const uint64_t frame_bytes = bits == 1 ? (pixels + 7) / 8 : pixels * (bits / 8);
  const uint64_t needed = frame_bytes * static_cast<uint64_t>(frames);
  DcmElement* pixel_data = nullptr;
  if (ds->findAndGetElement(DCM_PixelData, pixel_data).bad() || pixel_data == nullptr) return;
  const uint64_t length = pixel_data->getLength();
  const std::string layout = std::to_string(rows) + " rows x " + std::to_string(columns) + " columns" +
                             (samples > 1 ? " x " + std::to_string(samples) + " samples" : "") + " x " +
                             std::to_string(bits) + " bits" +
                             (frames > 1 ? " x " + std::to_string(frames) + " frames" : "");
  if (length < needed)
    throw InputError(name, "DICOM pixel data is cut short: " + std::to_string(length) + " bytes, " + layout +
                               " needs " + std::to_string(needed));
  if (length > needed + 1)  // one pad byte makes an odd length even
    throw InputError(name, "DICOM Rows/Columns do not match the pixel data: " + std::to_string(length) +
                               " bytes, " + layout + " needs " + std::to_string(needed));
}

}  // namespace

bool has_dicom_preamble(const std::vector<uint8_t>& bytes) {
  return bytes.size() >= 132 && std::memcmp(bytes.data() + 128, "DICM", 4) == 0;
}

std::optional<Image> decode_dicom(const std::vector<uint8_t>& bytes, const std::string& name, bool sniffing) {
  init_dcmtk();
  if (!dcmDataDict.isDictionaryLoaded())
    throw InputError(name, "cannot read DICOM: DCMTK data dictionary not loaded (set DCMDICTPATH)");

  DcmInputBufferStream stream;
  stream.setBuffer(bytes.data(), static_cast<offile_off_t>(bytes.size()));
  stream.setEos();
  DcmFileFormat file;
  file.transferInit();
  const OFCondition read = file.read(stream, EXS_Unknown, EGL_noChange, DCM_MaxReadLength);
  file.transferEnd();
  stream.releaseBuffer();
  DcmDataset* ds = file.getDataset();

  if (sniffing) {
    // Without a preamble, only accept content that clearly is a DICOM dataset.
    const bool looks_dicom =
        read.good() && ds != nullptr && (ds->tagExists(DCM_SOPClassUID) || ds->tagExists(DCM_PixelData));
    if (!looks_dicom) return std::nullopt;
  }
  if (read.bad() || ds == nullptr) throw InputError(name, "cannot read DICOM (" + dicom_problem(read) + ")");
  return decode_dicom_dataset(*ds, name);
}

}  // namespace pneumoscan::detail

namespace pneumoscan {

void init_dcmtk_decoders() { detail::init_dcmtk(); }

Image decode_dicom_dataset(DcmDataset& dataset, const std::string& name) {
  detail::init_dcmtk();
  DcmDataset* ds = &dataset;
  if (!ds->tagExists(DCM_PixelData)) throw InputError(name, "DICOM has no pixel data");

  const E_TransferSyntax xfer = ds->getOriginalXfer();
  Image image;
  image.format = "dicom";
  image.dicom = detail::read_info(ds, xfer);
  Uint16 bits_stored = 0;
  if (ds->findAndGetUint16(DCM_BitsStored, bits_stored).good() && bits_stored > 0)
    image.bits_stored = bits_stored;

  detail::check_dicom_pixels(ds, /*pixel_data_native=*/false, name);  // before decompressing anything
  // Decompress up front so that a missing codec (JPEG 2000 is not in free DCMTK)
  // or corrupt compressed data get their own message rather than DicomImage's
  // generic status.
  E_TransferSyntax pixel_xfer = xfer;
  if (DcmXfer(xfer).isEncapsulated()) {
    if (!DcmCodecList::canChangeCoding(xfer, EXS_LittleEndianExplicit))
      throw InputError(name, "cannot decode DICOM pixel data (transfer syntax " + detail::xfer_text(xfer) +
                                 ": no decoder for this compression)");
    detail::refuse_jpeg_dcmtk_cannot_scan(*ds, name, detail::xfer_text(xfer));
    const OFCondition decompressed = ds->chooseRepresentation(EXS_LittleEndianExplicit, nullptr);
    if (decompressed.bad() || !ds->canWriteXfer(EXS_LittleEndianExplicit))
      throw InputError(name, "cannot decode DICOM pixel data (transfer syntax " + detail::xfer_text(xfer) +
                                 ": corrupt compressed data: " + detail::dicom_problem(decompressed) + ")");
    pixel_xfer = EXS_LittleEndianExplicit;
  }
  detail::check_dicom_pixels(ds, /*pixel_data_native=*/true, name);

  // First frame only (fstart 0, fcount 1).
  auto dicom_image = std::make_unique<DicomImage>(ds, pixel_xfer, 0UL, 0UL, 1UL);
  if (dicom_image->getStatus() != EIS_Normal)
    throw InputError(name, "cannot decode DICOM pixel data (transfer syntax " + detail::xfer_text(xfer) +
                               ": " + DicomImage::getString(dicom_image->getStatus()) + ")");
  if (!dicom_image->isMonochrome()) {
    // How colourful it is, before it becomes gray (YBR-encoded gray pictures are not).
    if (const void* rgb = dicom_image->getOutputData(8, 0, 0)) {
      const cv::Mat interleaved(static_cast<int>(dicom_image->getHeight()),
                                static_cast<int>(dicom_image->getWidth()), CV_8UC3, const_cast<void*>(rgb));
      cv::Mat bgr;
      cv::cvtColor(interleaved, bgr, cv::COLOR_RGB2BGR);
      image.colourfulness = detail::colourfulness(bgr);
    }
    std::unique_ptr<DicomImage> gray(dicom_image->createMonochromeImage());
    if (!gray || gray->getStatus() != EIS_Normal)
      throw InputError(
          name, "cannot convert DICOM colour image to gray (photometric " + image.dicom->photometric + ")");
    dicom_image = std::move(gray);
  }

  // VOI: the file's first VOI LUT, else its first window, else min-max (a VOI
  // entry DCMTK rejects, e.g. WindowWidth 0, falls through to the next choice).
  bool voi_set = false;
  if (dicom_image->getVoiLutCount() > 0) voi_set = dicom_image->setVoiLut(0) != 0;
  if (!voi_set && dicom_image->getWindowCount() > 0) voi_set = dicom_image->setWindow(0) != 0;
  if (!voi_set) dicom_image->setMinMaxWindow(0);

  const int width = static_cast<int>(dicom_image->getWidth());
  const int height = static_cast<int>(dicom_image->getHeight());
  if (width <= 0 || height <= 0) throw InputError(name, "DICOM image has no rows or columns");
  const void* data = dicom_image->getOutputData(16, 0, 0);
  if (data == nullptr)
    throw InputError(name,
                     "cannot decode DICOM pixel data (transfer syntax " + detail::xfer_text(xfer) + ")");
  const cv::Mat u16(height, width, CV_16UC1, const_cast<void*>(data));
  u16.convertTo(image.pixels, CV_32F, 1.0 / 65535.0);  // copies out of DCMTK's buffer
  return image;
}

}  // namespace pneumoscan

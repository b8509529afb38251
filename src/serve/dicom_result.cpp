#include "serve/dicom_result.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/ofstd/ofdatime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/imgproc.hpp>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "explain/overlay.h"

namespace pneumoscan {
namespace {

// Copied from the source when present; these are the Patient, General Study
// and Patient Study attributes a PACS uses to file the object with its study.
const DcmTagKey kCopiedTags[] = {
    DCM_SpecificCharacterSet,   DCM_PatientName,      DCM_PatientID,       DCM_IssuerOfPatientID,
    DCM_PatientBirthDate,       DCM_PatientSex,       DCM_PatientAge,      DCM_PatientSize,
    DCM_PatientWeight,          DCM_StudyInstanceUID, DCM_StudyDate,       DCM_StudyTime,
    DCM_ReferringPhysicianName, DCM_StudyID,          DCM_AccessionNumber, DCM_StudyDescription,
};

// Type 2 attributes of the modules above: present (possibly empty) in the result.
const DcmTagKey kRequiredEmptyTags[] = {
    DCM_PatientName,    DCM_PatientID, DCM_PatientBirthDate,       DCM_PatientSex,
    DCM_StudyDate,      DCM_StudyTime, DCM_ReferringPhysicianName, DCM_StudyID,
    DCM_AccessionNumber};

std::string new_uid(const char* root) {
  char uid[100];
  dcmGenerateUniqueIdentifier(uid, root);
  return uid;
}

void put(DcmItem& item, const DcmTagKey& key, const std::string& value) {
  const OFCondition status = item.putAndInsertString(key, value.c_str());
  if (status.bad()) throw IoError("result object", std::string("cannot set attribute: ") + status.text());
}

std::string get(DcmItem& item, const DcmTagKey& key) {
  OFString value;
  return item.findAndGetOFString(key, value).good() ? value.c_str() : "";
}

}  // namespace

std::string verdict_text(const TriageVerdict& verdict) {
  if (!verdict.refusal.empty())
    return "Not analysed: " + verdict.refusal + " (model " + verdict.model_name +
           "). Not for diagnostic use.";
  char text[256];
  std::snprintf(text, sizeof text,
                "P(pneumonia)=%.4f %s (threshold %.4f; model %s%s). Not for diagnostic use.",
                verdict.probability, verdict.label.c_str(), verdict.threshold, verdict.model_name.c_str(),
                verdict.explanation == "gradcam" ? "; Grad-CAM overlay" : "");
  return verdict.caveat.empty() ? std::string(text) : std::string(text) + " Caution: " + verdict.caveat;
}

cv::Mat render_verdict_picture(const Image& xray, const cv::Mat& heatmap01, const TriageVerdict& verdict) {
  cv::Mat bgr;
  if (heatmap01.empty())
    cv::cvtColor(to_u8(xray), bgr, cv::COLOR_GRAY2BGR);
  else
    bgr = overlay(xray, heatmap01);
  // Two lines in a black banner above the image: the verdict, large, then
  // the details. Sizes follow the image width so that the text stays legible
  // from 256 to 4096 px.
  char headline[128];
  std::snprintf(headline, sizeof headline, "P(pneumonia) %.4f  %s  (threshold %.4f)", verdict.probability,
                verdict.label.c_str(), verdict.threshold);
  std::string details =
      "model " + verdict.model_name + (verdict.explanation == "gradcam" ? "; Grad-CAM overlay" : "") +
      ". Not for diagnostic use." + (verdict.caveat.empty() ? "" : " Caution: " + verdict.caveat);
  if (!verdict.refusal.empty()) {
    std::snprintf(headline, sizeof headline, "NOT ANALYSED (input check)");
    details = verdict.refusal + ". Model " + verdict.model_name + ".";
  }
  if (details.size() > 200) details = details.substr(0, 197) + "...";
  const int font = cv::FONT_HERSHEY_SIMPLEX;
  const int width = bgr.cols;
  const int thickness = std::max(1, width / 500);
  int baseline = 0;
  const cv::Size head_unit = cv::getTextSize(headline, font, 1.0, thickness, &baseline);
  const cv::Size detail_unit = cv::getTextSize(details, font, 1.0, thickness, &baseline);
  const double head_scale =
      std::min(0.96 * width / head_unit.width, (width / 28.0) / std::max(1, head_unit.height));
  const double detail_scale = std::min(0.96 * width / detail_unit.width, 0.55 * head_scale);
  const int margin = std::max(2, width / 100);
  const int head_height = static_cast<int>(std::ceil(head_unit.height * head_scale));
  const int detail_height = static_cast<int>(std::ceil(detail_unit.height * detail_scale));
  const int banner = 4 * margin + head_height + detail_height;
  cv::Mat picture(bgr.rows + banner, width, CV_8UC3, cv::Scalar(0, 0, 0));
  bgr.copyTo(picture(cv::Rect(0, banner, width, bgr.rows)));
  const cv::Scalar colour = !verdict.refusal.empty()       ? cv::Scalar(0, 200, 255)
                            : verdict.label == "PNEUMONIA" ? cv::Scalar(0, 80, 255)
                                                           : cv::Scalar(255, 255, 255);
  cv::putText(picture, headline, cv::Point(margin, margin + head_height), font, head_scale, colour, thickness,
              cv::LINE_AA);
  cv::putText(picture, details, cv::Point(margin, 3 * margin + head_height + detail_height), font,
              detail_scale, cv::Scalar(255, 255, 255), std::max(1, thickness / 2), cv::LINE_AA);
  cv::Mat rgb;
  cv::cvtColor(picture, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

std::unique_ptr<DcmFileFormat> make_secondary_capture(DcmDataset& source, const cv::Mat& rgb,
                                                      const TriageVerdict& verdict) {
  if (rgb.empty() || rgb.type() != CV_8UC3 || rgb.rows > 65535 || rgb.cols > 65535)
    throw UsageError("make_secondary_capture: expected an RGB image of at most 65535 x 65535 pixels");
  const std::string study_uid = get(source, DCM_StudyInstanceUID);
  if (study_uid.empty())
    throw InputError("SOP instance " + get(source, DCM_SOPInstanceUID), "no Study Instance UID");

  auto file = std::make_unique<DcmFileFormat>();
  DcmDataset& ds = *file->getDataset();
  for (const DcmTagKey& key : kCopiedTags) source.findAndInsertCopyOfElement(key, &ds);
  for (const DcmTagKey& key : kRequiredEmptyTags)
    if (!ds.tagExists(key)) put(ds, key, "");

  OFString date, time;
  OFDateTime::getCurrentDateTime().getDate().getISOFormattedDate(date, false);
  OFDateTime::getCurrentDateTime().getTime().getISOFormattedTime(time, true, false, false, false);
  const std::string sop_uid = new_uid(SITE_INSTANCE_UID_ROOT);

  // SOP Common
  put(ds, DCM_SOPClassUID, UID_SecondaryCaptureImageStorage);
  put(ds, DCM_SOPInstanceUID, sop_uid);
  put(ds, DCM_InstanceCreationDate, date.c_str());
  put(ds, DCM_InstanceCreationTime, time.c_str());
  // General Series (a new series in the source's study)
  put(ds, DCM_Modality, "OT");
  put(ds, DCM_SeriesInstanceUID, new_uid(SITE_SERIES_UID_ROOT));
  put(ds, DCM_SeriesNumber, "9001");
  put(ds, DCM_SeriesDescription, "PneumoScan pneumonia triage");
  // General Equipment, SC Equipment
  put(ds, DCM_Manufacturer, "PneumoScan");
  put(ds, DCM_SoftwareVersions, PNEUMOSCAN_VERSION);
  put(ds, DCM_ConversionType, "WSD");
  // General Image
  put(ds, DCM_InstanceNumber, "1");
  put(ds, DCM_PatientOrientation, "");
  put(ds, DCM_ContentDate, date.c_str());
  put(ds, DCM_ContentTime, time.c_str());
  put(ds, DCM_ImageType, "DERIVED\\SECONDARY");
  put(ds, DCM_DerivationDescription, "PneumoScan pneumonia classifier output");
  put(ds, DCM_ImageComments, verdict_text(verdict));
  put(ds, DCM_BurnedInAnnotation, "YES");
  DcmItem* reference = nullptr;
  if (ds.findOrCreateSequenceItem(DCM_SourceImageSequence, reference, 0).good() && reference != nullptr) {
    put(*reference, DCM_ReferencedSOPClassUID, get(source, DCM_SOPClassUID));
    put(*reference, DCM_ReferencedSOPInstanceUID, get(source, DCM_SOPInstanceUID));
  }
  // Image Pixel: 8-bit RGB, colour-by-pixel
  ds.putAndInsertUint16(DCM_SamplesPerPixel, 3);
  put(ds, DCM_PhotometricInterpretation, "RGB");
  ds.putAndInsertUint16(DCM_PlanarConfiguration, 0);
  ds.putAndInsertUint16(DCM_Rows, static_cast<Uint16>(rgb.rows));
  ds.putAndInsertUint16(DCM_Columns, static_cast<Uint16>(rgb.cols));
  ds.putAndInsertUint16(DCM_BitsAllocated, 8);
  ds.putAndInsertUint16(DCM_BitsStored, 8);
  ds.putAndInsertUint16(DCM_HighBit, 7);
  ds.putAndInsertUint16(DCM_PixelRepresentation, 0);
  const cv::Mat pixels = rgb.isContinuous() ? rgb : rgb.clone();
  const OFCondition stored = ds.putAndInsertUint8Array(DCM_PixelData, pixels.ptr<Uint8>(),
                                                       static_cast<unsigned long>(pixels.total() * 3));
  if (stored.bad()) throw IoError("result object", std::string("cannot store pixel data: ") + stored.text());
  return file;
}

void save_dicom_file(DcmFileFormat& file, const std::string& path) {
  write_atomically(path, [&](const std::string& tmp) {
    const OFCondition saved = file.saveFile(tmp.c_str(), EXS_LittleEndianExplicit);
    if (saved.bad()) throw IoError(path, std::string("cannot write DICOM file: ") + saved.text());
  });
}

}  // namespace pneumoscan

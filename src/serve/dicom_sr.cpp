#include "serve/dicom_sr.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmsr/dsrdoc.h>

#include "core/errors.h"
#include "core/text.h"

namespace pneumoscan {
namespace {

// The Patient and General Study attributes a PACS files the report with (as the Secondary Capture).
const DcmTagKey kCopiedTags[] = {DCM_SpecificCharacterSet,
                                 DCM_PatientName,
                                 DCM_PatientID,
                                 DCM_IssuerOfPatientID,
                                 DCM_PatientBirthDate,
                                 DCM_PatientSex,
                                 DCM_PatientAge,
                                 DCM_StudyDate,
                                 DCM_StudyTime,
                                 DCM_ReferringPhysicianName,
                                 DCM_StudyID,
                                 DCM_AccessionNumber,
                                 DCM_StudyDescription};

std::string get(DcmItem& item, const DcmTagKey& key) {
  OFString value;
  return item.findAndGetOFString(key, value).good() ? value.c_str() : "";
}

void check(OFCondition status, const std::string& what) {
  if (status.bad()) throw IoError("structured report", what + ": " + status.text());
}

// Our own concepts (a private coding scheme, as PS3.16 allows for local codes).
DSRCodedEntryValue local(const char* code, const char* meaning) {
  return DSRCodedEntryValue(code, "99PNEUMOSCAN", meaning);
}

void add_text(DSRDocumentTree& tree, const DSRCodedEntryValue& concept, const std::string& text,
              bool below = false) {
  if (tree.addContentItem(DSRTypes::RT_contains, DSRTypes::VT_Text,
                          below ? DSRTypes::AM_belowCurrent : DSRTypes::AM_afterCurrent) == 0)
    throw IoError("structured report", "cannot add a text item");
  check(tree.getCurrentContentItem().setConceptName(concept), "concept");
  // TEXT is UT: unlimited length; keep it to one readable paragraph.
  check(tree.getCurrentContentItem().setStringValue(text.substr(0, 4000), /*check=*/false), "text value");
}

}  // namespace

std::unique_ptr<DcmFileFormat> make_structured_report(DcmDataset& source, const CaseResult& result) {
  const std::string study_uid = get(source, DCM_StudyInstanceUID);
  if (study_uid.empty())
    throw InputError("SOP instance " + get(source, DCM_SOPInstanceUID), "no Study Instance UID");
  DSRDocument doc(DSRTypes::DT_BasicTextSR);
  check(doc.createNewSeriesInStudy(study_uid.c_str()), "series");
  check(doc.setSeriesDescription("PneumoScan pneumonia triage report"), "series description");
  check(doc.setManufacturer("PneumoScan"), "manufacturer");

  DSRDocumentTree& tree = doc.getTree();
  if (tree.addContentItem(DSRTypes::RT_isRoot, DSRTypes::VT_Container) == 0)
    throw IoError("structured report", "cannot add the root container");
  check(tree.getCurrentContentItem().setConceptName(
            DSRCodedEntryValue("18748-4", "LN", "Diagnostic Imaging Report")),
        "title");

  std::string finding;
  if (result.prediction) {
    const Prediction& p = *result.prediction;
    finding = p.label == "PNEUMONIA" ? "Pneumonia suspected" : "No pneumonia suspected";
    if (!p.pneumonia_type.empty() && p.label == "PNEUMONIA")
      finding += " (most likely " + p.pneumonia_type + ")";
    finding += format_string(": P(pneumonia) = %.4f against the threshold %.4f.", p.probability, p.threshold);
  } else {
    finding = "Not analysed: the input check refused the image.";
  }
  add_text(tree, DSRCodedEntryValue("121071", "DCM", "Finding"), finding, /*below=*/true);
  if (result.uncertainty)
    add_text(tree, local("PS-UNC", "Uncertainty"),
             format_string(
                 "P(pneumonia) ranges %.4f-%.4f over %d %s%s.", result.uncertainty->low,
                 result.uncertainty->high, result.uncertainty->samples,
                 result.uncertainty->method == "ensemble" ? "ensemble members" : "test-time augmentations",
                 result.uncertainty->uncertain ? "; uncertain: the range straddles the threshold" : ""));
  add_text(tree, local("PS-GATE", "Input check"),
           to_string(result.gate.status) + (result.gate.reasons.empty() ? "" : ": " + result.gate.summary()));
  const Provenance& m = result.provenance;
  add_text(tree, local("PS-MODEL", "Algorithm"),
           "PneumoScan " + m.program_version + ", model " + m.model_name + " (" + m.architecture +
               (m.ensemble_size > 1 ? ", ensemble of " + std::to_string(m.ensemble_size) : std::string()) +
               "), checksum " + (m.checksum.empty() ? std::string("none") : m.checksum) +
               ", threshold policy " + m.threshold_policy +
               (m.population.empty() ? std::string() : ", population: " + m.population) +
               ". Not for diagnostic use.");
  const std::string sop_class = get(source, DCM_SOPClassUID), sop_instance = get(source, DCM_SOPInstanceUID);
  if (!sop_class.empty() && !sop_instance.empty()) {
    if (tree.addContentItem(DSRTypes::RT_contains, DSRTypes::VT_Image) == 0)
      throw IoError("structured report", "cannot add the image reference");
    check(tree.getCurrentContentItem().setConceptName(
              DSRCodedEntryValue("121112", "DCM", "Source of Measurement")),
          "image concept");
    check(tree.getCurrentContentItem().setImageReference(
              DSRImageReferenceValue(sop_class.c_str(), sop_instance.c_str()), /*check=*/false),
          "image reference");
  }

  auto file = std::make_unique<DcmFileFormat>();
  DcmDataset& ds = *file->getDataset();
  check(doc.write(ds), "write");
  for (const DcmTagKey& key : kCopiedTags) {
    ds.findAndDeleteElement(key);
    source.findAndInsertCopyOfElement(key, &ds);
  }
  return file;
}

}  // namespace pneumoscan

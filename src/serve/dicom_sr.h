#pragma once
// The DICOM Structured Report the DICOM node writes beside its Secondary
// Capture for each analysed X-ray: a Basic Text SR (DCMTK's dcmsr) in the
// source's study that states the finding, P(pneumonia) with its threshold and
// uncertainty interval, the pneumonia type, the input gate's status and
// reasons, and the model's provenance, and references the source image. As
// with the Secondary Capture, the patient and study modules are copied from
// the source into the object only, never into logs.
#include <dcmtk/config/osconfig.h>  // must come first among DCMTK headers
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcfilefo.h>

#include <memory>

#include "case/case_analyzer.h"

namespace pneumoscan {

// Throws InputError when `source` has no Study Instance UID, IoError when
// DCMTK refuses the document.
std::unique_ptr<DcmFileFormat> make_structured_report(DcmDataset& source, const CaseResult& result);

}  // namespace pneumoscan

#pragma once
// Decoding a DICOM dataset already in memory (e.g. received over the network)
// with the same pipeline as decode_image (see dicom.cpp for the display choices).
#include <dcmtk/config/osconfig.h>  // must come first among DCMTK headers
#include <dcmtk/dcmdata/dcdatset.h>

#include <string>

#include "image/image.h"

namespace pneumoscan {

// Registers DCMTK's JPEG, JPEG-LS and RLE decoders and switches DCMTK's logger
// off (once per process). Called by every decoding entry point; callers that
// receive compressed datasets themselves call it first.
void init_dcmtk_decoders();

// Decodes the first frame of `dataset` (its transfer syntax is the one it was
// read or received in). Decompresses the dataset's pixel data in place.
// Throws InputError(name, ...) for anything that cannot be turned into an Image.
Image decode_dicom_dataset(DcmDataset& dataset, const std::string& name);

}  // namespace pneumoscan

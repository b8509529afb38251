// A guard in front of DCMTK's JPEG decoder (dcmjpeg). Before decoding a frame,
// DJCodecDecoder::scanJpegDataForBitDepth walks the fragment's markers looking
// for the frame header; it never moves past a TEM marker (FF01), so a fragment
// with one before its frame header hangs the decoding thread for good (a
// 1.8 KB file found by fuzzing stopped `predict` and would stop a service
// worker). This walks the markers the same way and says where that scan ends.
#include <dcmtk/config/osconfig.h>  // must come first among DCMTK headers
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include "core/errors.h"
#include "image/dicom_decode.h"

namespace pneumoscan::detail {

bool dcmtk_jpeg_scan_ends(const uint8_t* data, size_t length) {
  if (data == nullptr) return true;
  const auto u16 = [data](size_t at) { return static_cast<unsigned>(data[at] << 8 | data[at + 1]); };
  size_t offset = 0;
  while (offset + 4 < length) {
    const unsigned marker = u16(offset);
    if (marker == 0xFF01) return false;  // TEM: DCMTK's scan stays here forever
    const bool frame_header =
        marker >= 0xFFC0 && marker <= 0xFFCF && marker != 0xFFC4 && marker != 0xFFC8 && marker != 0xFFCC;
    if (frame_header) return true;  // the scan has what it looked for
    if ((marker >= 0xFFD0 && marker <= 0xFFD9) ||
        (marker >> 8 == 0xFF && (marker & 0xFF) > 2 && (marker & 0xFF) <= 0xBF)) {
      offset += 2;  // markers without a length: RSTn, SOI, EOI, reserved
    } else if (marker == 0xFFFF) {
      offset += 1;  // fill byte
    } else if (marker >= 0xFFC4) {
      offset += u16(offset + 2) + 2;  // DHT, JPG, DAC, SOS, DQT, ..., APPn, JPGn, COM: a length follows
    } else {
      return true;  // not a marker: the scan gives up
    }
  }
  return true;
}

void refuse_jpeg_dcmtk_cannot_scan(DcmDataset& dataset, const std::string& name, const std::string& syntax) {
  DcmElement* element = nullptr;
  if (dataset.findAndGetElement(DCM_PixelData, element).bad() || element == nullptr) return;
  auto* pixel_data = dynamic_cast<DcmPixelData*>(element);
  if (pixel_data == nullptr) return;
  E_TransferSyntax xfer = EXS_Unknown;
  const DcmRepresentationParameter* parameter = nullptr;
  pixel_data->getOriginalRepresentationKey(xfer, parameter);
  if (DcmXfer(xfer).getJPEGProcess8Bit() == 0) return;  // not a dcmjpeg syntax (JPEG-LS, RLE, native)
  DcmPixelSequence* fragments = nullptr;
  if (pixel_data->getEncapsulatedRepresentation(xfer, parameter, fragments).bad() || fragments == nullptr)
    return;
  // Item 0 is the offset table; each of the others may start a frame.
  for (unsigned long i = 1; i < fragments->card(); ++i) {
    DcmPixelItem* fragment = nullptr;
    Uint8* bytes = nullptr;
    if (fragments->getItem(fragment, i).bad() || fragment == nullptr || fragment->getUint8Array(bytes).bad())
      continue;
    if (!dcmtk_jpeg_scan_ends(bytes, fragment->getLength()))
      throw InputError(name, "cannot decode DICOM pixel data (transfer syntax " + syntax +
                                 ": corrupt compressed data: a JPEG marker (FF01) before the frame header)");
  }
}

}  // namespace pneumoscan::detail

#pragma once
// The transfer syntaxes the DICOM node accepts (serve/dicom_node.cpp), in the
// order fuzz_dicom_node reads its input's first byte and fuzz_seeds writes it.
#include <dcmtk/config/osconfig.h>  // must come first among DCMTK headers
#include <dcmtk/dcmdata/dcxfer.h>

#include <cstddef>
#include <cstdint>

namespace pneumoscan::fuzz {

inline constexpr E_TransferSyntax kNodeTransferSyntaxes[] = {
    EXS_LittleEndianImplicit, EXS_LittleEndianExplicit,
    EXS_BigEndianExplicit,    EXS_DeflatedLittleEndianExplicit,
    EXS_JPEGProcess1,         EXS_JPEGProcess2_4,
    EXS_JPEGProcess14,        EXS_JPEGProcess14SV1,
    EXS_JPEGLSLossless,       EXS_JPEGLSLossy,
    EXS_RLELossless};
inline constexpr size_t kNodeTransferSyntaxCount = sizeof kNodeTransferSyntaxes / sizeof(E_TransferSyntax);

inline E_TransferSyntax node_transfer_syntax(uint8_t selector) {
  return kNodeTransferSyntaxes[selector % kNodeTransferSyntaxCount];
}

}  // namespace pneumoscan::fuzz

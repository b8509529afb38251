// JPEG decoding with libjpeg(-turbo) and an error manager that keeps its
// messages. libjpeg reports fatal errors through error_exit, which must not
// return (and this file ends on warnings of made-up pixels alike): it longjmps
// back to `guarded`, whose frame (and the libjpeg frames in between) hold no
// object with a destructor.
// clang-format off
#include <cstdio>   // jpeglib.h needs FILE and size_t first
#include <jpeglib.h>
#include <jerror.h>
// clang-format on

#include <csetjmp>
#include <cstring>

#include "core/errors.h"
#include "image/codecs.h"
#include "image/image.h"

namespace pneumoscan::detail {
namespace {

struct ErrorManager {
  jpeg_error_mgr pub;  // first: libjpeg sees a jpeg_error_mgr*
  std::jmp_buf jump;
  char fatal[JMSG_LENGTH_MAX];
  char
      corrupt[JMSG_LENGTH_MAX];  // the warning that meant made-up pixels (and ended the decode), "" when none
  std::vector<std::string>* warnings;
};

// A progressive JPEG may hold any number of scans, each a pass over the whole
// image: cap them as libjpeg-turbo's own TurboJPEG API does (500).
constexpr int kMaxScans = 500;

void on_fatal(j_common_ptr cinfo) {
  auto* manager = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, manager->fatal);
  std::longjmp(manager->jump, 1);
}

// Warnings (level -1) are kept; trace messages (level >= 0) dropped. Nothing printed.
// A warning that means made-up pixels ends the decode at once, like a fatal
// error: libjpeg would go on filling the rest of the image with gray, and 7 KB
// whose header claims 81 Mpx then cost a quarter second and 65 MB at full
// size (`qc` over ten: 2.5 s, 650 MB peak; now 0.0 s, 175 MB) to be refused anyway.
void on_message(j_common_ptr cinfo, int level) {
  if (level >= 0) return;
  auto* manager = reinterpret_cast<ErrorManager*>(cinfo->err);
  ++cinfo->err->num_warnings;
  char text[JMSG_LENGTH_MAX];
  (*cinfo->err->format_message)(cinfo, text);
  switch (cinfo->err->msg_code) {
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_ARITH_BAD_CODE:
    case JWRN_JPEG_EOF:
    case JWRN_MUST_RESYNC:
    case JWRN_NOT_SEQUENTIAL:
    case JWRN_BOGUS_PROGRESSION:
      std::memcpy(manager->corrupt, text, sizeof text);
      std::longjmp(manager->jump, 1);
    default:
      add_warning(*manager->warnings, text);
  }
}

void on_output(j_common_ptr) {}

void on_progress(j_common_ptr cinfo) {
  auto* dinfo = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (dinfo->input_scan_number <= kMaxScans) return;
  auto* manager = reinterpret_cast<ErrorManager*>(cinfo->err);
  std::snprintf(manager->fatal, sizeof manager->fatal, "more than %d progressive scans", kMaxScans);
  std::longjmp(manager->jump, 1);
}

struct Decoder {
  jpeg_decompress_struct cinfo;
  ErrorManager errors;
  jpeg_progress_mgr progress;
};

// Runs `step` (libjpeg calls on POD state only); false when libjpeg raised an error.
template <typename Step>
bool guarded(Decoder& decoder, Step&& step) {
  if (setjmp(decoder.errors.jump) != 0) return false;
  step();
  return true;
}

// The largest of 8, 4, 2 (else 1) that keeps ceil(width / r) and ceil(height / r) >= at_least.
int jpeg_reduction(int64_t width, int64_t height, int at_least) {
  if (at_least <= 0) return 1;
  for (int r : {8, 4, 2})
    if ((width + r - 1) / r >= at_least && (height + r - 1) / r >= at_least) return r;
  return 1;
}

}  // namespace

std::optional<cv::Mat> decode_jpeg(const std::vector<uint8_t>& bytes, const std::string& name,
                                   std::vector<std::string>& warnings, int at_least, int& reduction) {
  reduction = 1;
  Decoder d{};
  d.cinfo.err = jpeg_std_error(&d.errors.pub);
  d.errors.pub.error_exit = on_fatal;
  d.errors.pub.emit_message = on_message;
  d.errors.pub.output_message = on_output;
  d.errors.warnings = &warnings;
  d.progress.progress_monitor = on_progress;
  struct Destroy {  // safe on a zeroed struct too (create failed)
    Decoder& d;
    ~Destroy() { jpeg_destroy_decompress(&d.cinfo); }
  } destroy{d};
  const auto fail = [&]() -> InputError {
    if (d.errors.corrupt[0] != '\0')
      return InputError(
          name, std::string("cannot decode JPEG image (damaged image data: ") + d.errors.corrupt + ")");
    return InputError(name, std::string("cannot decode JPEG image (") + d.errors.fatal + ")");
  };

  bool ok = guarded(d, [&] {
    jpeg_create_decompress(&d.cinfo);
    d.cinfo.progress = &d.progress;
    jpeg_mem_src(&d.cinfo, bytes.data(), static_cast<unsigned long>(bytes.size()));
    jpeg_read_header(&d.cinfo, TRUE);
  });
  if (!ok) throw fail();
  check_image_dimensions(d.cinfo.image_width, d.cinfo.image_height, name);
  if (d.cinfo.num_components == 4) return std::nullopt;
  // As OpenCV: one component -> gray, otherwise BGR.
  const bool colour = d.cinfo.num_components > 1;
  d.cinfo.out_color_space = colour ? JCS_EXT_BGR : JCS_GRAYSCALE;
  // DCT scaling: libjpeg computes each output pixel from a reduced inverse DCT,
  // skipping most of the decoding work, not only the storage.
  reduction = jpeg_reduction(d.cinfo.image_width, d.cinfo.image_height, at_least);
  d.cinfo.scale_num = 1;
  d.cinfo.scale_denom = static_cast<unsigned int>(reduction);
  ok = guarded(d, [&] { jpeg_start_decompress(&d.cinfo); });
  if (!ok) throw fail();

  cv::Mat image(static_cast<int>(d.cinfo.output_height), static_cast<int>(d.cinfo.output_width),
                colour ? CV_8UC3 : CV_8UC1);
  if (static_cast<int>(d.cinfo.output_components) != image.channels())
    throw InputError(name, "cannot decode JPEG image (unexpected colour layout)");
  uint8_t* const data = image.data;
  const size_t step = image.step;
  ok = guarded(d, [&] {
    while (d.cinfo.output_scanline < d.cinfo.output_height) {
      JSAMPROW row = data + step * d.cinfo.output_scanline;
      jpeg_read_scanlines(&d.cinfo, &row, 1);
    }
    jpeg_finish_decompress(&d.cinfo);
  });
  if (!ok) throw fail();
  return image;
}

void add_warning(std::vector<std::string>& warnings, const std::string& warning) {
  if (warnings.size() >= kMaxWarnings) return;
  for (const std::string& known : warnings)
    if (known == warning) return;
  warnings.push_back(warning);
}

}  // namespace pneumoscan::detail

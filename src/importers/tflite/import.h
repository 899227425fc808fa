// .tflite -> IR (the importer the quantizer uses for .tflite inputs, and the reader half of the
// round trip). Verifies the flatbuffer and bounds-checks every index and size.
#ifndef EDGEOPT_SRC_IMPORTERS_TFLITE_IMPORT_H_
#define EDGEOPT_SRC_IMPORTERS_TFLITE_IMPORT_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "src/ir/graph.h"

namespace edgeopt {

StatusOr<ir::Graph> ImportTflite(const uint8_t* data, size_t size);
StatusOr<ir::Graph> ImportTfliteFile(const std::string& path);  // errors name the file

}  // namespace edgeopt

#endif  // EDGEOPT_SRC_IMPORTERS_TFLITE_IMPORT_H_

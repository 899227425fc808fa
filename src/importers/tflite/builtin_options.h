// TFLite builtin options <-> IR attributes, driven by flatbuffers reflection over the binary schema
// embedded at build time (tflite::ModelBinarySchema). No per-op code: every table of the
// BuiltinOptions union maps the same way.
//
//   attribute name  = the schema field name ("stride_w", "fused_activation_function")
//   bool field      = bool
//   enum field      = the enum value's name ("SAME", "RELU6", "INT8"); int64 if the value is not
//                     in the enum
//   integer field   = int64
//   float/double    = double
//   string field    = string (omitted when absent)
//   [int] / [float] = int list / float list (omitted when absent)
// Deprecated fields are skipped. Used by the importer (read) and the exporter (write).
#ifndef EDGEOPT_SRC_IMPORTERS_TFLITE_BUILTIN_OPTIONS_H_
#define EDGEOPT_SRC_IMPORTERS_TFLITE_BUILTIN_OPTIONS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "flatbuffers/flatbuffers.h"
#include "include/edgeopt/status.h"
#include "src/ir/graph.h"

namespace edgeopt {
namespace tfl {

// The name of a builtin operator code ("CONV_2D"), or "" for codes outside the schema.
std::string BuiltinOpName(int32_t code);
// The builtin code of an op name, or -1.
int32_t BuiltinOpCode(const std::string& op);

// The BuiltinOptions union type (0 = NONE) that TFLite uses for `op`.
uint8_t OptionsTypeForOp(const std::string& op);
// The table name of a union type ("Conv2DOptions"), or "" for NONE / unknown types.
std::string OptionsTypeName(uint8_t options_type);
// Field names (non-deprecated) of the options table of `op`, sorted; empty if it has none.
std::vector<std::string> OptionFieldNames(const std::string& op);

// Reads the options table `table` of union type `options_type` into `attrs` (one entry per
// non-deprecated field, defaults for absent scalars). A null table gives the defaults. Unknown
// union types (newer schemas) leave `attrs` empty. The table must come from a verified buffer.
Status ReadOptions(uint8_t options_type, const void* table, ir::Attrs* attrs);

// Builds the options table for `op` from `attrs`. Returns {NONE, 0} for ops without options (or
// with an empty options table). An attribute that is not a field of the table, or whose value does
// not fit the field, is an error naming `where` (the node) and the attribute.
StatusOr<std::pair<uint8_t, flatbuffers::Offset<void>>> WriteOptions(
    flatbuffers::FlatBufferBuilder* fbb, const std::string& op, const ir::Attrs& attrs,
    const std::string& where);

}  // namespace tfl
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_IMPORTERS_TFLITE_BUILTIN_OPTIONS_H_

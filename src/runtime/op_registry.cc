#include "src/runtime/op_registry.h"

namespace edgeopt {
namespace rt {
namespace {

bool Selected(tflite::BuiltinOperator op) {
  const char* name = tflite::EnumNameBuiltinOperator(op);
  return name != nullptr && name[0] != '\0' && OpInBuild(name);
}

struct Table {
  OpTable table;
  Table() {
    AddConvOps(&table);
    AddElementwiseOps(&table);
    AddRecurrentOps(&table);
  }
};

}  // namespace

Status TypeNotInBuild(const char* op, const char* type) {
#if defined(EDGEOPT_SELECTIVE_TYPES)
  const char* kept = EDGEOPT_SELECTIVE_TYPES;
#else
  const char* kept = "all";
#endif
  return MakeStatus(StatusCode::kUnsupported,
                    "%s: %s kernels are not in this build (a selective build with the types %s)",
                    op, type, kept);
}

void OpTable::Add(tflite::BuiltinOperator op, const Registration* reg) {
  const int i = static_cast<int>(op);
  if (i < 0 || i >= kNumBuiltinOps || !Selected(op)) return;
  builtin[i] = reg;
}

const Registration* LookupBuiltin(tflite::BuiltinOperator op) {
  static const Table table;  // built on first use, not at static-init time
  const int i = static_cast<int>(op);
  if (i < 0 || i >= kNumBuiltinOps) return nullptr;
  return table.table.builtin[i];
}

}  // namespace rt
}  // namespace edgeopt

#include "src/runtime/op_registry.h"

#include <cstring>

namespace edgeopt {
namespace rt {
namespace {

#if defined(EDGEOPT_SELECTIVE_OPS)
// EDGEOPT_SELECTIVE_OPS is a comma-separated list of builtin names ("CONV_2D,ADD").
bool Selected(tflite::BuiltinOperator op) {
  const char* name = tflite::EnumNameBuiltinOperator(op);
  const size_t len = std::strlen(name);
  const char* list = EDGEOPT_SELECTIVE_OPS;
  while (*list != '\0') {
    const char* end = std::strchr(list, ',');
    const size_t n = end != nullptr ? static_cast<size_t>(end - list) : std::strlen(list);
    if (n == len && std::strncmp(list, name, n) == 0) return true;
    if (end == nullptr) break;
    list = end + 1;
  }
  return false;
}
#else
bool Selected(tflite::BuiltinOperator) { return true; }
#endif

struct Table {
  OpTable table;
  Table() {
    AddConvOps(&table);
    AddElementwiseOps(&table);
    AddRecurrentOps(&table);
  }
};

}  // namespace

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

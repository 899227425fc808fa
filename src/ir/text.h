// The IR's text form. Example:
//
//   graph inputs(%0) outputs(%4)
//   %0 = tensor "input" float32[1,28,28,1]
//   %1 = const "conv/kernel" float32[8,3,3,1] origin="conv/kernel"
//   %2 = const "conv/bias" float32[8] values=[0,0,0,0,0,0,0,0]
//   %3 = tensor "conv" float32[1,26,26,8]
//   %3 = CONV_2D(%0, %1, %2) {fused_activation_function="RELU", padding="VALID", stride_h=1,
//   stride_w=1}
//
// Pass tests are "IR text in, IR text out". Constants print their values when they have at
// most `max_values` elements (or always with include_all_values); ParseGraph accepts the
// printed form and fills constants without values with zeros.
//
// Full form (one statement a line, '#' starts a comment):
//   graph inputs(%0, ...) outputs(...) [input_names("a", ...)]
//         [output_names("b", ...)]
//   description "text"
//   metadata "name" "bytes with \xHH escapes"    (or size=N: N zero bytes)
//   %N = tensor|const "name" DTYPE[dims] [signature=[-1,...]]
//        [scale=S|[...]] [zero_point=Z|[...]] [quant_axis=A]
//        [min=[...] max=[...]] [variable] [origin="..."]
//        [sparse_order=[...] sparse_block_map=[...]
//         sparse_dims=[dense(N), csr([segments],[indices])]]
//        [values=[...] | bytes="..."]    (bytes= for float16, string, ...)
//   %A, %B = OP(%0, _, %2) {attr=value, ...} [name="..."] [version=N]
//        [intermediates(%5)] [custom_code="..."] [custom_options="..."]
//   () = OP(...)                         (a node without outputs)
// `_` is an absent optional input. Attributes print in name order: 1 (int), 1.0 / 0.5 (float:
// always with '.', 'e', nan or inf), true / false, "SAME" (strings and enum names), [1,2] (ints),
// [0.5,1.0] (floats). %ids are labels; tensors are numbered in definition order. Errors read
// "line N: ...".
#ifndef EDGEOPT_SRC_IR_TEXT_H_
#define EDGEOPT_SRC_IR_TEXT_H_

#include <string>

#include "src/ir/graph.h"

namespace edgeopt {
namespace ir {

struct TextOptions {
  int max_values = 16;
  bool include_all_values = false;
};

std::string PrintGraph(const Graph& graph, const TextOptions& options = TextOptions());
StatusOr<Graph> ParseGraph(const std::string& text);

}  // namespace ir
}  // namespace edgeopt

#endif  // EDGEOPT_SRC_IR_TEXT_H_

#include "src/ir/shape_inference.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <vector>

namespace edgeopt {
namespace ir {
namespace {

using Shape = std::vector<int32_t>;

std::string ShapeString(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
  return out + "]";
}

bool ConstantValues(const Tensor& t, std::vector<int64_t>* values) {
  values->clear();
  if (!t.is_constant) return false;
  if (t.dtype == DType::kInt32 && t.data.size() % 4 == 0) {
    for (size_t i = 0; i < t.data.size() / 4; ++i) {
      int32_t v;
      std::memcpy(&v, t.data.data() + 4 * i, 4);
      values->push_back(v);
    }
    return true;
  }
  if (t.dtype == DType::kInt64 && t.data.size() % 8 == 0) {
    for (size_t i = 0; i < t.data.size() / 8; ++i) {
      int64_t v;
      std::memcpy(&v, t.data.data() + 8 * i, 8);
      values->push_back(v);
    }
    return true;
  }
  return false;
}

// The values of a small integer tensor when they follow from shapes and constants: constants,
// SHAPE, and STRIDED_SLICE (1-D, unit stride, no masks but shrink) / PACK / CONCATENATION / CAST of
// known values. false when unknown.
bool KnownValues(const Graph& g, int t, int depth, std::vector<int64_t>* values) {
  values->clear();
  if (t < 0 || t >= static_cast<int>(g.tensors.size()) || depth > 16) return false;
  const Tensor& tensor = g.tensors[t];
  if (tensor.is_constant) return ConstantValues(tensor, values);
  const int p = g.Producer(t);
  if (p < 0) return false;
  const Node& n = g.nodes[p];
  auto input = [&](size_t k, std::vector<int64_t>* v) {
    return k < n.inputs.size() && KnownValues(g, n.inputs[k], depth + 1, v);
  };
  if (n.op == "SHAPE" && !n.inputs.empty() && n.inputs[0] >= 0 &&
      n.inputs[0] < static_cast<int>(g.tensors.size())) {
    for (int32_t d : g.tensors[n.inputs[0]].shape) values->push_back(d);
    return true;
  }
  if (n.op == "CAST") return input(0, values);
  if (n.op == "PACK" || n.op == "CONCATENATION") {
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      std::vector<int64_t> v;
      if (!input(k, &v)) return false;
      values->insert(values->end(), v.begin(), v.end());
    }
    return true;
  }
  if (n.op == "STRIDED_SLICE") {
    std::vector<int64_t> in, begin, end, strides;
    if (!input(0, &in) || !input(1, &begin) || !input(2, &end) || !input(3, &strides) ||
        begin.size() != 1 || end.size() != 1 || strides.size() != 1 || strides[0] != 1 ||
        GetInt(n.attrs, "ellipsis_mask", 0) != 0 || GetInt(n.attrs, "new_axis_mask", 0) != 0) {
      return false;
    }
    const int64_t size = static_cast<int64_t>(in.size());
    int64_t b = begin[0] < 0 ? begin[0] + size : begin[0];
    int64_t e = end[0] < 0 ? end[0] + size : end[0];
    if (GetBool(n.attrs, "offset", false)) e = b + end[0];
    if (GetInt(n.attrs, "begin_mask", 0) & 1) b = 0;
    if (GetInt(n.attrs, "end_mask", 0) & 1) e = size;
    if (GetInt(n.attrs, "shrink_axis_mask", 0) & 1) e = b + 1;
    b = std::max<int64_t>(0, std::min(b, size));
    e = std::max<int64_t>(b, std::min(e, size));
    values->assign(in.begin() + b, in.begin() + e);
    return true;
  }
  return false;
}

// Everything one node's inference needs, with errors that name the node.
class NodeContext {
 public:
  NodeContext(Graph* g, int index) : g_(g), index_(index), node_(g->nodes[index]) {}

  const Node& node() const { return node_; }
  const std::string& op() const { return node_.op; }

  Status Error(const char* format, ...) const __attribute__((format(printf, 2, 3))) {
    char buf[512];
    va_list args;
    va_start(args, format);
    std::vsnprintf(buf, sizeof(buf), format, args);
    va_end(args);
    std::string where = "node " + std::to_string(index_) + " (" + node_.op;
    if (!node_.name.empty()) where += " \"" + node_.name + "\"";
    return Status(StatusCode::kInvalidArgument, where + "): " + buf);
  }

  size_t NumInputs() const { return node_.inputs.size(); }
  bool HasInput(size_t k) const { return k < node_.inputs.size() && node_.inputs[k] >= 0; }

  Status Input(size_t k, const Tensor** out) const {
    if (!HasInput(k)) return Error("input %zu is missing", k);
    const int t = node_.inputs[k];
    if (t >= static_cast<int>(g_->tensors.size())) return Error("input %zu out of range", k);
    *out = &g_->tensors[t];
    return Status::Ok();
  }
  Status InShape(size_t k, Shape* s) const {
    const Tensor* t = nullptr;
    EDGEOPT_RETURN_IF_ERROR(Input(k, &t));
    *s = t->shape;
    return Status::Ok();
  }
  Status InRank(size_t k, size_t rank, Shape* s) const {
    EDGEOPT_RETURN_IF_ERROR(InShape(k, s));
    if (s->size() != rank) {
      return Error("input %zu has shape %s; expected rank %zu", k, ShapeString(*s).c_str(), rank);
    }
    return Status::Ok();
  }

  // The values of a constant int32/int64 input, or of one computed from shapes (SHAPE ->
  // STRIDED_SLICE -> PACK, as converters emit for dynamic-batch reshapes).
  Status ConstInts(size_t k, const char* what, std::vector<int64_t>* values) const {
    const Tensor* t = nullptr;
    EDGEOPT_RETURN_IF_ERROR(Input(k, &t));
    if (!t->is_constant) {
      if (KnownValues(*g_, node_.inputs[k], 0, values)) return Status::Ok();
      return Error("%s (input %zu) must be a constant", what, k);
    }
    values->clear();
    if (t->dtype == DType::kInt32) {
      if (t->data.size() % 4 != 0) return Error("%s has a truncated buffer", what);
      for (size_t i = 0; i < t->data.size() / 4; ++i) {
        int32_t v;
        std::memcpy(&v, t->data.data() + 4 * i, 4);
        values->push_back(v);
      }
    } else if (t->dtype == DType::kInt64) {
      if (t->data.size() % 8 != 0) return Error("%s has a truncated buffer", what);
      for (size_t i = 0; i < t->data.size() / 8; ++i) {
        int64_t v;
        std::memcpy(&v, t->data.data() + 8 * i, 8);
        values->push_back(v);
      }
    } else {
      return Error("%s must be int32 or int64, not %s", what, DTypeName(t->dtype));
    }
    return Status::Ok();
  }

  Status SetOutput(size_t k, const Shape& s) {
    if (k >= node_.outputs.size()) {
      return Error("has %zu outputs; expected at least %zu", node_.outputs.size(), k + 1);
    }
    for (int32_t d : s) {
      if (d < 0) return Error("output %zu would have shape %s", k, ShapeString(s).c_str());
    }
    Tensor& t = g_->tensors[node_.outputs[k]];
    if (t.shape_signature.size() != s.size()) t.shape_signature.clear();
    t.shape = s;
    return Status::Ok();
  }
  Status SetAllOutputs(const Shape& s) {
    if (node_.outputs.empty()) return Error("has no outputs");
    for (size_t k = 0; k < node_.outputs.size(); ++k) EDGEOPT_RETURN_IF_ERROR(SetOutput(k, s));
    return Status::Ok();
  }

  int64_t Int(const char* key, int64_t fallback) const {
    return GetInt(node_.attrs, key, fallback);
  }
  bool Bool(const char* key) const { return GetBool(node_.attrs, key, false); }
  std::string Str(const char* key, const char* fallback) const {
    return GetString(node_.attrs, key, fallback);
  }

  // Normalizes a possibly negative axis against `rank` (TFLite style).
  Status Axis(int64_t axis, size_t rank, const char* what, int* out) const {
    const int64_t r = static_cast<int64_t>(rank);
    if (axis < -r || axis >= r) {
      return Error("%s %lld is out of range for rank %zu", what, static_cast<long long>(axis),
                   rank);
    }
    *out = static_cast<int>(axis < 0 ? axis + r : axis);
    return Status::Ok();
  }

 private:
  Graph* g_;
  int index_;
  const Node& node_;
};

int64_t NumElements(const Shape& s) {
  int64_t n = 1;
  for (int32_t d : s) n *= d;
  return n;
}

// Output size of a windowed op along one dimension (TFLite's ComputeOutSize).
Status WindowOut(const NodeContext& c, const char* dim, int32_t in, int32_t filter, int64_t stride,
                 int64_t dilation, int32_t* out) {
  if (stride <= 0 || dilation <= 0) {
    return c.Error("stride and dilation must be positive (stride %lld, dilation %lld)",
                   static_cast<long long>(stride), static_cast<long long>(dilation));
  }
  const std::string padding = c.Str("padding", "SAME");
  const int64_t effective = (static_cast<int64_t>(filter) - 1) * dilation + 1;
  int64_t size = 0;
  if (padding == "SAME") {
    size = (in + stride - 1) / stride;
  } else if (padding == "VALID") {
    size = (in - effective + stride) / stride;
  } else {
    return c.Error("unknown padding \"%s\"", padding.c_str());
  }
  if (size <= 0 && in > 0) {
    return c.Error("%s: window of %lld does not fit input size %d with VALID padding", dim,
                   static_cast<long long>(effective), in);
  }
  *out = static_cast<int32_t>(std::max<int64_t>(size, 0));
  return Status::Ok();
}

Status Conv2D(NodeContext& c) {
  Shape in, filter;
  EDGEOPT_RETURN_IF_ERROR(c.InRank(0, 4, &in));
  EDGEOPT_RETURN_IF_ERROR(c.InRank(1, 4, &filter));
  if (filter[3] <= 0 || in[3] % filter[3] != 0) {
    return c.Error(
        "input channels %d are not a multiple of the filter's input channels "
        "%d (filter "
        "%s)",
        in[3], filter[3], ShapeString(filter).c_str());
  }
  if (c.HasInput(2)) {
    Shape bias;
    EDGEOPT_RETURN_IF_ERROR(c.InShape(2, &bias));
    if (NumElements(bias) != filter[0]) {
      return c.Error("bias %s does not match %d output channels", ShapeString(bias).c_str(),
                     filter[0]);
    }
  }
  Shape out = {in[0], 0, 0, filter[0]};
  EDGEOPT_RETURN_IF_ERROR(WindowOut(c, "height", in[1], filter[1], c.Int("stride_h", 1),
                                    c.Int("dilation_h_factor", 1), &out[1]));
  EDGEOPT_RETURN_IF_ERROR(WindowOut(c, "width", in[2], filter[2], c.Int("stride_w", 1),
                                    c.Int("dilation_w_factor", 1), &out[2]));
  return c.SetOutput(0, out);
}

Status DepthwiseConv2D(NodeContext& c) {
  Shape in, filter;
  EDGEOPT_RETURN_IF_ERROR(c.InRank(0, 4, &in));
  EDGEOPT_RETURN_IF_ERROR(c.InRank(1, 4, &filter));
  if (filter[0] != 1 || in[3] <= 0 || filter[3] % in[3] != 0) {
    return c.Error("filter %s does not fit input %s (expected [1,H,W,%d*multiplier])",
                   ShapeString(filter).c_str(), ShapeString(in).c_str(), in[3]);
  }
  const int64_t multiplier = c.Int("depth_multiplier", 0);
  if (multiplier > 0 && filter[3] != in[3] * multiplier) {
    return c.Error(
        "filter has %d channels; input channels %d x depth_multiplier %lld = "
        "%lld",
        filter[3], in[3], static_cast<long long>(multiplier),
        static_cast<long long>(in[3] * multiplier));
  }
  Shape out = {in[0], 0, 0, filter[3]};
  EDGEOPT_RETURN_IF_ERROR(WindowOut(c, "height", in[1], filter[1], c.Int("stride_h", 1),
                                    c.Int("dilation_h_factor", 1), &out[1]));
  EDGEOPT_RETURN_IF_ERROR(WindowOut(c, "width", in[2], filter[2], c.Int("stride_w", 1),
                                    c.Int("dilation_w_factor", 1), &out[2]));
  return c.SetOutput(0, out);
}

Status Pool2D(NodeContext& c) {
  Shape in;
  EDGEOPT_RETURN_IF_ERROR(c.InRank(0, 4, &in));
  const int64_t fh = c.Int("filter_height", 1), fw = c.Int("filter_width", 1);
  if (fh <= 0 || fw <= 0) return c.Error("filter size %lldx%lld", (long long)fh, (long long)fw);
  Shape out = {in[0], 0, 0, in[3]};
  EDGEOPT_RETURN_IF_ERROR(
      WindowOut(c, "height", in[1], static_cast<int32_t>(fh), c.Int("stride_h", 1), 1, &out[1]));
  EDGEOPT_RETURN_IF_ERROR(
      WindowOut(c, "width", in[2], static_cast<int32_t>(fw), c.Int("stride_w", 1), 1, &out[2]));
  return c.SetOutput(0, out);
}

Status FullyConnected(NodeContext& c) {
  Shape in, w;
  EDGEOPT_RETURN_IF_ERROR(c.InShape(0, &in));
  EDGEOPT_RETURN_IF_ERROR(c.InRank(1, 2, &w));
  const int32_t depth = w[1];
  if (in.empty() || depth <= 0 || NumElements(in) % depth != 0) {
    return c.Error("input %s does not fit weights %s (%d inputs per row)", ShapeString(in).c_str(),
                   ShapeString(w).c_str(), depth);
  }
  if (c.Bool("keep_num_dims")) {
    if (in.back() != depth) {
      return c.Error(
          "keep_num_dims needs the last input dimension (%d) to equal the "
          "weights' %d",
          in.back(), depth);
    }
    Shape out = in;
    out.back() = w[0];
    return c.SetOutput(0, out);
  }
  return c.SetOutput(0, {static_cast<int32_t>(NumElements(in) / depth), w[0]});
}

// BATCH_MATMUL: [..., M, K] x [..., K, N] (adj_x / adj_y transpose the last two dimensions of
// the lhs / rhs); the batch dimensions broadcast as numpy's.
Status BatchMatMul(NodeContext& c) {
  Shape a, b;
  EDGEOPT_RETURN_IF_ERROR(c.InShape(0, &a));
  EDGEOPT_RETURN_IF_ERROR(c.InShape(1, &b));
  if (a.size() < 2 || b.size() < 2 || a.size() > 6 || b.size() > 6) {
    return c.Error("inputs %s and %s must have rank 2 to 6", ShapeString(a).c_str(),
                   ShapeString(b).c_str());
  }
  const bool adj_x = c.Bool("adj_x"), adj_y = c.Bool("adj_y");
  const int32_t m = a[a.size() - (adj_x ? 1 : 2)], ka = a[a.size() - (adj_x ? 2 : 1)];
  const int32_t kb = b[b.size() - (adj_y ? 1 : 2)], n = b[b.size() - (adj_y ? 2 : 1)];
  if (ka != kb) {
    return c.Error("inputs %s and %s (adj_x %d, adj_y %d) do not multiply: %d vs %d",
                   ShapeString(a).c_str(), ShapeString(b).c_str(), adj_x, adj_y, ka, kb);
  }
  const size_t batch_rank = std::max(a.size(), b.size()) - 2;
  Shape out(batch_rank + 2);
  for (size_t i = 0; i < batch_rank; ++i) {
    const size_t ia = a.size() - 2, ib = b.size() - 2;  // batch dimensions of each
    const int32_t da = i < batch_rank - ia ? 1 : a[i - (batch_rank - ia)];
    const int32_t db = i < batch_rank - ib ? 1 : b[i - (batch_rank - ib)];
    if (da != db && da != 1 && db != 1) {
      return c.Error("batch dimensions of %s and %s do not broadcast", ShapeString(a).c_str(),
                     ShapeString(b).c_str());
    }
    out[i] = da == 1 ? db : da;
  }
  out[batch_rank] = m;
  out[batch_rank + 1] = n;
  return c.SetOutput(0, out);
}

Status TransposeConv(NodeContext& c) {
  std::vector<int64_t> shape;
  EDGEOPT_RETURN_IF_ERROR(c.ConstInts(0, "output_shape", &shape));
  Shape filter, in;
  EDGEOPT_RETURN_IF_ERROR(c.InRank(1, 4, &filter));
  EDGEOPT_RETURN_IF_ERROR(c.InRank(2, 4, &in));
  if (shape.size() != 4) return c.Error("output_shape has %zu values; expected 4", shape.size());
  if (filter[3] != in[3]) {
    return c.Error("filter %s does not take %d input channels", ShapeString(filter).c_str(), in[3]);
  }
  if (shape[3] != filter[0] || shape[0] != in[0]) {
    return c.Error(
        "output_shape [%lld,%lld,%lld,%lld] does not fit filter %s and input "
        "%s",
        (long long)shape[0], (long long)shape[1], (long long)shape[2], (long long)shape[3],
        ShapeString(filter).c_str(), ShapeString(in).c_str());
  }
  return c.SetOutput(0, Shape(shape.begin(), shape.end()));
}

Status Broadcast(NodeContext& c) {
  if (c.NumInputs() < 2) return c.Error("needs two inputs");
  Shape a, b;
  EDGEOPT_RETURN_IF_ERROR(c.InShape(0, &a));
  EDGEOPT_RETURN_IF_ERROR(c.InShape(1, &b));
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int32_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int32_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1) {
      return c.Error("shapes %s and %s do not broadcast", ShapeString(a).c_str(),
                     ShapeString(b).c_str());
    }
    out[i] = da == 1 ? db : da;
  }
  return c.SetOutput(0, out);
}

Status SameAsInput(NodeContext& c) {
  Shape in;
  EDGEOPT_RETURN_IF_ERROR(c.InShape(0, &in));
  return c.SetOutput(0, in);
}

Status Reduce(NodeContext& c) {
  Shape in;
  EDGEOPT_RETURN_IF_ERROR(c.InShape(0, &in));
  std::vector<int64_t> axes;
  EDGEOPT_RETURN_IF_ERROR(c.ConstInts(1, "axis", &axes));
  std::set<int> reduced;
  for (int64_t a : axes) {
    int axis = 0;
    EDGEOPT_RETURN_IF_ERROR(c.Axis(a, in.size(), "axis", &axis));
    reduced.insert(axis);
  }
  const bool keep = c.Bool("keep_dims");
  Shape out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (reduced.count(static_cast<int>(i))) {
      if (keep) out.push_back(1);
    } else {
      out.push_back(in[i]);
    }
  }
  return c.SetOutput(0, out);
}

Status Reshape(NodeContext& c) {
  Shape in;
  EDGEOPT_RETURN_IF_ERROR(c.InShape(0, &in));
  std::vector<int64_t> target;
  const Tensor* shape_input = nullptr;
  if (c.HasInput(1) && c.Input(1, &shape_input).ok() && shape_input->shape.size() == 1 &&
      c.ConstInts(1, "shape", &target).ok()) {
    // From the shape input (TFLite prefers it over new_shape).
  } else if (c.node().attrs.count("new_shape")) {
    target = GetInts(c.node().attrs, "new_shape");
  } else {
    return c.Error("needs a constant 1-D shape input or a new_shape attribute");
  }
  const int64_t total = NumElements(in);
  // Old converters wrote [0] for "reshape to a scalar".
  if (target.size() == 1 && target[0] == 0 && total == 1) target.clear();
  int unknown = -1;
  int64_t known = 1;
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == -1) {
      if (unknown >= 0) return c.Error("new shape has more than one -1");
      unknown = static_cast<int>(i);
    } else if (target[i] < 0 || target[i] > INT32_MAX) {
      return c.Error("new shape has dimension %lld", static_cast<long long>(target[i]));
    } else {
      known *= target[i];
    }
  }
  if (unknown >= 0) {
    if (known == 0 || total % known != 0) {
      return c.Error("cannot reshape %s (%lld elements) with a -1 dimension",
                     ShapeString(in).c_str(), static_cast<long long>(total));
    }
    target[unknown] = total / known;
  } else if (known != total) {
    return c.Error("cannot reshape %s (%lld elements) into %lld elements", ShapeString(in).c_str(),
                   static_cast<long long>(total), static_cast<long long>(known));
  }
  return c.SetOutput(0, Shape(target.begin(), target.end()));
}

Status Squeeze(NodeContext& c) {
  Shape in;
  EDGEOPT_RETURN_IF_ERROR(c.InShape(0, &in));
  const std::vector<int64_t> dims = GetInts(c.node().attrs, "squeeze_dims");
  std::set<int> remove;
  for (int64_t d : dims) {
    int axis = 0;
    EDGEOPT_RETURN_IF_ERROR(c.Axis(d, in.size(), "squeeze dimension", &axis));
    if (in[axis] != 1) return c.Error("cannot squeeze dimension %d of size %d", axis, in[axis]);
    remove.insert(axis);
  }
  Shape out;
  for (size_t i = 0; i < in.size(); ++i) {
    const bool drop = dims.empty() ? in[i] == 1 : remove.count(static_cast<int>(i)) > 0;
    if (!drop) out.push_back(in[i]);
  }
  return c.SetOutput(0, out);
}

Status ExpandDims(NodeContext& c) {
  Shape in;
  EDGEOPT_RETURN_IF_ERROR(c.InShape(0, &in));
  std::vector<int64_t> axis;
  EDGEOPT_RETURN_IF_ERROR(c.ConstInts(1, "axis", &axis));
  if (axis.size() != 1) return c.Error("axis must hold one value, not %zu", axis.size());
  int a = 0;
  EDGEOPT_RETURN_IF_ERROR(c.Axis(axis[0], in.size() + 1, "axis", &a));
  in.insert(in.begin() + a, 1);
  return c.SetOutput(0, in);
}

Status Concatenation(NodeContext& c) {
  if (c.NumInputs() == 0) return c.Error("has no inputs");
  Shape out;
  EDGEOPT_RETURN_IF_ERROR(c.InShape(0, &out));
  int axis = 0;
  EDGEOPT_RETURN_IF_ERROR(c.Axis(c.Int("axis", 0), out.size(), "axis", &axis));
  for (size_t k = 1; k < c.NumInputs(); ++k) {
    Shape s;
    EDGEOPT_RETURN_IF_ERROR(c.InShape(k, &s));
    if (s.size() != out.size()) {
      return c.Error("input %zu has rank %zu; input 0 has rank %zu", k, s.size(), out.size());
    }
    for (size_t d = 0; d < s.size(); ++d) {
      if (static_cast<int>(d) != axis && s[d] != out[d]) {
        return c.Error("input %zu has shape %s; it must match input 0 except on axis %d", k,
                       ShapeString(s).c_str(), axis);
      }
    }
    out[axis] += s[axis];
  }
  return c.SetOutput(0, out);
}

Status Split(NodeContext& c) {
  std::vector<int64_t> axis_value;
  EDGEOPT_RETURN_IF_ERROR(c.ConstInts(0, "axis", &axis_value));
  Shape in;
  EDGEOPT_RETURN_IF_ERROR(c.InShape(1, &in));
  if (axis_value.size() != 1) return c.Error("axis must hold one value");
  int axis = 0;
  EDGEOPT_RETURN_IF_ERROR(c.Axis(axis_value[0], in.size(), "axis", &axis));
  const int64_t n = c.Int("num_splits", static_cast<int64_t>(c.node().outputs.size()));
  if (n <= 0 || n != static_cast<int64_t>(c.node().outputs.size()) || in[axis] % n != 0) {
    return c.Error("cannot split dimension %d of size %d into %lld parts (%zu outputs)", axis,
                   in[axis], static_cast<long long>(n), c.node().outputs.size());
  }
  in[axis] /= static_cast<int32_t>(n);
  return c.SetAllOutputs(in);
}

Status SplitV(NodeContext& c) {
  Shape in;
  EDGEOPT_RETURN_IF_ERROR(c.InShape(0, &in));
  std::vector<int64_t> sizes, axis_value;
  EDGEOPT_RETURN_IF_ERROR(c.ConstInts(1, "size_splits", &sizes));
  EDGEOPT_RETURN_IF_ERROR(c.ConstInts(2, "axis", &axis_value));
  if (axis_value.size() != 1) return c.Error("axis must hold one value");
  int axis = 0;
  EDGEOPT_RETURN_IF_ERROR(c.Axis(axis_value[0], in.size(), "axis", &axis));
  if (sizes.size() != c.node().outputs.size()) {
    return c.Error("%zu size_splits for %zu outputs", sizes.size(), c.node().outputs.size());
  }
  int unknown = -1;
  int64_t sum = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] == -1 && unknown < 0) {
      unknown = static_cast<int>(i);
    } else if (sizes[i] < 0) {
      return c.Error("size_splits entry %lld", static_cast<long long>(sizes[i]));
    } else {
      sum += sizes[i];
    }
  }
  if (unknown >= 0) sizes[unknown] = in[axis] - sum, sum = in[axis];
  if (sum != in[axis] || (unknown >= 0 && sizes[unknown] < 0)) {
    return c.Error("size_splits add up to %lld; dimension %d has size %d",
                   static_cast<long long>(sum), axis, in[axis]);
  }
  for (size_t i = 0; i < sizes.size(); ++i) {
    Shape out = in;
    out[axis] = static_cast<int32_t>(sizes[i]);
    EDGEOPT_RETURN_IF_ERROR(c.SetOutput(i, out));
  }
  return Status::Ok();
}

Status Pad(NodeContext& c) {
  Shape in;
  EDGEOPT_RETURN_IF_ERROR(c.InShape(0, &in));
  std::vector<int64_t> pads;
  EDGEOPT_RETURN_IF_ERROR(c.ConstInts(1, "paddings", &pads));
  if (pads.size() != 2 * in.size()) {
    return c.Error("paddings hold %zu values; input %s needs %zu", pads.size(),
                   ShapeString(in).c_str(), 2 * in.size());
  }
  for (size_t d = 0; d < in.size(); ++d) {
    if (pads[2 * d] < 0 || pads[2 * d + 1] < 0) return c.Error("negative padding on dim %zu", d);
    in[d] += static_cast<int32_t>(pads[2 * d] + pads[2 * d + 1]);
  }
  return c.SetOutput(0, in);
}

Status StridedSlice(NodeContext& c) {
  Shape in;
  EDGEOPT_RETURN_IF_ERROR(c.InShape(0, &in));
  std::vector<int64_t> begin, end, strides;
  EDGEOPT_RETURN_IF_ERROR(c.ConstInts(1, "begin", &begin));
  EDGEOPT_RETURN_IF_ERROR(c.ConstInts(2, "end", &end));
  EDGEOPT_RETURN_IF_ERROR(c.ConstInts(3, "strides", &strides));
  if (c.Int("ellipsis_mask", 0) != 0 || c.Int("new_axis_mask", 0) != 0) {
    return Status(StatusCode::kUnsupported,
                  c.Error("ellipsis_mask/new_axis_mask are not supported").message());
  }
  const size_t rank = in.size();
  if (begin.size() != end.size() || begin.size() != strides.size() || begin.size() > rank) {
    return c.Error("begin/end/strides have %zu/%zu/%zu values for rank %zu", begin.size(),
                   end.size(), strides.size(), rank);
  }
  const int64_t begin_mask = c.Int("begin_mask", 0), end_mask = c.Int("end_mask", 0);
  const int64_t shrink = c.Int("shrink_axis_mask", 0);
  const bool offset = c.Bool("offset");
  Shape out;
  for (size_t d = 0; d < rank; ++d) {
    const int64_t dim = in[d];
    if (d >= begin.size()) {
      out.push_back(in[d]);
      continue;
    }
    const int64_t stride = strides[d];
    if (stride == 0) return c.Error("stride of dimension %zu is 0", d);
    int64_t b = begin[d], e = end[d];
    if (offset) e += b;
    const bool shrink_d = (shrink >> d) & 1;
    if (b < 0) b += dim;
    if (shrink_d) {
      if (b < 0 || b >= dim) return c.Error("shrink index %lld out of range", (long long)begin[d]);
      continue;  // dimension removed
    }
    if (e < 0 && !offset) e += dim;
    // Clamp as TFLite does (to [0, dim] going forward, [-1, dim-1] going backward).
    const int64_t lo = stride > 0 ? 0 : -1, hi = stride > 0 ? dim : dim - 1;
    if ((begin_mask >> d) & 1) b = stride > 0 ? 0 : dim - 1;
    if ((end_mask >> d) & 1) e = stride > 0 ? dim : -1;
    b = std::min(std::max(b, lo), hi);
    e = std::min(std::max(e, lo), hi);
    int64_t size = stride > 0 ? (e - b + stride - 1) / stride : (b - e - stride - 1) / -stride;
    out.push_back(static_cast<int32_t>(std::max<int64_t>(size, 0)));
  }
  return c.SetOutput(0, out);
}

Status Slice(NodeContext& c) {
  Shape in;
  EDGEOPT_RETURN_IF_ERROR(c.InShape(0, &in));
  std::vector<int64_t> begin, size;
  EDGEOPT_RETURN_IF_ERROR(c.ConstInts(1, "begin", &begin));
  EDGEOPT_RETURN_IF_ERROR(c.ConstInts(2, "size", &size));
  if (begin.size() != in.size() || size.size() != in.size()) {
    return c.Error("begin/size have %zu/%zu values for rank %zu", begin.size(), size.size(),
                   in.size());
  }
  Shape out(in.size());
  for (size_t d = 0; d < in.size(); ++d) {
    const int64_t s = size[d] == -1 ? in[d] - begin[d] : size[d];
    if (begin[d] < 0 || s < 0 || begin[d] + s > in[d]) {
      return c.Error("slice [%lld, +%lld) does not fit dimension %zu of size %d",
                     (long long)begin[d], (long long)size[d], d, in[d]);
    }
    out[d] = static_cast<int32_t>(s);
  }
  return c.SetOutput(0, out);
}

Status Transpose(NodeContext& c) {
  Shape in;
  EDGEOPT_RETURN_IF_ERROR(c.InShape(0, &in));
  std::vector<int64_t> perm;
  EDGEOPT_RETURN_IF_ERROR(c.ConstInts(1, "perm", &perm));
  if (perm.size() != in.size())
    return c.Error("perm has %zu values for rank %zu", perm.size(), in.size());
  Shape out(in.size());
  std::set<int> seen;
  for (size_t d = 0; d < perm.size(); ++d) {
    int p = 0;
    EDGEOPT_RETURN_IF_ERROR(c.Axis(perm[d], in.size(), "perm entry", &p));
    if (!seen.insert(p).second) return c.Error("perm repeats dimension %d", p);
    out[d] = in[p];
  }
  return c.SetOutput(0, out);
}

Status Pack(NodeContext& c) {
  if (c.NumInputs() == 0) return c.Error("has no inputs");
  Shape in;
  EDGEOPT_RETURN_IF_ERROR(c.InShape(0, &in));
  for (size_t k = 1; k < c.NumInputs(); ++k) {
    Shape s;
    EDGEOPT_RETURN_IF_ERROR(c.InShape(k, &s));
    if (s != in) {
      return c.Error("input %zu has shape %s; input 0 has %s", k, ShapeString(s).c_str(),
                     ShapeString(in).c_str());
    }
  }
  int axis = 0;
  EDGEOPT_RETURN_IF_ERROR(c.Axis(c.Int("axis", 0), in.size() + 1, "axis", &axis));
  in.insert(in.begin() + axis, static_cast<int32_t>(c.NumInputs()));
  return c.SetOutput(0, in);
}

Status Unpack(NodeContext& c) {
  Shape in;
  EDGEOPT_RETURN_IF_ERROR(c.InShape(0, &in));
  int axis = 0;
  EDGEOPT_RETURN_IF_ERROR(c.Axis(c.Int("axis", 0), in.size(), "axis", &axis));
  if (in[axis] != static_cast<int32_t>(c.node().outputs.size())) {
    return c.Error("dimension %d has size %d but there are %zu outputs", axis, in[axis],
                   c.node().outputs.size());
  }
  in.erase(in.begin() + axis);
  return c.SetAllOutputs(in);
}

Status ShapeOp(NodeContext& c) {
  Shape in;
  EDGEOPT_RETURN_IF_ERROR(c.InShape(0, &in));
  return c.SetOutput(0, {static_cast<int32_t>(in.size())});
}

Status Gather(NodeContext& c) {
  Shape params, indices;
  EDGEOPT_RETURN_IF_ERROR(c.InShape(0, &params));
  EDGEOPT_RETURN_IF_ERROR(c.InShape(1, &indices));
  int axis = 0;
  EDGEOPT_RETURN_IF_ERROR(c.Axis(c.Int("axis", 0), params.size(), "axis", &axis));
  int64_t batch_dims = c.Int("batch_dims", 0);
  if (batch_dims < 0) batch_dims += static_cast<int64_t>(indices.size());
  if (batch_dims < 0 || batch_dims > axis || batch_dims > static_cast<int64_t>(indices.size())) {
    return c.Error("batch_dims %lld does not fit", static_cast<long long>(batch_dims));
  }
  Shape out(params.begin(), params.begin() + axis);
  out.insert(out.end(), indices.begin() + batch_dims, indices.end());
  out.insert(out.end(), params.begin() + axis + 1, params.end());
  return c.SetOutput(0, out);
}

// EMBEDDING(ids, table [V, D]) -> ids.shape + [D] (training form of Keras Embedding).
Status Embedding(NodeContext& c) {
  Shape ids, table;
  EDGEOPT_RETURN_IF_ERROR(c.InShape(0, &ids));
  EDGEOPT_RETURN_IF_ERROR(c.InRank(1, 2, &table));
  Shape out = ids;
  out.push_back(table[1]);
  return c.SetOutput(0, out);
}

Status Resize(NodeContext& c) {
  Shape in;
  EDGEOPT_RETURN_IF_ERROR(c.InRank(0, 4, &in));
  std::vector<int64_t> size;
  EDGEOPT_RETURN_IF_ERROR(c.ConstInts(1, "size", &size));
  if (size.size() != 2 || size[0] <= 0 || size[1] <= 0) {
    return c.Error("size must be 2 positive values");
  }
  return c.SetOutput(0,
                     {in[0], static_cast<int32_t>(size[0]), static_cast<int32_t>(size[1]), in[3]});
}

Status ArgMinMax(NodeContext& c) {
  Shape in;
  EDGEOPT_RETURN_IF_ERROR(c.InShape(0, &in));
  std::vector<int64_t> axis_value;
  EDGEOPT_RETURN_IF_ERROR(c.ConstInts(1, "axis", &axis_value));
  if (axis_value.size() != 1) return c.Error("axis must hold one value");
  int axis = 0;
  EDGEOPT_RETURN_IF_ERROR(c.Axis(axis_value[0], in.size(), "axis", &axis));
  in.erase(in.begin() + axis);
  return c.SetOutput(0, in);
}

Status SequenceLstm(NodeContext& c) {
  Shape in, recurrent;
  EDGEOPT_RETURN_IF_ERROR(c.InRank(0, 3, &in));
  // recurrent_to_output_weights: [n_cell, n_output].
  EDGEOPT_RETURN_IF_ERROR(c.InRank(8, 2, &recurrent));
  Shape w;
  EDGEOPT_RETURN_IF_ERROR(c.InRank(4, 2, &w));  // input_to_output_weights [n_cell, n_input]
  if (w[1] != in[2]) {
    return c.Error("input %s has %d features; the weights take %d", ShapeString(in).c_str(), in[2],
                   w[1]);
  }
  return c.SetOutput(0, {in[0], in[1], recurrent[1]});
}

Status Svdf(NodeContext& c) {
  Shape in, feature;
  EDGEOPT_RETURN_IF_ERROR(c.InRank(0, 2, &in));
  EDGEOPT_RETURN_IF_ERROR(c.InRank(1, 2, &feature));  // [num_filters, input_size]
  const int64_t rank = c.Int("rank", 1);
  if (rank <= 0 || feature[0] % rank != 0 || feature[1] != in[1]) {
    return c.Error("weights_feature %s do not fit input %s with rank %lld",
                   ShapeString(feature).c_str(), ShapeString(in).c_str(),
                   static_cast<long long>(rank));
  }
  return c.SetOutput(0, {in[0], static_cast<int32_t>(feature[0] / rank)});
}

bool IsUnary(const std::string& op) {
  static const std::set<std::string> kOps = {"LOGISTIC",
                                             "TANH",
                                             "RELU",
                                             "RELU6",
                                             "RELU_N1_TO_1",
                                             "RELU_0_TO_1",
                                             "LEAKY_RELU",
                                             "HARD_SWISH",
                                             "ELU",
                                             "GELU",
                                             "QUANTIZE",
                                             "DEQUANTIZE",
                                             "CAST",
                                             "SOFTMAX",
                                             "LOG_SOFTMAX",
                                             "ABS",
                                             "NEG",
                                             "EXP",
                                             "LOG",
                                             "SQRT",
                                             "RSQRT",
                                             "SQUARE",
                                             "FLOOR",
                                             "CEIL",
                                             "ROUND",
                                             "SIN",
                                             "COS",
                                             "L2_NORMALIZATION",
                                             "LOCAL_RESPONSE_NORMALIZATION",
                                             "ZEROS_LIKE",
                                             "FAKE_QUANT",
                                             "LOGICAL_NOT",
                                             "SIGN",
                                             "BATCH_NORM",
                                             "DROPOUT",
                                             "FAKE_QUANT_ACT",
                                             "FAKE_QUANT_WEIGHT"};
  return kOps.count(op) > 0;
}

bool IsBinary(const std::string& op) {
  static const std::set<std::string> kOps = {"ADD",
                                             "SUB",
                                             "MUL",
                                             "DIV",
                                             "MAXIMUM",
                                             "MINIMUM",
                                             "SQUARED_DIFFERENCE",
                                             "POW",
                                             "FLOOR_DIV",
                                             "FLOOR_MOD",
                                             "LESS",
                                             "LESS_EQUAL",
                                             "GREATER",
                                             "GREATER_EQUAL",
                                             "EQUAL",
                                             "NOT_EQUAL",
                                             "LOGICAL_AND",
                                             "LOGICAL_OR",
                                             "PRELU"};
  return kOps.count(op) > 0;
}

}  // namespace

Status InferNodeShapes(Graph* graph, int node_index) {
  if (node_index < 0 || node_index >= static_cast<int>(graph->nodes.size())) {
    return MakeStatus(StatusCode::kInvalidArgument, "node %d out of range", node_index);
  }
  for (int t : graph->nodes[node_index].outputs) {
    if (t < 0 || t >= static_cast<int>(graph->tensors.size())) {
      return MakeStatus(StatusCode::kInvalidArgument, "node %d: output tensor %d out of range",
                        node_index, t);
    }
  }
  NodeContext c(graph, node_index);
  const std::string& op = c.op();
  if (IsUnary(op)) return SameAsInput(c);
  if (IsBinary(op)) return Broadcast(c);
  if (op == "CONV_2D") return Conv2D(c);
  if (op == "DEPTHWISE_CONV_2D") return DepthwiseConv2D(c);
  if (op == "FULLY_CONNECTED") return FullyConnected(c);
  if (op == "TRANSPOSE_CONV") return TransposeConv(c);
  if (op == "BATCH_MATMUL") return BatchMatMul(c);
  if (op == "MAX_POOL_2D" || op == "AVERAGE_POOL_2D" || op == "L2_POOL_2D") return Pool2D(c);
  if (op == "MEAN" || op == "SUM" || op == "REDUCE_MAX" || op == "REDUCE_MIN" ||
      op == "REDUCE_PROD" || op == "REDUCE_ANY" || op == "REDUCE_ALL") {
    return Reduce(c);
  }
  if (op == "RESHAPE") return Reshape(c);
  if (op == "SQUEEZE") return Squeeze(c);
  if (op == "EXPAND_DIMS") return ExpandDims(c);
  if (op == "CONCATENATION") return Concatenation(c);
  if (op == "SPLIT") return Split(c);
  if (op == "SPLIT_V") return SplitV(c);
  if (op == "PAD" || op == "PADV2" || op == "MIRROR_PAD") return Pad(c);
  if (op == "STRIDED_SLICE") return StridedSlice(c);
  if (op == "SLICE") return Slice(c);
  if (op == "TRANSPOSE") return Transpose(c);
  if (op == "PACK") return Pack(c);
  if (op == "UNPACK") return Unpack(c);
  if (op == "SHAPE") return ShapeOp(c);
  if (op == "GATHER") return Gather(c);
  if (op == "EMBEDDING") return Embedding(c);
  if (op == "RESIZE_NEAREST_NEIGHBOR" || op == "RESIZE_BILINEAR") return Resize(c);
  if (op == "ARG_MAX" || op == "ARG_MIN") return ArgMinMax(c);
  if (op == "UNIDIRECTIONAL_SEQUENCE_LSTM") return SequenceLstm(c);
  if (op == "SVDF") return Svdf(c);
  return MakeStatus(StatusCode::kUnsupported, "node %d: no shape inference for %s", node_index,
                    op.c_str());
}

Status InferShapes(Graph* graph) {
  for (int i = 0; i < static_cast<int>(graph->nodes.size()); ++i) {
    Status s = InferNodeShapes(graph, i);
    // Ops without inference (custom ops, rare builtins) keep the shapes they have.
    if (!s.ok() && s.code() != StatusCode::kUnsupported) return s;
  }
  return Status::Ok();
}

}  // namespace ir
}  // namespace edgeopt

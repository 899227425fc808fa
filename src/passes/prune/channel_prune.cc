#include "src/passes/prune/channel_prune.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>
#include <set>

namespace edgeopt {
namespace prune {
namespace {

constexpr int kFixed = -1;       // a channel position no planned layer owns (always kept)
using Label = std::vector<int>;  // per position of the last axis: a channel id or kFixed

class UnionFind {
 public:
  explicit UnionFind(int n = 0) : parent_(static_cast<size_t>(n)) {
    std::iota(parent_.begin(), parent_.end(), 0);
  }
  int Find(int x) {
    while (parent_[x] != x) {
      parent_[x] = parent_[parent_[x]];
      x = parent_[x];
    }
    return x;
  }
  void Union(int a, int b) {
    a = Find(a);
    b = Find(b);
    if (a != b) parent_[std::max(a, b)] = std::min(a, b);
  }

 private:
  std::vector<int> parent_;
};

bool IsUnaryPassThrough(const std::string& op) {
  static const std::set<std::string> kOps = {
      "RELU",       "RELU6", "RELU_N1_TO_1", "LEAKY_RELU",  "LOGISTIC",        "TANH",
      "HARD_SWISH", "ELU",   "GELU",         "MAX_POOL_2D", "AVERAGE_POOL_2D", "DROPOUT",
      "ABS",        "NEG",   "EXP",          "SQRT",        "RSQRT",           "SQUARE",
      "LOG",        "SIN",   "COS",          "QUANTIZE",    "DEQUANTIZE",      "CAST",
      "FLOOR",      "CEIL",  "ROUND",        "SIGN"};
  return kOps.count(op) > 0;
}

bool IsBinaryElementwise(const std::string& op) {
  static const std::set<std::string> kOps = {
      "ADD", "SUB", "MUL", "DIV", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE"};
  return kOps.count(op) > 0;
}

bool IsReduce(const std::string& op) {
  return op == "MEAN" || op == "REDUCE_MAX" || op == "REDUCE_MIN" || op == "SUM" ||
         op == "REDUCE_PROD";
}

std::vector<int64_t> ConstInts(const ir::Tensor& t) {
  std::vector<int64_t> v;
  if (!t.is_constant) return v;
  const int64_t n = t.NumElements();
  if (t.dtype == DType::kInt32) {
    for (int64_t i = 0; i < n; ++i) v.push_back(t.DataAs<int32_t>()[i]);
  } else if (t.dtype == DType::kInt64) {
    for (int64_t i = 0; i < n; ++i) v.push_back(t.DataAs<int64_t>()[i]);
  }
  return v;
}

// Keeps the positions `keep` of `axis` of a constant (any element type), with its
// per-channel quantization parameters when they run along that axis.
Status SliceConstant(ir::Tensor* t, int axis, const std::vector<bool>& keep) {
  const int rank = static_cast<int>(t->shape.size());
  EDGEOPT_ENSURE(axis >= 0 && axis < rank && t->shape[axis] == static_cast<int>(keep.size()),
                 StatusCode::kInternal, "%s: slicing axis %d of %zu positions", t->name.c_str(),
                 axis, keep.size());
  EDGEOPT_ENSURE(t->is_constant && !t->has_sparsity, StatusCode::kUnsupported,
                 "%s: only dense constants can be sliced", t->name.c_str());
  const size_t elem = DTypeSize(t->dtype);
  EDGEOPT_ENSURE(elem > 0, StatusCode::kUnsupported, "%s: cannot slice %s", t->name.c_str(),
                 DTypeName(t->dtype));
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= t->shape[d];
  for (int d = axis + 1; d < rank; ++d) inner *= t->shape[d];
  const int64_t n = t->shape[axis];
  const int64_t kept = std::count(keep.begin(), keep.end(), true);
  std::vector<uint8_t> out(static_cast<size_t>(outer * kept * inner) * elem);
  uint8_t* dst = out.data();
  const size_t row = static_cast<size_t>(inner) * elem;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < n; ++i) {
      if (!keep[i]) continue;
      std::memcpy(dst, t->data.data() + static_cast<size_t>(o * n + i) * row, row);
      dst += row;
    }
  }
  t->data = std::move(out);
  t->shape[axis] = static_cast<int32_t>(kept);
  if (!t->shape_signature.empty()) t->shape_signature[axis] = static_cast<int32_t>(kept);
  ir::QuantInfo& q = t->quant;
  if (q.per_channel() && q.axis == axis && q.scale.size() == keep.size()) {
    ir::QuantInfo nq = q;
    nq.scale.clear();
    nq.zero_point.clear();
    for (size_t i = 0; i < keep.size(); ++i) {
      if (!keep[i]) continue;
      nq.scale.push_back(q.scale[i]);
      if (i < q.zero_point.size()) nq.zero_point.push_back(q.zero_point[i]);
    }
    q = nq;
  }
  return Status::Ok();
}

struct Producer {
  const PrunableWeight* weight = nullptr;
  int bias = -1;  // bias tensor id
  int base = 0;   // first channel id
  int count = 0;
  std::string why_frozen;
};

class ChannelPruner {
 public:
  ChannelPruner(ir::Graph* graph, const std::vector<PrunableWeight>& weights, ChannelNorm norm,
                const std::set<int>& fixed)
      : g_(graph), weights_(weights), norm_(norm), fixed_(fixed) {}

  StatusOr<ChannelPruneResult> Run() {
    SetUpProducers();
    labels_.assign(g_->tensors.size(), Label());
    for (size_t i = 0; i < g_->nodes.size(); ++i) EDGEOPT_RETURN_IF_ERROR(Visit(i));
    for (int t : g_->outputs) Freeze(labels_[t], "a graph output");
    EDGEOPT_RETURN_IF_ERROR(Decide());
    EDGEOPT_RETURN_IF_ERROR(Apply());
    EDGEOPT_RETURN_IF_ERROR(g_->Validate());
    ChannelPruneResult result;
    for (const Producer& p : producers_) {
      ChannelPruneResult::Layer l;
      l.layer = p.weight->layer;
      l.channels_before = p.count;
      for (int c = p.base; c < p.base + p.count; ++c) {
        l.channels_after += keep_[c] ? 1 : 0;
        l.frozen += frozen_[c] ? 1 : 0;
      }
      l.why_frozen = p.why_frozen;
      result.layers.push_back(l);
    }
    return result;
  }

 private:
  void SetUpProducers() {
    int next = 0;
    for (const PrunableWeight& w : weights_) {
      if (w.op != "CONV_2D" && w.op != "FULLY_CONNECTED") continue;
      Producer p;
      p.weight = &w;
      const ir::Node& n = g_->nodes[w.node];
      p.bias = n.inputs.size() > 2 ? n.inputs[2] : -1;
      p.base = next;
      p.count = static_cast<int>(w.rows);
      next += p.count;
      producer_of_tensor_[w.tensor] = static_cast<int>(producers_.size());
      producers_.push_back(p);
    }
    owner_.assign(static_cast<size_t>(next), 0);
    for (size_t p = 0; p < producers_.size(); ++p) {
      for (int c = 0; c < producers_[p].count; ++c) owner_[producers_[p].base + c] = p;
    }
    frozen_.assign(static_cast<size_t>(next), false);
    uf_ = UnionFind(next);
  }

  void Freeze(const Label& label, const std::string& why) {
    for (int id : label) {
      if (id == kFixed) continue;
      frozen_[id] = true;
      std::string& w = producers_[owner_[id]].why_frozen;
      if (w.empty()) w = why;
    }
  }

  const Label* InputLabel(const ir::Node& n, size_t slot) const {
    if (slot >= n.inputs.size() || n.inputs[slot] < 0) return nullptr;
    const Label& l = labels_[n.inputs[slot]];
    return l.empty() ? nullptr : &l;
  }

  void AddSlice(int tensor, int axis, const Label& label) {
    if (tensor < 0) return;
    slices_.push_back({tensor, axis, label});
  }

  void FreezeInputs(const ir::Node& n, const std::string& why) {
    for (size_t s = 0; s < n.inputs.size(); ++s) {
      if (const Label* l = InputLabel(n, s)) Freeze(*l, why);
    }
  }

  int LastDim(int tensor) const {
    const auto& s = g_->tensors[tensor].shape;
    return s.empty() ? 1 : s.back();
  }

  Status Visit(size_t index) {
    const ir::Node& n = g_->nodes[index];
    const std::string& op = n.op;
    const std::string where = op + " " + n.name;
    const int out = n.outputs.empty() ? -1 : n.outputs[0];
    const Label* in0 = InputLabel(n, 0);

    // A layer whose weights keep their shape (frozen, or a Keras class whose variables keep
    // theirs) reads its input channels as they are.
    for (int t : n.inputs) {
      if (t >= 0 && g_->tensors[t].is_constant && (g_->tensors[t].frozen || fixed_.count(t))) {
        FreezeInputs(n, "read by " + where + ", whose weights keep their shape");
        return Status::Ok();
      }
    }

    if (op == "CONV_2D" || op == "FULLY_CONNECTED") {
      const int w = n.inputs.size() > 1 ? n.inputs[1] : -1;
      if (in0 != nullptr) {
        if (w < 0 || !g_->tensors[w].is_constant) {
          Freeze(*in0, "read by " + where + " with non-constant weights");
        } else if (op == "CONV_2D") {
          if (LastDim(w) == static_cast<int>(in0->size())) {
            AddSlice(w, 3, *in0);
          } else {
            Freeze(*in0, "read by the grouped convolution " + n.name);
          }
        } else {
          const int in_features = g_->tensors[w].shape.size() == 2 ? g_->tensors[w].shape[1] : 0;
          const int c = static_cast<int>(in0->size());
          if (in_features == c) {
            AddSlice(w, 1, *in0);
          } else if (c > 0 && in_features % c == 0 &&
                     !ir::GetBool(n.attrs, "keep_num_dims", false)) {
            // Flattened by the op itself (input of rank > 2).
            Label tiled;
            for (int k = 0; k < in_features; ++k) tiled.push_back((*in0)[k % c]);
            AddSlice(w, 1, tiled);
          } else {
            Freeze(*in0,
                   "read by " + where + " with " + std::to_string(in_features) + " input features");
          }
        }
      }
      auto it = producer_of_tensor_.find(w);
      if (it != producer_of_tensor_.end() && out >= 0) {
        const Producer& p = producers_[it->second];
        Label l(static_cast<size_t>(p.count));
        std::iota(l.begin(), l.end(), p.base);
        labels_[out] = l;
      }
      return Status::Ok();
    }
    if (op == "TRANSPOSE_CONV") {
      // (output_shape, weights [F, kh, kw, C], input): the input's channels are the weights'
      // last axis; the output's filters are not traced.
      const Label* data = InputLabel(n, 2);
      const int w = n.inputs.size() > 1 ? n.inputs[1] : -1;
      if (data != nullptr) {
        if (w >= 0 && g_->tensors[w].is_constant && LastDim(w) == static_cast<int>(data->size())) {
          AddSlice(w, 3, *data);
        } else {
          Freeze(*data, "read by " + where);
        }
      }
      return Status::Ok();
    }
    if (in0 == nullptr && op != "CONCATENATION" && !IsBinaryElementwise(op)) {
      // Nothing traced flows through input 0; traced channels in another input are kept.
      FreezeInputs(n, "read by " + where);
      return Status::Ok();
    }
    if (op == "DEPTHWISE_CONV_2D") {
      const int w = n.inputs.size() > 1 ? n.inputs[1] : -1;
      const int c = static_cast<int>(in0->size());
      if (w < 0 || !g_->tensors[w].is_constant || LastDim(w) % c != 0) {
        Freeze(*in0, "read by " + where);
        return Status::Ok();
      }
      const int mult = LastDim(w) / c;
      Label l;
      for (int ch = 0; ch < c; ++ch) {
        for (int m = 0; m < mult; ++m) l.push_back((*in0)[ch]);
      }
      AddSlice(w, 3, l);
      if (n.inputs.size() > 2) AddSlice(n.inputs[2], 0, l);
      if (out >= 0) labels_[out] = l;
      return Status::Ok();
    }
    if (IsUnaryPassThrough(op)) {
      if (out >= 0) labels_[out] = *in0;
      return Status::Ok();
    }
    if (op == "BATCH_NORM") {
      for (size_t s = 1; s < n.inputs.size() && s <= 4; ++s) AddSlice(n.inputs[s], 0, *in0);
      if (out >= 0) labels_[out] = *in0;
      return Status::Ok();
    }
    if (op == "PRELU") {
      const int alpha = n.inputs.size() > 1 ? n.inputs[1] : -1;
      if (alpha >= 0 && g_->tensors[alpha].is_constant) {
        const ir::Tensor& a = g_->tensors[alpha];
        if (a.NumElements() == 1 || LastDim(alpha) == 1) {
          if (out >= 0) labels_[out] = *in0;
          return Status::Ok();
        }
        if (LastDim(alpha) == static_cast<int>(in0->size())) {
          AddSlice(alpha, static_cast<int>(a.shape.size()) - 1, *in0);
          if (out >= 0) labels_[out] = *in0;
          return Status::Ok();
        }
      }
      Freeze(*in0, "read by " + where);
      return Status::Ok();
    }
    if (IsReduce(op) || op == "PAD" || op == "PADV2" || op == "MIRROR_PAD") {
      const int rank = static_cast<int>(g_->tensors[n.inputs[0]].shape.size());
      const std::vector<int64_t> v = n.inputs.size() > 1 && n.inputs[1] >= 0
                                         ? ConstInts(g_->tensors[n.inputs[1]])
                                         : std::vector<int64_t>();
      bool touches_channels = v.empty();
      if (IsReduce(op)) {
        for (int64_t a : v) touches_channels |= (a < 0 ? a + rank : a) == rank - 1;
      } else if (static_cast<int>(v.size()) == 2 * rank) {
        touches_channels = v[2 * rank - 2] != 0 || v[2 * rank - 1] != 0;
      } else {
        touches_channels = true;
      }
      if (touches_channels || out < 0 || LastDim(out) != static_cast<int>(in0->size())) {
        Freeze(*in0, "read by " + where + " across channels");
      } else {
        labels_[out] = *in0;
      }
      return Status::Ok();
    }
    if (op == "RESHAPE" || op == "SQUEEZE" || op == "EXPAND_DIMS") {
      const auto& si = g_->tensors[n.inputs[0]].shape;
      const int c = static_cast<int>(in0->size());
      if (out >= 0 && LastDim(out) == c && !si.empty() && si.back() == c) {
        labels_[out] = *in0;
        reshapes_.push_back(static_cast<int>(index));
        return Status::Ok();
      }
      const auto& so = out >= 0 ? g_->tensors[out].shape : std::vector<int32_t>();
      int64_t flat = 1;
      for (size_t d = 1; d < si.size(); ++d) flat *= si[d];
      if (op == "RESHAPE" && so.size() == 2 && si.size() >= 2 && so[0] == si[0] && so[1] == flat &&
          c > 0) {
        Label l;
        for (int64_t k = 0; k < flat; ++k) l.push_back((*in0)[k % c]);
        labels_[out] = l;
        reshapes_.push_back(static_cast<int>(index));
        return Status::Ok();
      }
      Freeze(*in0, "reshaped by " + where);
      return Status::Ok();
    }
    if (IsBinaryElementwise(op) && n.inputs.size() == 2) {
      const Label* a = InputLabel(n, 0);
      const Label* b = InputLabel(n, 1);
      if (a == nullptr && b == nullptr) return Status::Ok();
      if (a != nullptr && b != nullptr) {
        if (a->size() != b->size()) {
          Freeze(*a, "combined by " + where + " with a differently shaped input");
          Freeze(*b, "combined by " + where + " with a differently shaped input");
          return Status::Ok();
        }
        Label merged = *a;
        for (size_t i = 0; i < a->size(); ++i) {
          const int x = (*a)[i], y = (*b)[i];
          if (x != kFixed && y != kFixed) {
            uf_.Union(x, y);
          } else if (x != kFixed || y != kFixed) {
            Freeze(Label{x == kFixed ? y : x}, "added by " + where + " to a fixed channel");
            merged[i] = x == kFixed ? y : x;
          }
        }
        if (out >= 0) labels_[out] = merged;
        return Status::Ok();
      }
      const Label& l = a != nullptr ? *a : *b;
      const int other = n.inputs[a != nullptr ? 1 : 0];
      const ir::Tensor& o = g_->tensors[other];
      const int c = static_cast<int>(l.size());
      if (o.is_constant && (o.NumElements() == 1 || LastDim(other) == 1)) {
        if (out >= 0) labels_[out] = l;
      } else if (o.is_constant && LastDim(other) == c) {
        AddSlice(other, static_cast<int>(o.shape.size()) - 1, l);
        if (out >= 0) labels_[out] = l;
      } else {
        Freeze(l, "combined by " + where + " with a tensor from elsewhere");
      }
      return Status::Ok();
    }
    if (op == "CONCATENATION") {
      bool any = false;
      for (size_t s = 0; s < n.inputs.size(); ++s) any |= InputLabel(n, s) != nullptr;
      if (!any || out < 0) return Status::Ok();
      const int rank = static_cast<int>(g_->tensors[out].shape.size());
      int64_t axis = ir::GetInt(n.attrs, "axis", -1);
      if (axis < 0) axis += rank;
      if (axis != rank - 1) {
        FreezeInputs(n, "concatenated by " + where + " on another axis");
        return Status::Ok();
      }
      Label l;
      for (size_t s = 0; s < n.inputs.size(); ++s) {
        if (const Label* x = InputLabel(n, s)) {
          l.insert(l.end(), x->begin(), x->end());
        } else {
          l.insert(l.end(), static_cast<size_t>(LastDim(n.inputs[s])), kFixed);
        }
      }
      labels_[out] = l;
      return Status::Ok();
    }
    FreezeInputs(n, "read by " + where);
    return Status::Ok();
  }

  double ChannelNormOf(const Producer& p, int c) const {
    const ir::Tensor& w = g_->tensors[p.weight->tensor];
    const int64_t cols = p.weight->cols;
    const float* row = w.DataAs<float>() + c * cols;
    double s = 0.0;
    for (int64_t k = 0; k < cols; ++k) {
      s += norm_ == ChannelNorm::kL1 ? std::fabs(row[k]) : double{row[k]} * row[k];
    }
    return norm_ == ChannelNorm::kL1 ? s : std::sqrt(s);
  }

  Status Decide() {
    const int n = static_cast<int>(owner_.size());
    keep_.assign(static_cast<size_t>(n), true);
    // Producers tied through shared channel sets form one group.
    UnionFind groups(static_cast<int>(producers_.size()));
    for (int c = 0; c < n; ++c) groups.Union(owner_[c], owner_[uf_.Find(c)]);
    std::map<int, std::vector<int>> members;  // group -> producers
    for (size_t p = 0; p < producers_.size(); ++p) {
      members[groups.Find(static_cast<int>(p))].push_back(static_cast<int>(p));
    }
    std::vector<bool> set_frozen(static_cast<size_t>(n), false);
    std::vector<double> importance(static_cast<size_t>(n), 0.0);
    for (int c = 0; c < n; ++c) {
      const int r = uf_.Find(c);
      if (frozen_[c]) set_frozen[r] = true;
      importance[r] += ChannelNormOf(producers_[owner_[c]], c - producers_[owner_[c]].base);
    }
    for (const auto& [group, prods] : members) {
      (void)group;
      std::vector<int> sets;
      double sparsity = 0.0;
      for (int p : prods) {
        sparsity += producers_[p].weight->sparsity / static_cast<double>(prods.size());
        for (int c = producers_[p].base; c < producers_[p].base + producers_[p].count; ++c) {
          if (uf_.Find(c) == c) sets.push_back(c);
        }
      }
      std::vector<int> free_sets;
      for (int r : sets) {
        if (!set_frozen[r]) free_sets.push_back(r);
      }
      const int64_t total = static_cast<int64_t>(sets.size());
      int64_t remove = std::llround(static_cast<double>(total) * sparsity);
      remove = std::min<int64_t>(remove, static_cast<int64_t>(free_sets.size()));
      remove = std::min<int64_t>(remove, total - 1);
      if (remove <= 0) continue;
      std::stable_sort(free_sets.begin(), free_sets.end(),
                       [&](int x, int y) { return importance[x] < importance[y]; });
      std::vector<bool> removed_set(static_cast<size_t>(n), false);
      for (int64_t i = 0; i < remove; ++i) removed_set[free_sets[i]] = true;
      for (int p : prods) {
        for (int c = producers_[p].base; c < producers_[p].base + producers_[p].count; ++c) {
          if (removed_set[uf_.Find(c)]) keep_[c] = false;
        }
      }
    }
    return Status::Ok();
  }

  std::vector<bool> KeepPositions(const Label& l) const {
    std::vector<bool> keep(l.size());
    for (size_t i = 0; i < l.size(); ++i) keep[i] = l[i] == kFixed || keep_[l[i]];
    return keep;
  }

  Status Apply() {
    // Every (tensor, axis) is sliced once; a weight shared by layers that disagree is refused.
    std::map<std::pair<int, int>, Label> todo;
    for (const Producer& p : producers_) {
      Label own(static_cast<size_t>(p.count));
      std::iota(own.begin(), own.end(), p.base);
      todo[{p.weight->tensor, 0}] = own;
      if (p.bias >= 0) todo[{p.bias, 0}] = own;
    }
    for (const SliceRequest& s : slices_) {
      auto key = std::make_pair(s.tensor, s.axis);
      auto it = todo.find(key);
      if (it != todo.end() && KeepPositions(it->second) != KeepPositions(s.label)) {
        return MakeStatus(StatusCode::kUnsupported,
                          "%s is shared by layers whose channels are pruned differently",
                          g_->tensors[s.tensor].name.c_str());
      }
      todo[key] = s.label;
    }
    for (const auto& [key, label] : todo) {
      const std::vector<bool> keep = KeepPositions(label);
      if (std::all_of(keep.begin(), keep.end(), [](bool b) { return b; })) continue;
      EDGEOPT_RETURN_IF_ERROR(SliceConstant(&g_->tensors[key.first], key.second, keep));
    }
    for (size_t t = 0; t < labels_.size(); ++t) {
      if (labels_[t].empty()) continue;
      ir::Tensor& tensor = g_->tensors[t];
      if (tensor.is_constant || tensor.shape.empty()) continue;
      const std::vector<bool> keep = KeepPositions(labels_[t]);
      const int kept = static_cast<int>(std::count(keep.begin(), keep.end(), true));
      tensor.shape.back() = kept;
      if (!tensor.shape_signature.empty()) tensor.shape_signature.back() = kept;
    }
    for (int r : reshapes_) {
      const ir::Node& n = g_->nodes[r];
      const int out = n.outputs[0];
      if (n.inputs.size() > 1 && n.inputs[1] >= 0) {
        ir::Tensor& shape = g_->tensors[n.inputs[1]];
        if (shape.is_constant && shape.dtype == DType::kInt32 && shape.NumElements() > 0) {
          int32_t* v = shape.DataAs<int32_t>();
          const int64_t last = shape.NumElements() - 1;
          if (v[last] != -1) v[last] = g_->tensors[out].shape.back();
        }
      }
      auto it = g_->nodes[r].attrs.find("new_shape");
      if (it != g_->nodes[r].attrs.end()) {
        if (auto* v = std::get_if<std::vector<int64_t>>(&it->second)) {
          if (!v->empty() && v->back() != -1) v->back() = g_->tensors[out].shape.back();
        }
      }
    }
    return Status::Ok();
  }

  struct SliceRequest {
    int tensor;
    int axis;
    Label label;
  };

  ir::Graph* g_;
  const std::vector<PrunableWeight>& weights_;
  ChannelNorm norm_;
  const std::set<int>& fixed_;
  std::vector<Producer> producers_;
  std::map<int, int> producer_of_tensor_;
  std::vector<int> owner_;  // channel id -> producer
  std::vector<bool> frozen_;
  std::vector<bool> keep_;
  UnionFind uf_;
  std::vector<Label> labels_;
  std::vector<SliceRequest> slices_;
  std::vector<int> reshapes_;
};

}  // namespace

StatusOr<ChannelNorm> ParseChannelNorm(const std::string& name) {
  if (name == "l1" || name == "L1") return ChannelNorm::kL1;
  if (name == "l2" || name == "L2") return ChannelNorm::kL2;
  return MakeStatus(StatusCode::kInvalidArgument, "unknown norm '%s' (expected l1 or l2)",
                    name.c_str());
}

StatusOr<ChannelPruneResult> PruneChannels(ir::Graph* graph,
                                           const std::vector<PrunableWeight>& weights,
                                           ChannelNorm norm, const std::set<int>& fixed) {
  ChannelPruner pruner(graph, weights, norm, fixed);
  return pruner.Run();
}

}  // namespace prune
}  // namespace edgeopt

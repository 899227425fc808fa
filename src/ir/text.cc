// The IR text form. Grammar (one statement per line, '#' starts a comment):
//
//   graph inputs(%0, ...) outputs(%4, ...) [input_names("a", ...)] [output_names("b", ...)]
//   description "text"
//   metadata "name" "bytes with \xHH escapes"     |  metadata "name" size=N  (zeros)
//   %N = tensor|const "name" DTYPE[d0,d1,...] [key=value ...] [variable] [frozen]
//        keys: signature=[...] scale=S|[...] zero_point=Z|[...] quant_axis=A min=[...] max=[...]
//              sparse_order=[...] sparse_block_map=[...] sparse_dims=[dense(N), csr([..],[..])]
//              origin="..." values=[...] bytes="..."
//   %A, %B = OP(%0, _, %2) {attr=value, ...} [name="..."] [version=N] [intermediates(%5)]
//                                            [custom_code="..."] [custom_options="..."]
//   () = OP(...)                                  (a node without outputs)
//
// Attribute values: 1 (int), 1.5 / 1.0 (float: always with '.', 'e', nan or inf), true/false,
// "string", [1,2] (int list), [0.5,1.0] (float list). `_` is an absent optional input.
#include "src/ir/text.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

namespace edgeopt {
namespace ir {
namespace {

// ------------------------------------------------------------------------------------------------
// Printing

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  out.push_back('"');
  return out;
}

std::string QuoteBytes(const std::vector<uint8_t>& bytes) {
  return Quote(std::string(bytes.begin(), bytes.end()));
}

// The shortest decimal form that reads back as the same float (for float-representable values) or
// the same double.
std::string FormatReal(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[40];
  const bool is_float = static_cast<double>(static_cast<float>(v)) == v;
  int precision = 1;
  for (; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
    const double back = std::strtod(buf, nullptr);
    if (is_float ? static_cast<float>(back) == static_cast<float>(v) : back == v) break;
  }
  // Magnitudes in [1, 1e16) print without an exponent ("10", not "1e+01").
  const double magnitude = std::fabs(v);
  if (std::strchr(buf, 'e') != nullptr && magnitude >= 1 && magnitude < 1e16) {
    const int digits = static_cast<int>(std::floor(std::log10(magnitude))) + 1;
    std::snprintf(buf, sizeof(buf), "%.*g", std::max(precision, digits), v);
  }
  return buf;
}

// A float attribute: always recognizable as a float when read back.
std::string FormatAttrReal(double v) {
  std::string s = FormatReal(v);
  if (s.find_first_of(".eni") == std::string::npos) s += ".0";
  return s;
}

std::string FormatAttr(const AttrValue& value) {
  std::string out;
  if (const auto* i = std::get_if<int64_t>(&value)) {
    out = std::to_string(*i);
  } else if (const auto* d = std::get_if<double>(&value)) {
    out = FormatAttrReal(*d);
  } else if (const auto* b = std::get_if<bool>(&value)) {
    out = *b ? "true" : "false";
  } else if (const auto* s = std::get_if<std::string>(&value)) {
    out = Quote(*s);
  } else if (const auto* il = std::get_if<std::vector<int64_t>>(&value)) {
    out = "[";
    for (size_t k = 0; k < il->size(); ++k) out += (k ? "," : "") + std::to_string((*il)[k]);
    out += "]";
  } else if (const auto* dl = std::get_if<std::vector<double>>(&value)) {
    out = "[";
    for (size_t k = 0; k < dl->size(); ++k) out += (k ? "," : "") + FormatAttrReal((*dl)[k]);
    out += "]";
  }
  return out;
}

template <typename T>
std::string IntList(const std::vector<T>& v) {
  std::string out = "[";
  for (size_t k = 0; k < v.size(); ++k) {
    out += (k ? "," : "") + std::to_string(v[k]);
  }
  return out + "]";
}

std::string FloatList(const std::vector<float>& v) {
  std::string out = "[";
  for (size_t k = 0; k < v.size(); ++k) out += (k ? "," : "") + FormatReal(v[k]);
  return out + "]";
}

std::string Ref(int t) { return t < 0 ? "_" : "%" + std::to_string(t); }

std::string RefList(const std::vector<int>& list) {
  std::string out;
  for (size_t k = 0; k < list.size(); ++k) out += (k ? ", " : "") + Ref(list[k]);
  return out;
}

// Element values of a numeric dtype; false for dtypes printed as raw bytes.
bool FormatValues(const Tensor& t, std::string* out) {
  const size_t esize = DTypeSize(t.dtype);
  if (esize == 0 || t.dtype == DType::kFloat16 || t.dtype == DType::kComplex64 ||
      t.dtype == DType::kComplex128 || t.data.size() % esize != 0) {
    return false;
  }
  const size_t n = t.data.size() / esize;
  std::string s = "[";
  for (size_t k = 0; k < n; ++k) {
    if (k) s += ",";
    const uint8_t* p = t.data.data() + k * esize;
    switch (t.dtype) {
      case DType::kFloat32: {
        float v;
        std::memcpy(&v, p, 4);
        s += FormatReal(v);
        break;
      }
      case DType::kFloat64: {
        double v;
        std::memcpy(&v, p, 8);
        s += FormatReal(v);
        break;
      }
      case DType::kInt8:
        s += std::to_string(static_cast<int8_t>(*p));
        break;
      case DType::kUInt8:
        s += std::to_string(*p);
        break;
      case DType::kBool:
        s += *p ? "true" : "false";
        break;
      case DType::kInt16: {
        int16_t v;
        std::memcpy(&v, p, 2);
        s += std::to_string(v);
        break;
      }
      case DType::kUInt16: {
        uint16_t v;
        std::memcpy(&v, p, 2);
        s += std::to_string(v);
        break;
      }
      case DType::kInt32: {
        int32_t v;
        std::memcpy(&v, p, 4);
        s += std::to_string(v);
        break;
      }
      case DType::kUInt32: {
        uint32_t v;
        std::memcpy(&v, p, 4);
        s += std::to_string(v);
        break;
      }
      case DType::kInt64: {
        int64_t v;
        std::memcpy(&v, p, 8);
        s += std::to_string(v);
        break;
      }
      case DType::kUInt64: {
        uint64_t v;
        std::memcpy(&v, p, 8);
        s += std::to_string(v);
        break;
      }
      default:
        return false;
    }
  }
  *out = s + "]";
  return true;
}

size_t ElementCount(const Tensor& t) {
  const size_t esize = DTypeSize(t.dtype);
  return esize == 0 ? t.data.size() : t.data.size() / esize;
}

void PrintTensor(const Tensor& t, int index, const TextOptions& options, std::string* out) {
  std::string& s = *out;
  s += "%" + std::to_string(index) + " = " + (t.is_constant ? "const " : "tensor ") +
       Quote(t.name) + " " + DTypeName(t.dtype) + IntList(t.shape);
  if (!t.shape_signature.empty()) s += " signature=" + IntList(t.shape_signature);
  const QuantInfo& q = t.quant;
  if (!q.scale.empty()) {
    s += " scale=" + (q.scale.size() == 1 ? FormatReal(q.scale[0]) : FloatList(q.scale));
  }
  if (!q.zero_point.empty()) {
    s += " zero_point=" + (q.zero_point.size() == 1 && q.scale.size() == 1
                               ? std::to_string(q.zero_point[0])
                               : IntList(q.zero_point));
  }
  if (q.axis != 0) s += " quant_axis=" + std::to_string(q.axis);
  if (!q.min.empty() || !q.max.empty()) {
    s += " min=" + FloatList(q.min) + " max=" + FloatList(q.max);
  }
  if (t.is_variable) s += " variable";
  if (t.frozen) s += " frozen";
  if (t.has_sparsity) {
    s += " sparse_order=" + IntList(t.sparsity.traversal_order);
    s += " sparse_block_map=" + IntList(t.sparsity.block_map);
    s += " sparse_dims=[";
    for (size_t k = 0; k < t.sparsity.dim_metadata.size(); ++k) {
      const SparsityInfo::DimMeta& d = t.sparsity.dim_metadata[k];
      if (k) s += ",";
      if (d.sparse) {
        s += "csr(" + IntList(d.segments) + "," + IntList(d.indices) + ")";
      } else {
        s += "dense(" + std::to_string(d.dense_size) + ")";
      }
    }
    s += "]";
  }
  if (!t.origin.empty()) s += " origin=" + Quote(t.origin);
  if (t.is_constant && !t.data.empty() &&
      (options.include_all_values ||
       ElementCount(t) <= static_cast<size_t>(std::max(options.max_values, 0)))) {
    std::string values;
    if (FormatValues(t, &values)) {
      s += " values=" + values;
    } else {
      s += " bytes=" + QuoteBytes(t.data);
    }
  }
  s += "\n";
}

void PrintNode(const Node& n, std::string* out) {
  std::string& s = *out;
  s += n.outputs.empty() ? "()" : RefList(n.outputs);
  s += " = " + n.op + "(" + RefList(n.inputs) + ")";
  if (!n.attrs.empty()) {
    s += " {";
    bool first = true;
    for (const auto& [key, value] : n.attrs) {
      if (!first) s += ", ";
      first = false;
      s += key + "=" + FormatAttr(value);
    }
    s += "}";
  }
  if (!n.name.empty()) s += " name=" + Quote(n.name);
  if (n.version != 0) s += " version=" + std::to_string(n.version);
  if (!n.intermediates.empty()) s += " intermediates(" + RefList(n.intermediates) + ")";
  if (!n.custom_code.empty() || n.op == "CUSTOM") s += " custom_code=" + Quote(n.custom_code);
  if (!n.custom_options.empty()) s += " custom_options=" + QuoteBytes(n.custom_options);
  s += "\n";
}

std::string NameList(const std::vector<std::string>& names) {
  std::string out;
  for (size_t k = 0; k < names.size(); ++k) out += (k ? ", " : "") + Quote(names[k]);
  return out;
}

// ------------------------------------------------------------------------------------------------
// Parsing

enum class Tok { kEnd, kRef, kIdent, kNumber, kString, kPunct, kAbsent };

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;  // identifier, number text, unescaped string, punctuation
  int64_t ref = 0;
};

struct Value {
  enum Kind { kInt, kReal, kString, kIdent, kList, kCall, kRef, kAbsent } kind = kInt;
  std::string text;  // number text, string, identifier, call name
  int64_t ref = 0;
  std::vector<Value> items;
};

class LineParser {
 public:
  LineParser(const std::string& line, int line_no) : line_(line), line_no_(line_no) {}

  Status Error(const std::string& message) const {
    return MakeStatus(StatusCode::kInvalidArgument, "line %d: %s", line_no_, message.c_str());
  }

  Status Lex() {
    size_t i = 0;
    while (i < line_.size()) {
      const char c = line_[i];
      if (c == ' ' || c == '\t' || c == '\r') {
        ++i;
      } else if (c == '#') {
        break;
      } else if (c == '%') {
        size_t j = i + 1;
        while (j < line_.size() && std::isdigit(static_cast<unsigned char>(line_[j]))) ++j;
        if (j == i + 1 || j - i > 10) return Error("expected a tensor id after '%'");
        Token t;
        t.kind = Tok::kRef;
        t.ref = std::strtoll(line_.c_str() + i + 1, nullptr, 10);
        tokens_.push_back(t);
        i = j;
      } else if (c == '"') {
        Token t;
        t.kind = Tok::kString;
        size_t j = i + 1;
        bool closed = false;
        while (j < line_.size()) {
          const char d = line_[j];
          if (d == '"') {
            closed = true;
            ++j;
            break;
          }
          if (d == '\\') {
            if (j + 1 >= line_.size()) break;
            const char e = line_[j + 1];
            if (e == 'x') {
              if (j + 3 >= line_.size() ||
                  !std::isxdigit(static_cast<unsigned char>(line_[j + 2])) ||
                  !std::isxdigit(static_cast<unsigned char>(line_[j + 3]))) {
                return Error("bad \\x escape in string");
              }
              t.text.push_back(
                  static_cast<char>(std::strtol(line_.substr(j + 2, 2).c_str(), nullptr, 16)));
              j += 4;
            } else if (e == 'n') {
              t.text.push_back('\n'), j += 2;
            } else if (e == 't') {
              t.text.push_back('\t'), j += 2;
            } else if (e == '"' || e == '\\') {
              t.text.push_back(e), j += 2;
            } else {
              return Error(std::string("unknown escape \\") + e + " in string");
            }
          } else {
            t.text.push_back(d);
            ++j;
          }
        }
        if (!closed) return Error("unterminated string");
        tokens_.push_back(t);
        i = j;
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t j = i;
        while (j < line_.size() &&
               (std::isalnum(static_cast<unsigned char>(line_[j])) || line_[j] == '_')) {
          ++j;
        }
        Token t;
        t.text = line_.substr(i, j - i);
        t.kind = t.text == "_" ? Tok::kAbsent : Tok::kIdent;
        tokens_.push_back(t);
        i = j;
      } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+' || c == '.') {
        size_t j = i + 1;
        while (j < line_.size()) {
          const char d = line_[j];
          if (std::isalnum(static_cast<unsigned char>(d)) || d == '.') {
            ++j;
          } else if ((d == '-' || d == '+') && (line_[j - 1] == 'e' || line_[j - 1] == 'E')) {
            ++j;
          } else {
            break;
          }
        }
        Token t;
        t.kind = Tok::kNumber;
        t.text = line_.substr(i, j - i);
        tokens_.push_back(t);
        i = j;
      } else if (std::strchr("()[]{},=", c) != nullptr) {
        Token t;
        t.kind = Tok::kPunct;
        t.text = std::string(1, c);
        tokens_.push_back(t);
        ++i;
      } else {
        return Error(std::string("unexpected character '") + c + "'");
      }
    }
    return Status::Ok();
  }

  bool AtEnd() const { return pos_ >= tokens_.size(); }
  const Token& Peek(size_t ahead = 0) const {
    static const Token kEnd;
    return pos_ + ahead < tokens_.size() ? tokens_[pos_ + ahead] : kEnd;
  }
  bool IsPunct(const char* p, size_t ahead = 0) const {
    return Peek(ahead).kind == Tok::kPunct && Peek(ahead).text == p;
  }
  std::string Describe(const Token& t) const {
    switch (t.kind) {
      case Tok::kEnd:
        return "end of line";
      case Tok::kRef:
        return "%" + std::to_string(t.ref);
      case Tok::kString:
        return "string " + Quote(t.text);
      case Tok::kAbsent:
        return "'_'";
      default:
        return "'" + t.text + "'";
    }
  }
  Status Expect(const char* p) {
    if (!IsPunct(p)) {
      return Error(std::string("expected '") + p + "' but found " + Describe(Peek()));
    }
    ++pos_;
    return Status::Ok();
  }
  StatusOr<std::string> ExpectIdent(const char* what) {
    if (Peek().kind != Tok::kIdent) {
      return Error(std::string("expected ") + what + " but found " + Describe(Peek()));
    }
    return tokens_[pos_++].text;
  }
  StatusOr<std::string> ExpectString(const char* what) {
    if (Peek().kind != Tok::kString) {
      return Error(std::string("expected ") + what + " (a quoted string) but found " +
                   Describe(Peek()));
    }
    return tokens_[pos_++].text;
  }

  StatusOr<Value> ParseValue() {
    const Token& t = Peek();
    Value v;
    switch (t.kind) {
      case Tok::kNumber: {
        v.text = t.text;
        const bool integral = t.text.find_first_of(".eEnNiI") == std::string::npos;
        v.kind = integral ? Value::kInt : Value::kReal;
        ++pos_;
        return v;
      }
      case Tok::kString:
        v.kind = Value::kString;
        v.text = t.text;
        ++pos_;
        return v;
      case Tok::kRef:
        v.kind = Value::kRef;
        v.ref = t.ref;
        ++pos_;
        return v;
      case Tok::kAbsent:
        v.kind = Value::kAbsent;
        ++pos_;
        return v;
      case Tok::kIdent:
        v.text = t.text;
        ++pos_;
        if (IsPunct("(")) {
          v.kind = Value::kCall;
          ++pos_;
          EDGEOPT_RETURN_IF_ERROR(ParseItems(")", &v.items));
          return v;
        }
        if (v.text == "nan" || v.text == "inf") {
          v.kind = Value::kReal;
          return v;
        }
        v.kind = Value::kIdent;
        return v;
      case Tok::kPunct:
        if (t.text == "[") {
          ++pos_;
          v.kind = Value::kList;
          EDGEOPT_RETURN_IF_ERROR(ParseItems("]", &v.items));
          return v;
        }
        break;
      default:
        break;
    }
    return Error("expected a value but found " + Describe(t));
  }

  // Items up to `close` (the opening bracket is consumed).
  Status ParseItems(const char* close, std::vector<Value>* items) {
    if (IsPunct(close)) {
      ++pos_;
      return Status::Ok();
    }
    while (true) {
      EDGEOPT_ASSIGN_OR_RETURN(Value v, ParseValue());
      items->push_back(std::move(v));
      if (IsPunct(close)) {
        ++pos_;
        return Status::Ok();
      }
      if (!IsPunct(",")) {
        return Error(std::string("expected ',' or '") + close + "' but found " + Describe(Peek()));
      }
      ++pos_;
    }
  }

  size_t pos_ = 0;
  std::vector<Token> tokens_;

 private:
  const std::string& line_;
  int line_no_;
};

bool ParseInt64(const std::string& text, int64_t* out) {
  if (text.empty()) return false;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str() || *end != '\0') return false;
  *out = v;
  return true;
}

bool ParseUInt64(const std::string& text, uint64_t* out) {
  if (text.empty() || text[0] == '-') return false;
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str() || *end != '\0') return false;
  *out = v;
  return true;
}

bool ParseDouble(const std::string& text, double* out) {
  if (text.empty()) return false;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0') return false;
  *out = v;
  return true;
}

struct PendingRef {
  int64_t label;
  int line;
  int* slot;  // index into a vector stable after parsing (resolved at the end)
};

class GraphParser {
 public:
  StatusOr<Graph> Parse(const std::string& text) {
    int line_no = 0;
    size_t start = 0;
    while (start <= text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      ++line_no;
      const std::string line = text.substr(start, end - start);
      EDGEOPT_RETURN_IF_ERROR(ParseLine(line, line_no));
      start = end + 1;
    }
    return Finish();
  }

 private:
  Status ParseLine(const std::string& line, int line_no) {
    LineParser p(line, line_no);
    EDGEOPT_RETURN_IF_ERROR(p.Lex());
    if (p.AtEnd()) return Status::Ok();
    const Token& first = p.Peek();
    if (first.kind == Tok::kIdent && first.text == "graph") return ParseGraphLine(&p, line_no);
    if (first.kind == Tok::kIdent && first.text == "description") {
      ++p.pos_;
      EDGEOPT_ASSIGN_OR_RETURN(graph_.description, p.ExpectString("the description"));
      return ExpectEnd(p);
    }
    if (first.kind == Tok::kIdent && first.text == "metadata") {
      ++p.pos_;
      EDGEOPT_ASSIGN_OR_RETURN(std::string name, p.ExpectString("the metadata name"));
      std::vector<uint8_t> bytes;
      if (p.Peek().kind == Tok::kString) {
        const std::string& s = p.tokens_[p.pos_++].text;
        bytes.assign(s.begin(), s.end());
      } else {
        EDGEOPT_ASSIGN_OR_RETURN(std::string key, p.ExpectIdent("metadata bytes or size="));
        if (key != "size") return p.Error("expected metadata bytes or size=N");
        EDGEOPT_RETURN_IF_ERROR(p.Expect("="));
        EDGEOPT_ASSIGN_OR_RETURN(Value v, p.ParseValue());
        int64_t n = 0;
        if (v.kind != Value::kInt || !ParseInt64(v.text, &n) || n < 0 || n > (int64_t{1} << 31)) {
          return p.Error("metadata size must be a non-negative integer");
        }
        bytes.assign(static_cast<size_t>(n), 0);
      }
      graph_.metadata.emplace_back(name, std::move(bytes));
      return ExpectEnd(p);
    }
    // Left-hand side: %A, %B, ... or ().
    std::vector<int64_t> lhs;
    if (p.IsPunct("(")) {
      ++p.pos_;
      EDGEOPT_RETURN_IF_ERROR(p.Expect(")"));
    } else {
      while (true) {
        if (p.Peek().kind != Tok::kRef) {
          return p.Error(
              "expected 'graph', 'description', 'metadata', a tensor (%N = "
              "...) or a "
              "node but found " +
              p.Describe(p.Peek()));
        }
        lhs.push_back(p.tokens_[p.pos_++].ref);
        if (!p.IsPunct(",")) break;
        ++p.pos_;
      }
    }
    EDGEOPT_RETURN_IF_ERROR(p.Expect("="));
    EDGEOPT_ASSIGN_OR_RETURN(std::string head, p.ExpectIdent("'tensor', 'const' or an op name"));
    if (head == "tensor" || head == "const") {
      if (lhs.size() != 1) return p.Error("a tensor definition has exactly one %id");
      return ParseTensor(&p, line_no, lhs[0], head == "const");
    }
    return ParseNode(&p, line_no, lhs, head);
  }

  Status ExpectEnd(const LineParser& p) {
    if (!p.AtEnd()) return p.Error("unexpected " + p.Describe(p.Peek()) + " at end of line");
    return Status::Ok();
  }

  Status ParseGraphLine(LineParser* p, int line_no) {
    ++p->pos_;
    if (seen_graph_) return p->Error("a second 'graph' line");
    seen_graph_ = true;
    while (!p->AtEnd()) {
      EDGEOPT_ASSIGN_OR_RETURN(std::string key, p->ExpectIdent("inputs(...) or outputs(...)"));
      EDGEOPT_RETURN_IF_ERROR(p->Expect("("));
      std::vector<Value> items;
      EDGEOPT_RETURN_IF_ERROR(p->ParseItems(")", &items));
      if (key == "inputs" || key == "outputs") {
        std::vector<int64_t>& refs = key == "inputs" ? graph_input_labels_ : graph_output_labels_;
        for (const Value& v : items) {
          if (v.kind != Value::kRef) return p->Error("graph " + key + " must be tensor ids");
          refs.push_back(v.ref);
        }
      } else if (key == "input_names" || key == "output_names") {
        auto& names = key == "input_names" ? graph_.input_names : graph_.output_names;
        for (const Value& v : items) {
          if (v.kind != Value::kString) return p->Error(key + " must be strings");
          names.push_back(v.text);
        }
      } else {
        return p->Error("unknown graph field '" + key + "'");
      }
    }
    graph_line_ = line_no;
    return Status::Ok();
  }

  Status ParseTensor(LineParser* p, int line_no, int64_t label, bool is_const) {
    if (labels_.count(label)) {
      return p->Error("%" + std::to_string(label) + " is defined twice (first on line " +
                      std::to_string(label_lines_[label]) + ")");
    }
    Tensor t;
    t.is_constant = is_const;
    EDGEOPT_ASSIGN_OR_RETURN(t.name, p->ExpectString("the tensor name"));
    EDGEOPT_ASSIGN_OR_RETURN(std::string dtype, p->ExpectIdent("a dtype"));
    bool found = false;
    for (int d = 0; d < kNumDTypes; ++d) {
      if (dtype == DTypeName(static_cast<DType>(d))) {
        t.dtype = static_cast<DType>(d);
        found = true;
      }
    }
    if (!found) return p->Error("unknown dtype '" + dtype + "'");
    EDGEOPT_RETURN_IF_ERROR(p->Expect("["));
    std::vector<Value> dims;
    EDGEOPT_RETURN_IF_ERROR(p->ParseItems("]", &dims));
    EDGEOPT_RETURN_IF_ERROR(IntVector(*p, dims, "shape", &t.shape));
    for (int32_t d : t.shape) {
      if (d < 0) return p->Error("shape dimensions must be >= 0 (use signature= for -1)");
    }
    bool have_values = false;
    while (!p->AtEnd()) {
      EDGEOPT_ASSIGN_OR_RETURN(std::string key, p->ExpectIdent("a tensor field"));
      if (key == "frozen") {
        t.frozen = true;
        continue;
      }
      if (key == "variable") {
        t.is_variable = true;
        continue;
      }
      EDGEOPT_RETURN_IF_ERROR(p->Expect("="));
      EDGEOPT_ASSIGN_OR_RETURN(Value v, p->ParseValue());
      if (key == "signature") {
        EDGEOPT_RETURN_IF_ERROR(IntVector(*p, ListOf(v), key, &t.shape_signature));
      } else if (key == "scale") {
        EDGEOPT_RETURN_IF_ERROR(FloatVector(*p, ListOf(v), key, &t.quant.scale));
      } else if (key == "zero_point") {
        EDGEOPT_RETURN_IF_ERROR(Int64Vector(*p, ListOf(v), key, &t.quant.zero_point));
      } else if (key == "quant_axis") {
        std::vector<int32_t> a;
        EDGEOPT_RETURN_IF_ERROR(IntVector(*p, {v}, key, &a));
        t.quant.axis = a[0];
      } else if (key == "min") {
        EDGEOPT_RETURN_IF_ERROR(FloatVector(*p, ListOf(v), key, &t.quant.min));
      } else if (key == "max") {
        EDGEOPT_RETURN_IF_ERROR(FloatVector(*p, ListOf(v), key, &t.quant.max));
      } else if (key == "origin") {
        if (v.kind != Value::kString) return p->Error("origin must be a string");
        t.origin = v.text;
      } else if (key == "sparse_order") {
        t.has_sparsity = true;
        EDGEOPT_RETURN_IF_ERROR(IntVector(*p, ListOf(v), key, &t.sparsity.traversal_order));
      } else if (key == "sparse_block_map") {
        t.has_sparsity = true;
        EDGEOPT_RETURN_IF_ERROR(IntVector(*p, ListOf(v), key, &t.sparsity.block_map));
      } else if (key == "sparse_dims") {
        t.has_sparsity = true;
        if (v.kind != Value::kList) return p->Error("sparse_dims must be a list");
        for (const Value& d : v.items) {
          SparsityInfo::DimMeta meta;
          if (d.kind == Value::kCall && d.text == "dense" && d.items.size() == 1) {
            std::vector<int32_t> size;
            EDGEOPT_RETURN_IF_ERROR(IntVector(*p, d.items, "dense size", &size));
            meta.dense_size = size[0];
          } else if (d.kind == Value::kCall && d.text == "csr" && d.items.size() == 2) {
            meta.sparse = true;
            EDGEOPT_RETURN_IF_ERROR(
                IntVector(*p, ListOf(d.items[0]), "csr segments", &meta.segments));
            EDGEOPT_RETURN_IF_ERROR(
                IntVector(*p, ListOf(d.items[1]), "csr indices", &meta.indices));
          } else {
            return p->Error(
                "sparse_dims entries are dense(N) or "
                "csr([segments],[indices])");
          }
          t.sparsity.dim_metadata.push_back(std::move(meta));
        }
      } else if (key == "values") {
        if (!is_const) return p->Error("values= on a non-constant tensor");
        EDGEOPT_RETURN_IF_ERROR(ParseValues(*p, v, &t));
        have_values = true;
      } else if (key == "bytes") {
        if (!is_const) return p->Error("bytes= on a non-constant tensor");
        if (v.kind != Value::kString) return p->Error("bytes must be a string");
        t.data.assign(v.text.begin(), v.text.end());
        have_values = true;
      } else {
        return p->Error("unknown tensor field '" + key + "'");
      }
    }
    if (is_const && !have_values) t.data.assign(t.ByteSize(), 0);
    if (is_const && have_values && !t.has_sparsity && DTypeSize(t.dtype) != 0 &&
        t.data.size() != t.ByteSize()) {
      return p->Error("constant " + Quote(t.name) + " has " +
                      std::to_string(t.data.size() / DTypeSize(t.dtype)) +
                      " values but its shape needs " + std::to_string(t.NumElements()));
    }
    labels_[label] = static_cast<int>(graph_.tensors.size());
    label_lines_[label] = line_no;
    graph_.tensors.push_back(std::move(t));
    return Status::Ok();
  }

  Status ParseNode(LineParser* p, int line_no, const std::vector<int64_t>& lhs,
                   const std::string& op) {
    Node n;
    n.op = op;
    EDGEOPT_RETURN_IF_ERROR(p->Expect("("));
    std::vector<Value> args;
    EDGEOPT_RETURN_IF_ERROR(p->ParseItems(")", &args));
    NodeRefs refs;
    refs.line = line_no;
    refs.outputs = lhs;
    for (const Value& a : args) {
      if (a.kind == Value::kAbsent) {
        refs.inputs.push_back(-1);
      } else if (a.kind == Value::kRef) {
        refs.inputs.push_back(a.ref);
      } else {
        return p->Error("node inputs must be tensor ids (%N) or _");
      }
    }
    if (p->IsPunct("{")) {
      ++p->pos_;
      if (p->IsPunct("}")) {
        ++p->pos_;
      } else {
        while (true) {
          EDGEOPT_ASSIGN_OR_RETURN(std::string key, p->ExpectIdent("an attribute name"));
          EDGEOPT_RETURN_IF_ERROR(p->Expect("="));
          EDGEOPT_ASSIGN_OR_RETURN(Value v, p->ParseValue());
          if (n.attrs.count(key)) return p->Error("attribute '" + key + "' given twice");
          EDGEOPT_ASSIGN_OR_RETURN(n.attrs[key], ToAttr(*p, key, v));
          if (p->IsPunct("}")) {
            ++p->pos_;
            break;
          }
          EDGEOPT_RETURN_IF_ERROR(p->Expect(","));
        }
      }
    }
    while (!p->AtEnd()) {
      EDGEOPT_ASSIGN_OR_RETURN(std::string key, p->ExpectIdent("a node field"));
      if (key == "intermediates") {
        EDGEOPT_RETURN_IF_ERROR(p->Expect("("));
        std::vector<Value> items;
        EDGEOPT_RETURN_IF_ERROR(p->ParseItems(")", &items));
        for (const Value& v : items) {
          if (v.kind != Value::kRef) return p->Error("intermediates must be tensor ids");
          refs.intermediates.push_back(v.ref);
        }
        continue;
      }
      EDGEOPT_RETURN_IF_ERROR(p->Expect("="));
      EDGEOPT_ASSIGN_OR_RETURN(Value v, p->ParseValue());
      if (key == "name" || key == "custom_code" || key == "custom_options") {
        if (v.kind != Value::kString) return p->Error(key + " must be a string");
        if (key == "name") n.name = v.text;
        if (key == "custom_code") n.custom_code = v.text;
        if (key == "custom_options") n.custom_options.assign(v.text.begin(), v.text.end());
      } else if (key == "version") {
        int64_t version = 0;
        if (v.kind != Value::kInt || !ParseInt64(v.text, &version) || version < 0 ||
            version > INT32_MAX) {
          return p->Error("version must be a non-negative 32-bit integer");
        }
        n.version = static_cast<int>(version);
      } else {
        return p->Error("unknown node field '" + key + "' (attributes go inside {...})");
      }
    }
    node_refs_.push_back(std::move(refs));
    graph_.nodes.push_back(std::move(n));
    return Status::Ok();
  }

  static std::vector<Value> ListOf(const Value& v) {
    if (v.kind == Value::kList) return v.items;
    return {v};
  }

  Status IntVector(const LineParser& p, const std::vector<Value>& items, const std::string& what,
                   std::vector<int32_t>* out) {
    for (const Value& v : items) {
      int64_t x = 0;
      if (v.kind != Value::kInt || !ParseInt64(v.text, &x) || x < INT32_MIN || x > INT32_MAX) {
        return p.Error(what + " must be 32-bit integers");
      }
      out->push_back(static_cast<int32_t>(x));
    }
    return Status::Ok();
  }

  Status Int64Vector(const LineParser& p, const std::vector<Value>& items, const std::string& what,
                     std::vector<int64_t>* out) {
    for (const Value& v : items) {
      int64_t x = 0;
      if (v.kind != Value::kInt || !ParseInt64(v.text, &x)) {
        return p.Error(what + " must be integers");
      }
      out->push_back(x);
    }
    return Status::Ok();
  }

  Status FloatVector(const LineParser& p, const std::vector<Value>& items, const std::string& what,
                     std::vector<float>* out) {
    for (const Value& v : items) {
      double x = 0;
      if ((v.kind != Value::kInt && v.kind != Value::kReal) || !ParseDouble(v.text, &x)) {
        return p.Error(what + " must be numbers");
      }
      out->push_back(static_cast<float>(x));
    }
    return Status::Ok();
  }

  Status ParseValues(const LineParser& p, const Value& v, Tensor* t) {
    if (v.kind != Value::kList) return p.Error("values must be a list [...]");
    const size_t esize = DTypeSize(t->dtype);
    if (esize == 0 || t->dtype == DType::kFloat16 || t->dtype == DType::kComplex64 ||
        t->dtype == DType::kComplex128) {
      return p.Error(std::string("values= is not supported for ") + DTypeName(t->dtype) +
                     "; use bytes=\"...\"");
    }
    t->data.assign(v.items.size() * esize, 0);
    for (size_t k = 0; k < v.items.size(); ++k) {
      const Value& item = v.items[k];
      uint8_t* dst = t->data.data() + k * esize;
      const std::string bad = "value " + std::to_string(k) + " of " + Quote(t->name) +
                              " does not fit " + DTypeName(t->dtype);
      if (t->dtype == DType::kFloat32 || t->dtype == DType::kFloat64) {
        double x = 0;
        if ((item.kind != Value::kInt && item.kind != Value::kReal) ||
            !ParseDouble(item.text, &x)) {
          return p.Error(bad);
        }
        if (t->dtype == DType::kFloat32) {
          const float f = static_cast<float>(x);
          std::memcpy(dst, &f, 4);
        } else {
          std::memcpy(dst, &x, 8);
        }
        continue;
      }
      if (t->dtype == DType::kBool) {
        if (item.kind == Value::kIdent && (item.text == "true" || item.text == "false")) {
          *dst = item.text == "true";
          continue;
        }
        int64_t x = 0;
        if (item.kind != Value::kInt || !ParseInt64(item.text, &x) || (x != 0 && x != 1)) {
          return p.Error(bad);
        }
        *dst = static_cast<uint8_t>(x);
        continue;
      }
      if (item.kind != Value::kInt) return p.Error(bad);
      if (t->dtype == DType::kUInt64) {
        uint64_t x = 0;
        if (!ParseUInt64(item.text, &x)) return p.Error(bad);
        std::memcpy(dst, &x, 8);
        continue;
      }
      int64_t x = 0;
      if (!ParseInt64(item.text, &x)) return p.Error(bad);
      int64_t lo = 0, hi = 0;
      switch (t->dtype) {
        case DType::kInt8:
          lo = INT8_MIN, hi = INT8_MAX;
          break;
        case DType::kUInt8:
          lo = 0, hi = UINT8_MAX;
          break;
        case DType::kInt16:
          lo = INT16_MIN, hi = INT16_MAX;
          break;
        case DType::kUInt16:
          lo = 0, hi = UINT16_MAX;
          break;
        case DType::kInt32:
          lo = INT32_MIN, hi = INT32_MAX;
          break;
        case DType::kUInt32:
          lo = 0, hi = UINT32_MAX;
          break;
        default:
          lo = INT64_MIN, hi = INT64_MAX;
          break;
      }
      if (x < lo || x > hi) return p.Error(bad);
      // Little-endian: the low `esize` bytes of the two's-complement value.
      const uint64_t u = static_cast<uint64_t>(x);
      for (size_t b = 0; b < esize; ++b) dst[b] = static_cast<uint8_t>(u >> (8 * b));
    }
    return Status::Ok();
  }

  StatusOr<AttrValue> ToAttr(const LineParser& p, const std::string& key, const Value& v) {
    switch (v.kind) {
      case Value::kInt: {
        int64_t x = 0;
        if (!ParseInt64(v.text, &x)) return p.Error("attribute '" + key + "': bad integer");
        return AttrValue(x);
      }
      case Value::kReal: {
        double x = 0;
        if (!ParseDouble(v.text, &x)) return p.Error("attribute '" + key + "': bad number");
        return AttrValue(x);
      }
      case Value::kString:
        return AttrValue(v.text);
      case Value::kIdent:
        if (v.text == "true") return AttrValue(true);
        if (v.text == "false") return AttrValue(false);
        return p.Error("attribute '" + key + "': unknown word '" + v.text +
                       "' (strings need quotes)");
      case Value::kList: {
        bool any_real = false;
        for (const Value& item : v.items) {
          if (item.kind == Value::kReal) {
            any_real = true;
          } else if (item.kind != Value::kInt) {
            return p.Error("attribute '" + key + "': lists hold numbers only");
          }
        }
        if (any_real) {
          std::vector<double> values;
          for (const Value& item : v.items) {
            double x = 0;
            if (!ParseDouble(item.text, &x)) return p.Error("attribute '" + key + "': bad number");
            values.push_back(x);
          }
          return AttrValue(std::move(values));
        }
        std::vector<int64_t> values;
        for (const Value& item : v.items) {
          int64_t x = 0;
          if (!ParseInt64(item.text, &x)) return p.Error("attribute '" + key + "': bad integer");
          values.push_back(x);
        }
        return AttrValue(std::move(values));
      }
      default:
        return p.Error("attribute '" + key + "': unsupported value");
    }
  }

  Status Resolve(int64_t label, int line, int* out) {
    if (label < 0) {
      *out = -1;
      return Status::Ok();
    }
    auto it = labels_.find(label);
    if (it == labels_.end()) {
      return MakeStatus(StatusCode::kInvalidArgument, "line %d: %%%lld is not defined", line,
                        static_cast<long long>(label));
    }
    *out = it->second;
    return Status::Ok();
  }

  StatusOr<Graph> Finish() {
    if (!seen_graph_ && (!graph_.tensors.empty() || !graph_.nodes.empty())) {
      return MakeStatus(StatusCode::kInvalidArgument,
                        "line 1: missing 'graph inputs(...) outputs(...)' line");
    }
    for (int64_t l : graph_input_labels_) {
      int t;
      EDGEOPT_RETURN_IF_ERROR(Resolve(l, graph_line_, &t));
      graph_.inputs.push_back(t);
    }
    for (int64_t l : graph_output_labels_) {
      int t;
      EDGEOPT_RETURN_IF_ERROR(Resolve(l, graph_line_, &t));
      graph_.outputs.push_back(t);
    }
    if (!graph_.input_names.empty() && graph_.input_names.size() != graph_.inputs.size()) {
      return MakeStatus(StatusCode::kInvalidArgument, "line %d: %zu input_names for %zu inputs",
                        graph_line_, graph_.input_names.size(), graph_.inputs.size());
    }
    if (!graph_.output_names.empty() && graph_.output_names.size() != graph_.outputs.size()) {
      return MakeStatus(StatusCode::kInvalidArgument, "line %d: %zu output_names for %zu outputs",
                        graph_line_, graph_.output_names.size(), graph_.outputs.size());
    }
    for (size_t i = 0; i < graph_.nodes.size(); ++i) {
      Node& n = graph_.nodes[i];
      const NodeRefs& r = node_refs_[i];
      for (int64_t l : r.inputs) {
        int t;
        EDGEOPT_RETURN_IF_ERROR(Resolve(l, r.line, &t));
        n.inputs.push_back(t);
      }
      for (int64_t l : r.outputs) {
        int t;
        EDGEOPT_RETURN_IF_ERROR(Resolve(l, r.line, &t));
        n.outputs.push_back(t);
      }
      for (int64_t l : r.intermediates) {
        int t;
        EDGEOPT_RETURN_IF_ERROR(Resolve(l, r.line, &t));
        n.intermediates.push_back(t);
      }
    }
    return std::move(graph_);
  }

  struct NodeRefs {
    int line = 0;
    std::vector<int64_t> inputs, outputs, intermediates;
  };

  Graph graph_;
  bool seen_graph_ = false;
  int graph_line_ = 1;
  std::vector<int64_t> graph_input_labels_, graph_output_labels_;
  std::map<int64_t, int> labels_;
  std::map<int64_t, int> label_lines_;
  std::vector<NodeRefs> node_refs_;
};

}  // namespace

std::string PrintGraph(const Graph& graph, const TextOptions& options) {
  std::string s =
      "graph inputs(" + RefList(graph.inputs) + ") outputs(" + RefList(graph.outputs) + ")";
  if (!graph.input_names.empty()) s += " input_names(" + NameList(graph.input_names) + ")";
  if (!graph.output_names.empty()) s += " output_names(" + NameList(graph.output_names) + ")";
  s += "\n";
  if (!graph.description.empty()) s += "description " + Quote(graph.description) + "\n";
  for (const auto& [name, bytes] : graph.metadata) {
    s += "metadata " + Quote(name) + " ";
    if (options.include_all_values ||
        bytes.size() <= static_cast<size_t>(std::max(options.max_values, 0)) * 16) {
      s += QuoteBytes(bytes);
    } else {
      s += "size=" + std::to_string(bytes.size());
    }
    s += "\n";
  }
  for (size_t i = 0; i < graph.tensors.size(); ++i) {
    PrintTensor(graph.tensors[i], static_cast<int>(i), options, &s);
  }
  for (const Node& n : graph.nodes) PrintNode(n, &s);
  return s;
}

StatusOr<Graph> ParseGraph(const std::string& text) {
  GraphParser parser;
  return parser.Parse(text);
}

}  // namespace ir
}  // namespace edgeopt

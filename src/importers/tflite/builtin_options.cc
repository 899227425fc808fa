#include "src/importers/tflite/builtin_options.h"

#include <cmath>
#include <limits>
#include <map>

#include "flatbuffers/reflection.h"
#include "schema/tflite_bfbs_generated.h"
#include "schema/tflite_generated.h"

namespace edgeopt {
namespace tfl {
namespace {

// Ops whose options table is not "<CamelCaseOpName>Options" (as TFLite's
// flatbuffer conversions pair them).
const char* const kOptionsExceptions[][2] = {
    {"AVERAGE_POOL_2D", "Pool2DOptions"},
    {"MAX_POOL_2D", "Pool2DOptions"},
    {"L2_POOL_2D", "Pool2DOptions"},
    {"MEAN", "ReducerOptions"},
    {"SUM", "ReducerOptions"},
    {"REDUCE_MAX", "ReducerOptions"},
    {"REDUCE_MIN", "ReducerOptions"},
    {"REDUCE_PROD", "ReducerOptions"},
    {"REDUCE_ANY", "ReducerOptions"},
    {"REDUCE_ALL", "ReducerOptions"},
    {"MAXIMUM", "MaximumMinimumOptions"},
    {"MINIMUM", "MaximumMinimumOptions"},
    {"UNIDIRECTIONAL_SEQUENCE_RNN", "SequenceRNNOptions"},
    {"L2_NORMALIZATION", "L2NormOptions"},
    {"RANDOM_STANDARD_NORMAL", "RandomOptions"},
    {"RANDOM_UNIFORM", "RandomOptions"},
    {"MULTINOMIAL", "RandomOptions"},
    {"CONV_3D_TRANSPOSE", "Conv3DOptions"},
};

std::string Normalize(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '_') continue;
    out.push_back((c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c);
  }
  return out;
}

std::string ShortName(const char* qualified) {
  std::string s = qualified != nullptr ? qualified : "";
  const size_t dot = s.rfind('.');
  return dot == std::string::npos ? s : s.substr(dot + 1);
}

struct SchemaInfo {
  const reflection::Schema* schema = nullptr;
  const reflection::Enum* options_enum = nullptr;
  std::map<std::string, uint8_t> op_to_type;
  std::map<std::string, int32_t> op_codes;
};

SchemaInfo* BuildSchemaInfo() {
  auto* info = new SchemaInfo();
  flatbuffers::Verifier verifier(tflite::ModelBinarySchema::data(),
                                 tflite::ModelBinarySchema::size());
  if (!reflection::VerifySchemaBuffer(verifier)) return info;  // stays empty: reported on use
  info->schema = reflection::GetSchema(tflite::ModelBinarySchema::data());
  for (const reflection::Enum* e : *info->schema->enums()) {
    if (ShortName(e->name()->c_str()) == "BuiltinOptions") info->options_enum = e;
  }
  if (info->options_enum == nullptr) return info;
  std::map<std::string, uint8_t> by_table;  // "Conv2DOptions" -> type
  std::map<std::string, uint8_t> by_key;    // "CONV2D" -> type
  for (const reflection::EnumVal* v : *info->options_enum->values()) {
    if (v->value() == 0) continue;
    const std::string name = ShortName(v->name()->c_str());
    by_table[name] = static_cast<uint8_t>(v->value());
    std::string key = name;
    const std::string suffix = "Options";
    if (key.size() > suffix.size() &&
        key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0) {
      key.resize(key.size() - suffix.size());
    }
    by_key[Normalize(key)] = static_cast<uint8_t>(v->value());
  }
  for (tflite::BuiltinOperator op : tflite::EnumValuesBuiltinOperator()) {
    const std::string name = tflite::EnumNameBuiltinOperator(op);
    if (name.empty()) continue;
    info->op_codes[name] = static_cast<int32_t>(op);
    auto it = by_key.find(Normalize(name));
    if (it != by_key.end()) info->op_to_type[name] = it->second;
  }
  for (const auto& exception : kOptionsExceptions) {
    auto it = by_table.find(exception[1]);
    if (it != by_table.end()) info->op_to_type[exception[0]] = it->second;
  }
  return info;
}

const SchemaInfo& Info() {
  static const SchemaInfo* info = BuildSchemaInfo();
  return *info;
}

const reflection::Object* TableOf(uint8_t options_type) {
  const SchemaInfo& info = Info();
  if (info.options_enum == nullptr || options_type == 0) return nullptr;
  const reflection::EnumVal* v = info.options_enum->values()->LookupByKey(options_type);
  if (v == nullptr || v->union_type() == nullptr) return nullptr;
  const int index = v->union_type()->index();
  if (index < 0 || static_cast<uint32_t>(index) >= info.schema->objects()->size()) return nullptr;
  return info.schema->objects()->Get(index);
}

const reflection::Enum* EnumOf(const reflection::Type* type) {
  const int index = type->index();
  if (index < 0) return nullptr;
  const auto* enums = Info().schema->enums();
  if (static_cast<uint32_t>(index) >= enums->size()) return nullptr;
  return enums->Get(index);
}

bool IsIntegerType(reflection::BaseType t) {
  return t >= reflection::Bool && t <= reflection::ULong;
}

bool IsFloatType(reflection::BaseType t) {
  return t == reflection::Float || t == reflection::Double;
}

// The value range of an integer base type.
void IntRange(reflection::BaseType t, int64_t* lo, int64_t* hi) {
  switch (t) {
    case reflection::Bool:
      *lo = 0, *hi = 1;
      return;
    case reflection::Byte:
      *lo = INT8_MIN, *hi = INT8_MAX;
      return;
    case reflection::UByte:
    case reflection::UType:
      *lo = 0, *hi = UINT8_MAX;
      return;
    case reflection::Short:
      *lo = INT16_MIN, *hi = INT16_MAX;
      return;
    case reflection::UShort:
      *lo = 0, *hi = UINT16_MAX;
      return;
    case reflection::Int:
      *lo = INT32_MIN, *hi = INT32_MAX;
      return;
    case reflection::UInt:
      *lo = 0, *hi = UINT32_MAX;
      return;
    default:
      *lo = std::numeric_limits<int64_t>::min(), *hi = std::numeric_limits<int64_t>::max();
      return;
  }
}

std::string EnumNames(const reflection::Enum* e) {
  std::string names;
  for (const reflection::EnumVal* v : *e->values()) {
    if (!names.empty()) names += ", ";
    names += v->name()->str();
  }
  return names;
}

// Converts an attribute to the integer value of an integer/enum/bool field.
Status AttrToInt(const ir::AttrValue& value, const reflection::Field* field,
                 const std::string& where, int64_t* out) {
  const reflection::BaseType t = field->type()->base_type();
  const reflection::Enum* e = EnumOf(field->type());
  const std::string name = field->name()->str();
  if (t == reflection::Bool) {
    if (const auto* b = std::get_if<bool>(&value)) {
      *out = *b ? 1 : 0;
      return Status::Ok();
    }
    if (const auto* i = std::get_if<int64_t>(&value); i != nullptr && (*i == 0 || *i == 1)) {
      *out = *i;
      return Status::Ok();
    }
    return MakeStatus(StatusCode::kInvalidArgument, "%s: attribute '%s' must be a bool",
                      where.c_str(), name.c_str());
  }
  if (e != nullptr) {
    if (const auto* s = std::get_if<std::string>(&value)) {
      for (const reflection::EnumVal* v : *e->values()) {
        if (v->name()->str() == *s) {
          *out = v->value();
          return Status::Ok();
        }
      }
      return MakeStatus(StatusCode::kInvalidArgument,
                        "%s: attribute '%s' is \"%s\"; expected one of %s", where.c_str(),
                        name.c_str(), s->c_str(), EnumNames(e).c_str());
    }
  }
  const auto* i = std::get_if<int64_t>(&value);
  if (i == nullptr) {
    return MakeStatus(StatusCode::kInvalidArgument, "%s: attribute '%s' must be %s", where.c_str(),
                      name.c_str(),
                      e != nullptr ? ("one of " + EnumNames(e)).c_str() : "an integer");
  }
  int64_t lo, hi;
  IntRange(t, &lo, &hi);
  if (*i < lo || *i > hi) {
    return MakeStatus(StatusCode::kInvalidArgument, "%s: attribute '%s' = %lld is out of range",
                      where.c_str(), name.c_str(), static_cast<long long>(*i));
  }
  *out = *i;
  return Status::Ok();
}

Status AttrToDouble(const ir::AttrValue& value, const reflection::Field* field,
                    const std::string& where, double* out) {
  if (const auto* d = std::get_if<double>(&value)) {
    *out = *d;
    return Status::Ok();
  }
  if (const auto* i = std::get_if<int64_t>(&value)) {
    *out = static_cast<double>(*i);
    return Status::Ok();
  }
  return MakeStatus(StatusCode::kInvalidArgument, "%s: attribute '%s' must be a number",
                    where.c_str(), field->name()->c_str());
}

template <typename T>
void AddScalar(flatbuffers::FlatBufferBuilder* fbb, const reflection::Field* field, T value,
               T fallback) {
  fbb->AddElement<T>(field->offset(), value, fallback);
}

void AddIntField(flatbuffers::FlatBufferBuilder* fbb, const reflection::Field* field, int64_t v) {
  const int64_t d = field->default_integer();
  switch (field->type()->base_type()) {
    case reflection::Bool:
    case reflection::UByte:
    case reflection::UType:
      AddScalar<uint8_t>(fbb, field, static_cast<uint8_t>(v), static_cast<uint8_t>(d));
      break;
    case reflection::Byte:
      AddScalar<int8_t>(fbb, field, static_cast<int8_t>(v), static_cast<int8_t>(d));
      break;
    case reflection::Short:
      AddScalar<int16_t>(fbb, field, static_cast<int16_t>(v), static_cast<int16_t>(d));
      break;
    case reflection::UShort:
      AddScalar<uint16_t>(fbb, field, static_cast<uint16_t>(v), static_cast<uint16_t>(d));
      break;
    case reflection::Int:
      AddScalar<int32_t>(fbb, field, static_cast<int32_t>(v), static_cast<int32_t>(d));
      break;
    case reflection::UInt:
      AddScalar<uint32_t>(fbb, field, static_cast<uint32_t>(v), static_cast<uint32_t>(d));
      break;
    case reflection::Long:
      AddScalar<int64_t>(fbb, field, v, d);
      break;
    case reflection::ULong:
      AddScalar<uint64_t>(fbb, field, static_cast<uint64_t>(v), static_cast<uint64_t>(d));
      break;
    default:
      break;
  }
}

// A vector field's contents, written before the table starts.
StatusOr<flatbuffers::uoffset_t> WriteVectorField(flatbuffers::FlatBufferBuilder* fbb,
                                                  const reflection::Field* field,
                                                  const ir::AttrValue& value,
                                                  const std::string& where) {
  const reflection::BaseType elem = field->type()->element();
  const std::string name = field->name()->str();
  if (IsFloatType(elem)) {
    std::vector<double> values;
    if (const auto* d = std::get_if<std::vector<double>>(&value)) {
      values = *d;
    } else if (const auto* i = std::get_if<std::vector<int64_t>>(&value)) {
      for (int64_t v : *i) values.push_back(static_cast<double>(v));
    } else {
      return MakeStatus(StatusCode::kInvalidArgument, "%s: attribute '%s' must be a float list",
                        where.c_str(), name.c_str());
    }
    if (elem == reflection::Float) {
      std::vector<float> f(values.begin(), values.end());
      return fbb->CreateVector(f).o;
    }
    return fbb->CreateVector(values).o;
  }
  const auto* ints = std::get_if<std::vector<int64_t>>(&value);
  if (!IsIntegerType(elem) || ints == nullptr) {
    return MakeStatus(StatusCode::kInvalidArgument, "%s: attribute '%s' must be an int list",
                      where.c_str(), name.c_str());
  }
  int64_t lo, hi;
  IntRange(elem, &lo, &hi);
  for (int64_t v : *ints) {
    if (v < lo || v > hi) {
      return MakeStatus(StatusCode::kInvalidArgument,
                        "%s: attribute '%s' has element %lld out of range", where.c_str(),
                        name.c_str(), static_cast<long long>(v));
    }
  }
  switch (elem) {
    case reflection::Bool:
    case reflection::UByte:
      return fbb->CreateVector(std::vector<uint8_t>(ints->begin(), ints->end())).o;
    case reflection::Byte:
      return fbb->CreateVector(std::vector<int8_t>(ints->begin(), ints->end())).o;
    case reflection::Short:
      return fbb->CreateVector(std::vector<int16_t>(ints->begin(), ints->end())).o;
    case reflection::UShort:
      return fbb->CreateVector(std::vector<uint16_t>(ints->begin(), ints->end())).o;
    case reflection::Int:
      return fbb->CreateVector(std::vector<int32_t>(ints->begin(), ints->end())).o;
    case reflection::UInt:
      return fbb->CreateVector(std::vector<uint32_t>(ints->begin(), ints->end())).o;
    case reflection::Long:
      return fbb->CreateVector(*ints).o;
    default:
      return fbb->CreateVector(std::vector<uint64_t>(ints->begin(), ints->end())).o;
  }
}

}  // namespace

std::string BuiltinOpName(int32_t code) {
  for (const auto& [name, value] : Info().op_codes) {
    if (value == code) return name;
  }
  return "";
}

int32_t BuiltinOpCode(const std::string& op) {
  const auto& codes = Info().op_codes;
  auto it = codes.find(op);
  return it == codes.end() ? -1 : it->second;
}

uint8_t OptionsTypeForOp(const std::string& op) {
  const auto& map = Info().op_to_type;
  auto it = map.find(op);
  return it == map.end() ? 0 : it->second;
}

std::string OptionsTypeName(uint8_t options_type) {
  const reflection::Object* table = TableOf(options_type);
  return table != nullptr ? ShortName(table->name()->c_str()) : "";
}

std::vector<std::string> OptionFieldNames(const std::string& op) {
  std::vector<std::string> names;
  const reflection::Object* table = TableOf(OptionsTypeForOp(op));
  if (table == nullptr) return names;
  for (const reflection::Field* f : *table->fields()) {
    if (!f->deprecated()) names.push_back(f->name()->str());
  }
  return names;
}

Status ReadOptions(uint8_t options_type, const void* table_ptr, ir::Attrs* attrs) {
  EDGEOPT_ENSURE(Info().schema != nullptr, StatusCode::kInternal,
                 "the embedded TFLite schema is unusable");
  const reflection::Object* object = TableOf(options_type);
  if (object == nullptr) return Status::Ok();
  const auto* table = static_cast<const flatbuffers::Table*>(table_ptr);
  for (const reflection::Field* field : *object->fields()) {
    if (field->deprecated()) continue;
    const std::string name = field->name()->str();
    const reflection::BaseType t = field->type()->base_type();
    if (t == reflection::Bool) {
      const int64_t v =
          table != nullptr ? flatbuffers::GetAnyFieldI(*table, *field) : field->default_integer();
      (*attrs)[name] = v != 0;
    } else if (IsIntegerType(t)) {
      const int64_t v =
          table != nullptr ? flatbuffers::GetAnyFieldI(*table, *field) : field->default_integer();
      const reflection::Enum* e = EnumOf(field->type());
      const reflection::EnumVal* ev = e != nullptr ? e->values()->LookupByKey(v) : nullptr;
      if (ev != nullptr) {
        (*attrs)[name] = ev->name()->str();
      } else {
        (*attrs)[name] = v;
      }
    } else if (IsFloatType(t)) {
      const double v =
          table != nullptr ? flatbuffers::GetAnyFieldF(*table, *field) : field->default_real();
      (*attrs)[name] = v;
    } else if (t == reflection::String) {
      if (table == nullptr) continue;
      const flatbuffers::String* s = flatbuffers::GetFieldS(*table, *field);
      if (s != nullptr) (*attrs)[name] = s->str();
    } else if (t == reflection::Vector) {
      if (table == nullptr) continue;
      const reflection::BaseType elem = field->type()->element();
      const flatbuffers::VectorOfAny* vec = flatbuffers::GetFieldAnyV(*table, *field);
      if (vec == nullptr) continue;
      if (IsIntegerType(elem)) {
        std::vector<int64_t> values(vec->size());
        for (uint32_t i = 0; i < vec->size(); ++i) {
          values[i] = flatbuffers::GetAnyVectorElemI(vec, elem, i);
        }
        (*attrs)[name] = std::move(values);
      } else if (IsFloatType(elem)) {
        std::vector<double> values(vec->size());
        for (uint32_t i = 0; i < vec->size(); ++i) {
          values[i] = flatbuffers::GetAnyVectorElemF(vec, elem, i);
        }
        (*attrs)[name] = std::move(values);
      }
      // Vectors of strings or tables do not occur in option tables; skipped.
    }
  }
  return Status::Ok();
}

StatusOr<std::pair<uint8_t, flatbuffers::Offset<void>>> WriteOptions(
    flatbuffers::FlatBufferBuilder* fbb, const std::string& op, const ir::Attrs& attrs,
    const std::string& where) {
  EDGEOPT_ENSURE(Info().schema != nullptr, StatusCode::kInternal,
                 "the embedded TFLite schema is unusable");
  const uint8_t type = OptionsTypeForOp(op);
  const reflection::Object* object = TableOf(type);
  if (object == nullptr) {
    if (!attrs.empty()) {
      return MakeStatus(StatusCode::kInvalidArgument,
                        "%s: unknown attribute '%s' (%s takes no attributes)", where.c_str(),
                        attrs.begin()->first.c_str(), op.c_str());
    }
    return std::make_pair(uint8_t{0}, flatbuffers::Offset<void>());
  }
  // Every attribute must name a field.
  for (const auto& [name, value] : attrs) {
    const reflection::Field* field = object->fields()->LookupByKey(name.c_str());
    if (field == nullptr || field->deprecated()) {
      std::string fields;
      for (const reflection::Field* f : *object->fields()) {
        if (f->deprecated()) continue;
        if (!fields.empty()) fields += ", ";
        fields += f->name()->str();
      }
      return MakeStatus(StatusCode::kInvalidArgument,
                        "%s: unknown attribute '%s' for %s (%s has: %s)", where.c_str(),
                        name.c_str(), op.c_str(), ShortName(object->name()->c_str()).c_str(),
                        fields.empty() ? "no fields" : fields.c_str());
    }
  }
  bool has_fields = false;
  for (const reflection::Field* f : *object->fields()) has_fields |= !f->deprecated();
  if (!has_fields) return std::make_pair(uint8_t{0}, flatbuffers::Offset<void>());

  // Offsets (strings, vectors) are created before the table.
  std::vector<std::pair<const reflection::Field*, flatbuffers::uoffset_t>> offsets;
  for (const auto& [name, value] : attrs) {
    const reflection::Field* field = object->fields()->LookupByKey(name.c_str());
    const reflection::BaseType t = field->type()->base_type();
    if (t == reflection::String) {
      const auto* s = std::get_if<std::string>(&value);
      if (s == nullptr) {
        return MakeStatus(StatusCode::kInvalidArgument, "%s: attribute '%s' must be a string",
                          where.c_str(), name.c_str());
      }
      offsets.emplace_back(field, fbb->CreateString(*s).o);
    } else if (t == reflection::Vector) {
      EDGEOPT_ASSIGN_OR_RETURN(flatbuffers::uoffset_t off,
                               WriteVectorField(fbb, field, value, where));
      offsets.emplace_back(field, off);
    } else if (!IsIntegerType(t) && !IsFloatType(t)) {
      return MakeStatus(StatusCode::kUnsupported, "%s: attribute '%s' has an unsupported type",
                        where.c_str(), name.c_str());
    }
  }
  // Validate scalars before starting the table (no early return inside it).
  std::vector<std::pair<const reflection::Field*, int64_t>> ints;
  std::vector<std::pair<const reflection::Field*, double>> reals;
  for (const auto& [name, value] : attrs) {
    const reflection::Field* field = object->fields()->LookupByKey(name.c_str());
    const reflection::BaseType t = field->type()->base_type();
    if (IsIntegerType(t)) {
      int64_t v = 0;
      EDGEOPT_RETURN_IF_ERROR(AttrToInt(value, field, where, &v));
      ints.emplace_back(field, v);
    } else if (IsFloatType(t)) {
      double v = 0;
      EDGEOPT_RETURN_IF_ERROR(AttrToDouble(value, field, where, &v));
      reals.emplace_back(field, v);
    }
  }
  const flatbuffers::uoffset_t start = fbb->StartTable();
  for (const auto& [field, off] : offsets) {
    fbb->AddOffset(field->offset(), flatbuffers::Offset<void>(off));
  }
  for (const auto& [field, v] : reals) {
    if (field->type()->base_type() == reflection::Float) {
      AddScalar<float>(fbb, field, static_cast<float>(v),
                       static_cast<float>(field->default_real()));
    } else {
      AddScalar<double>(fbb, field, v, field->default_real());
    }
  }
  for (const auto& [field, v] : ints) AddIntField(fbb, field, v);
  const flatbuffers::uoffset_t end = fbb->EndTable(start);
  return std::make_pair(type, flatbuffers::Offset<void>(end));
}

}  // namespace tfl
}  // namespace edgeopt

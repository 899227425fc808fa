#include "src/data/dataset.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <sstream>

#include "src/data/idx.h"
#include "src/util/file_util.h"
#include "src/util/npy.h"

#if defined(EDGEOPT_HAVE_STB)
#include <stb_image.h>
#endif

namespace edgeopt {
namespace data {
namespace {

// 8-bit pixels become x / 255 in float32, as Keras' `x / 255.0`: a division (correctly rounded),
// not a multiplication by 1 / 255, which is one ulp off for about half of the 256 values.
constexpr float kPixelMax = 255.0f;

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (!dir.empty() && dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

// Class labels from float/int values; all must be non-negative integers.
Status LabelsFrom(const std::vector<double>& values, const std::string& name, Dataset* ds) {
  ds->labels.resize(values.size());
  int32_t max_label = -1;
  for (size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    EDGEOPT_ENSURE(v >= 0 && v < (1 << 24) && std::floor(v) == v, StatusCode::kInvalidArgument,
                   "%s: label %zu is %g, not a class index", name.c_str(), i, v);
    ds->labels[i] = static_cast<int32_t>(v);
    max_label = std::max(max_label, ds->labels[i]);
  }
  ds->num_classes = max_label + 1;
  return Status::Ok();
}

// x from an NpyArray of any numeric dtype: uint8 is scaled by 1/255 (images), others cast.
Status FloatsFromNpy(const NpyArray& a, const std::string& name, std::vector<float>* out) {
  const int64_t n = a.NumElements();
  out->resize(n);
  switch (a.dtype) {
    case DType::kFloat32:
      std::memcpy(out->data(), a.data.data(), sizeof(float) * n);
      break;
    case DType::kFloat64:
      for (int64_t i = 0; i < n; ++i) (*out)[i] = static_cast<float>(a.Data<double>()[i]);
      break;
    case DType::kUInt8:
      for (int64_t i = 0; i < n; ++i)
        (*out)[i] = static_cast<float>(a.Data<uint8_t>()[i]) / kPixelMax;
      break;
    case DType::kInt8:
      for (int64_t i = 0; i < n; ++i) (*out)[i] = a.Data<int8_t>()[i];
      break;
    case DType::kInt16:
      for (int64_t i = 0; i < n; ++i) (*out)[i] = a.Data<int16_t>()[i];
      break;
    case DType::kUInt16:
      for (int64_t i = 0; i < n; ++i) (*out)[i] = a.Data<uint16_t>()[i];
      break;
    case DType::kInt32:
      for (int64_t i = 0; i < n; ++i) (*out)[i] = static_cast<float>(a.Data<int32_t>()[i]);
      break;
    case DType::kInt64:
      for (int64_t i = 0; i < n; ++i) (*out)[i] = static_cast<float>(a.Data<int64_t>()[i]);
      break;
    case DType::kBool:
      for (int64_t i = 0; i < n; ++i) (*out)[i] = a.data[i] != 0 ? 1.0f : 0.0f;
      break;
    default:
      return MakeStatus(StatusCode::kUnsupported, "%s: arrays of %s cannot be used as data",
                        name.c_str(), DTypeName(a.dtype));
  }
  return Status::Ok();
}

bool IsIntegerDType(DType t) {
  return t == DType::kUInt8 || t == DType::kInt8 || t == DType::kInt16 || t == DType::kUInt16 ||
         t == DType::kInt32 || t == DType::kInt64 || t == DType::kUInt32 || t == DType::kUInt64;
}

// y from an NpyArray: integer arrays of shape [N] or [N,1] are class labels; anything else
// (float) becomes float targets [N, ...].
Status SetY(const NpyArray& y, const std::string& name, Dataset* ds) {
  EDGEOPT_ENSURE(!y.shape.empty() && y.shape[0] == ds->size, StatusCode::kInvalidArgument,
                 "%s: y has %lld rows, x has %lld", name.c_str(),
                 static_cast<long long>(y.shape.empty() ? 0 : y.shape[0]),
                 static_cast<long long>(ds->size));
  std::vector<float> values;
  EDGEOPT_RETURN_IF_ERROR(FloatsFromNpy(y, name, &values));
  if (y.dtype == DType::kUInt8) {  // labels, not pixels: undo the image scaling
    for (int64_t i = 0; i < y.NumElements(); ++i) values[i] = y.Data<uint8_t>()[i];
  }
  const int64_t per = ds->size > 0 ? y.NumElements() / ds->size : 0;
  if (IsIntegerDType(y.dtype) && per == 1) {
    return LabelsFrom(std::vector<double>(values.begin(), values.end()), name, ds);
  }
  ds->targets = std::move(values);
  ds->target_shape.assign(y.shape.begin() + 1, y.shape.end());
  if (ds->target_shape.empty()) ds->target_shape = {1};
  return Status::Ok();
}

Status XFromNpy(const NpyArray& x, const std::string& name, Dataset* ds) {
  EDGEOPT_ENSURE(!x.shape.empty(), StatusCode::kInvalidArgument,
                 "%s: x is a scalar, expected [N, ...]", name.c_str());
  ds->size = x.shape[0];
  ds->sample_shape.clear();
  for (size_t d = 1; d < x.shape.size(); ++d) {
    EDGEOPT_ENSURE(x.shape[d] > 0 && x.shape[d] < (1 << 24), StatusCode::kInvalidArgument,
                   "%s: dimension %zu of x is %lld", name.c_str(), d,
                   static_cast<long long>(x.shape[d]));
    ds->sample_shape.push_back(static_cast<int>(x.shape[d]));
  }
  ds->pixels = x.dtype == DType::kUInt8;
  return FloatsFromNpy(x, name, &ds->x);
}

std::vector<std::string> SplitString(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      parts.push_back(cur);
      cur.clear();
    } else if (c != '\r') {
      cur += c;
    }
  }
  parts.push_back(cur);
  return parts;
}

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  std::string t = s.substr(b, e - b);
  if (t.size() >= 2 && t.front() == '"' && t.back() == '"') t = t.substr(1, t.size() - 2);
  return t;
}

bool ParseNumber(const std::string& s, double* v) {
  const std::string t = Trim(s);
  if (t.empty()) return false;
  char* end = nullptr;
  *v = std::strtod(t.c_str(), &end);
  return end == t.c_str() + t.size() && std::isfinite(*v);
}

bool IsImageFile(const std::string& name) {
  const std::string ext = FileExtension(name);
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".gif" ||
         ext == ".pgm" || ext == ".ppm" || ext == ".tga";
}

// Bilinear resize (align_corners = false, half-pixel centers) of an HWC image.
void ResizeBilinear(const std::vector<float>& src, int sh, int sw, int c, int dh, int dw,
                    float* dst) {
  const float sy = static_cast<float>(sh) / dh;
  const float sx = static_cast<float>(sw) / dw;
  for (int y = 0; y < dh; ++y) {
    float fy = (y + 0.5f) * sy - 0.5f;
    fy = std::max(0.0f, std::min(fy, static_cast<float>(sh - 1)));
    const int y0 = static_cast<int>(fy);
    const int y1 = std::min(y0 + 1, sh - 1);
    const float wy = fy - y0;
    for (int x = 0; x < dw; ++x) {
      float fx = (x + 0.5f) * sx - 0.5f;
      fx = std::max(0.0f, std::min(fx, static_cast<float>(sw - 1)));
      const int x0 = static_cast<int>(fx);
      const int x1 = std::min(x0 + 1, sw - 1);
      const float wx = fx - x0;
      for (int k = 0; k < c; ++k) {
        const float a = src[(y0 * sw + x0) * c + k], b = src[(y0 * sw + x1) * c + k];
        const float d = src[(y1 * sw + x0) * c + k], e = src[(y1 * sw + x1) * c + k];
        dst[(y * dw + x) * c + k] =
            (a * (1 - wx) + b * wx) * (1 - wy) + (d * (1 - wx) + e * wx) * wy;
      }
    }
  }
}

// One image file as HWC floats in [0, 1] with `channels` channels (0: keep gray or RGB).
Status LoadImage(const std::string& path, int channels, std::vector<float>* pixels, int* h, int* w,
                 int* c) {
#if defined(EDGEOPT_HAVE_STB)
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(path, size_t{1} << 28));
  EDGEOPT_ENSURE(bytes.size() < (size_t{1} << 31), StatusCode::kInvalidArgument,
                 "%s: image file too large", path.c_str());
  int iw = 0, ih = 0, ic = 0;
  EDGEOPT_ENSURE(
      stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &iw, &ih, &ic) == 1,
      StatusCode::kInvalidArgument, "%s: not a readable image (%s)", path.c_str(),
      stbi_failure_reason() != nullptr ? stbi_failure_reason() : "unknown format");
  EDGEOPT_ENSURE(iw > 0 && ih > 0 && static_cast<int64_t>(iw) * ih <= (int64_t{1} << 26),
                 StatusCode::kInvalidArgument, "%s: image size %dx%d", path.c_str(), iw, ih);
  const int want = channels > 0 ? channels : (ic <= 2 ? 1 : 3);
  int x = 0, y = 0, n = 0;
  unsigned char* img =
      stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &x, &y, &n, want);
  EDGEOPT_ENSURE(img != nullptr, StatusCode::kInvalidArgument, "%s: cannot decode image (%s)",
                 path.c_str(),
                 stbi_failure_reason() != nullptr ? stbi_failure_reason() : "unknown");
  pixels->resize(static_cast<size_t>(x) * y * want);
  for (size_t i = 0; i < pixels->size(); ++i) (*pixels)[i] = static_cast<float>(img[i]) / kPixelMax;
  stbi_image_free(img);
  *h = y;
  *w = x;
  *c = want;
  return Status::Ok();
#else
  (void)pixels;
  (void)channels;
  (void)h;
  (void)w;
  (void)c;
  return MakeStatus(StatusCode::kUnsupported,
                    "%s: edgeopt was built without image support (libstb-dev)", path.c_str());
#endif
}

}  // namespace

int64_t Dataset::sample_size() const {
  int64_t n = 1;
  for (int d : sample_shape) n *= d;
  return n;
}

int64_t Dataset::target_size() const {
  int64_t n = 1;
  for (int d : target_shape) n *= d;
  return n;
}

Dataset Dataset::Subset(const std::vector<int64_t>& indices) const {
  Dataset out;
  out.name = name;
  out.sample_shape = sample_shape;
  out.target_shape = target_shape;
  out.num_classes = num_classes;
  out.class_names = class_names;
  out.pixels = pixels;
  out.size = static_cast<int64_t>(indices.size());
  const int64_t ss = sample_size();
  out.x.resize(out.size * ss);
  for (int64_t i = 0; i < out.size; ++i) {
    std::memcpy(out.x.data() + i * ss, x.data() + indices[i] * ss, sizeof(float) * ss);
  }
  if (has_labels()) {
    out.labels.resize(out.size);
    for (int64_t i = 0; i < out.size; ++i) out.labels[i] = labels[indices[i]];
  }
  if (has_targets()) {
    const int64_t ts = target_size();
    out.targets.resize(out.size * ts);
    for (int64_t i = 0; i < out.size; ++i) {
      std::memcpy(out.targets.data() + i * ts, targets.data() + indices[i] * ts,
                  sizeof(float) * ts);
    }
  }
  return out;
}

Status Dataset::Validate() const {
  EDGEOPT_ENSURE(size >= 0 && static_cast<int64_t>(x.size()) == size * sample_size(),
                 StatusCode::kInvalidArgument, "%s: %zu input values for %lld samples of %lld",
                 name.c_str(), x.size(), static_cast<long long>(size),
                 static_cast<long long>(sample_size()));
  if (has_labels()) {
    EDGEOPT_ENSURE(static_cast<int64_t>(labels.size()) == size, StatusCode::kInvalidArgument,
                   "%s: %zu labels for %lld samples", name.c_str(), labels.size(),
                   static_cast<long long>(size));
    for (int64_t i = 0; i < size; ++i) {
      EDGEOPT_ENSURE(labels[i] >= 0 && labels[i] < num_classes, StatusCode::kInvalidArgument,
                     "%s: label %lld is %d, outside [0, %d)", name.c_str(),
                     static_cast<long long>(i), labels[i], num_classes);
    }
  }
  if (has_targets()) {
    EDGEOPT_ENSURE(static_cast<int64_t>(targets.size()) == size * target_size(),
                   StatusCode::kInvalidArgument, "%s: %zu target values for %lld samples",
                   name.c_str(), targets.size(), static_cast<long long>(size));
  }
  return Status::Ok();
}

Status SplitValidation(Dataset* train, double fraction, Dataset* validation) {
  EDGEOPT_ENSURE(fraction >= 0.0 && fraction < 1.0, StatusCode::kInvalidArgument,
                 "validation split %g is not in [0, 1)", fraction);
  const int64_t n_val = static_cast<int64_t>(std::floor(train->size * fraction));
  const int64_t n_train = train->size - n_val;
  EDGEOPT_ENSURE(n_train > 0, StatusCode::kInvalidArgument,
                 "validation split %g leaves no training samples", fraction);
  std::vector<int64_t> tail(n_val);
  for (int64_t i = 0; i < n_val; ++i) tail[i] = n_train + i;
  *validation = train->Subset(tail);
  validation->name = train->name + " (validation)";
  train->x.resize(n_train * train->sample_size());
  if (train->has_labels()) train->labels.resize(n_train);
  if (train->has_targets()) train->targets.resize(n_train * train->target_size());
  train->size = n_train;
  return Status::Ok();
}

std::string FashionMnistDir() {
  const char* env = std::getenv("EDGEOPT_FASHION_MNIST_DIR");
  if (env != nullptr && env[0] != '\0') return env;
  return "/usr/share/datasets/fashion-mnist";
}

StatusOr<Dataset> LoadIdx(const std::string& images_path, const std::string& labels_path) {
  EDGEOPT_ASSIGN_OR_RETURN(IdxArray images, ReadIdx(images_path));
  EDGEOPT_ENSURE(images.dims.size() >= 1, StatusCode::kInvalidArgument, "%s: no samples",
                 images_path.c_str());
  Dataset ds;
  ds.name = images_path;
  ds.size = images.dims[0];
  for (size_t d = 1; d < images.dims.size(); ++d) {
    ds.sample_shape.push_back(static_cast<int>(images.dims[d]));
  }
  if (images.dims.size() == 3) ds.sample_shape.push_back(1);  // [N,H,W] -> NHWC with C = 1
  ds.x.resize(images.NumElements());
  images.ToFloat(ds.x.data(), images.type == 0x08 ? kPixelMax : 1.0f);
  ds.pixels = images.type == 0x08;
  images.bytes = std::vector<uint8_t>();
  if (!labels_path.empty()) {
    EDGEOPT_ASSIGN_OR_RETURN(IdxArray labels, ReadIdx(labels_path));
    EDGEOPT_ENSURE(labels.dims.size() == 1 && labels.dims[0] == ds.size,
                   StatusCode::kInvalidArgument, "%s: %lld labels (rank %zu) for %lld images in %s",
                   labels_path.c_str(),
                   static_cast<long long>(labels.dims.empty() ? 0 : labels.dims[0]),
                   labels.dims.size(), static_cast<long long>(ds.size), images_path.c_str());
    std::vector<double> values(ds.size);
    for (int64_t i = 0; i < ds.size; ++i) values[i] = labels.At(i);
    EDGEOPT_RETURN_IF_ERROR(LabelsFrom(values, labels_path, &ds));
  }
  return ds;
}

namespace {

// The MNIST-style pair for `split` in `dir` ({train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]).
Status FindIdxPair(const std::string& dir, const std::string& split, std::string* images,
                   std::string* labels) {
  const std::string prefix = split == "test" ? "t10k" : "train";
  // Images and labels may each be gzip-compressed or not.
  auto find = [&](const std::string& stem) -> std::string {
    for (const char* suffix : {"", ".gz"}) {
      const std::string p = JoinPath(dir, prefix + stem + suffix);
      if (FileExists(p)) return p;
    }
    return "";
  };
  *images = find("-images-idx3-ubyte");
  *labels = find("-labels-idx1-ubyte");
  if (!images->empty() && !labels->empty()) return Status::Ok();
  return MakeStatus(StatusCode::kNotFound, "%s: no %s-images-idx3-ubyte[.gz] with labels",
                    dir.c_str(), prefix.c_str());
}

}  // namespace

StatusOr<Dataset> LoadFashionMnist(const std::string& split) {
  EDGEOPT_ENSURE(split == "train" || split == "test", StatusCode::kInvalidArgument,
                 "fashion-mnist: unknown split '%s' (train or test)", split.c_str());
  const std::string dir = FashionMnistDir();
  std::string images, labels;
  Status found = FindIdxPair(dir, split, &images, &labels);
  if (!found.ok()) {
    return MakeStatus(StatusCode::kNotFound,
                      "fashion-mnist: %s/%s-images-idx3-ubyte.gz not found; install the "
                      "Debian "
                      "package dataset-fashion-mnist (apt-get install dataset-fashion-mnist)",
                      dir.c_str(), split == "test" ? "t10k" : "train");
  }
  EDGEOPT_ASSIGN_OR_RETURN(Dataset ds, LoadIdx(images, labels));
  ds.name = "fashion-mnist:" + split;
  ds.num_classes = 10;
  ds.class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  EDGEOPT_RETURN_IF_ERROR(ds.Validate());
  return ds;
}

StatusOr<Dataset> LoadNpzDataset(const std::string& path, const std::string& split) {
  EDGEOPT_ASSIGN_OR_RETURN(auto arrays, ReadNpz(path));
  std::vector<std::pair<std::string, std::string>> candidates;
  if (split.empty()) {
    candidates = {{"x", "y"}, {"x_train", "y_train"}, {"X", "Y"}, {"inputs", "labels"}};
  } else {
    candidates = {{"x_" + split, "y_" + split}};
  }
  for (const auto& c : candidates) {
    auto xi = arrays.find(c.first);
    if (xi == arrays.end()) continue;
    Dataset ds;
    ds.name = path + (split.empty() ? "" : ":" + split);
    EDGEOPT_RETURN_IF_ERROR(XFromNpy(xi->second, path + " (" + c.first + ")", &ds));
    auto yi = arrays.find(c.second);
    if (yi != arrays.end()) {
      EDGEOPT_RETURN_IF_ERROR(SetY(yi->second, path + " (" + c.second + ")", &ds));
    }
    EDGEOPT_RETURN_IF_ERROR(ds.Validate());
    return ds;
  }
  std::string names;
  for (const auto& kv : arrays) names += (names.empty() ? "" : ", ") + kv.first;
  return MakeStatus(StatusCode::kInvalidArgument,
                    "%s: no input array (expected x and y%s); the file has: %s", path.c_str(),
                    split.empty() ? ", or x_train and y_train" : (" for split " + split).c_str(),
                    names.c_str());
}

StatusOr<Dataset> LoadNpyFile(const std::string& path) {
  EDGEOPT_ASSIGN_OR_RETURN(NpyArray x, ReadNpy(path));
  Dataset ds;
  ds.name = path;
  EDGEOPT_RETURN_IF_ERROR(XFromNpy(x, path, &ds));
  EDGEOPT_RETURN_IF_ERROR(ds.Validate());
  return ds;
}

StatusOr<Dataset> LoadNpyFolder(const std::string& dir) {
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<std::string> entries, ListDirectory(dir));
  Dataset ds;
  ds.name = dir;
  for (const std::string& e : entries) {
    if (FileExtension(e) != ".npy") continue;
    const std::string path = JoinPath(dir, e);
    EDGEOPT_ASSIGN_OR_RETURN(NpyArray a, ReadNpy(path));
    std::vector<int> shape;
    for (int64_t d : a.shape) shape.push_back(static_cast<int>(d));
    // A leading batch dimension of 1 (what `edgeopt run` inputs look like) is dropped.
    if (shape.size() > 1 && shape[0] == 1) shape.erase(shape.begin());
    if (ds.size == 0) {
      ds.sample_shape = shape;
    } else {
      EDGEOPT_ENSURE(shape == ds.sample_shape, StatusCode::kInvalidArgument,
                     "%s: shape differs from the first .npy file in %s", path.c_str(), dir.c_str());
    }
    std::vector<float> values;
    EDGEOPT_RETURN_IF_ERROR(FloatsFromNpy(a, path, &values));
    if (ds.size == 0) ds.pixels = a.dtype == DType::kUInt8;
    ds.pixels = ds.pixels && a.dtype == DType::kUInt8;
    ds.x.insert(ds.x.end(), values.begin(), values.end());
    ++ds.size;
  }
  EDGEOPT_ENSURE(ds.size > 0, StatusCode::kInvalidArgument, "%s: no .npy files", dir.c_str());
  EDGEOPT_RETURN_IF_ERROR(ds.Validate());
  return ds;
}

StatusOr<Dataset> LoadClassFolders(const std::string& dir, const LoadOptions& options) {
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<std::string> entries, ListDirectory(dir));
  Dataset ds;
  ds.name = dir;
  int h = options.image_height, w = options.image_width, c = options.image_channels;
  for (const std::string& cls : entries) {
    const std::string sub = JoinPath(dir, cls);
    if (!IsDirectory(sub)) continue;
    const int label = static_cast<int>(ds.class_names.size());
    ds.class_names.push_back(cls);
    EDGEOPT_ASSIGN_OR_RETURN(std::vector<std::string> files, ListDirectory(sub));
    for (const std::string& f : files) {
      const std::string path = JoinPath(sub, f);
      std::vector<float> pixels;
      std::vector<int> shape;
      bool eight_bit = true;  // an image, or a uint8 .npy
      if (FileExtension(f) == ".npy") {
        EDGEOPT_ASSIGN_OR_RETURN(NpyArray a, ReadNpy(path));
        eight_bit = a.dtype == DType::kUInt8;
        for (int64_t d : a.shape) shape.push_back(static_cast<int>(d));
        if (shape.size() > 1 && shape[0] == 1) shape.erase(shape.begin());
        EDGEOPT_RETURN_IF_ERROR(FloatsFromNpy(a, path, &pixels));
      } else if (IsImageFile(f)) {
        int ih = 0, iw = 0, ic = 0;
        EDGEOPT_RETURN_IF_ERROR(LoadImage(path, c, &pixels, &ih, &iw, &ic));
        if (c == 0) c = ic;
        if (h == 0 || w == 0) {
          h = ih;
          w = iw;
        }
        if (ih != h || iw != w) {
          std::vector<float> resized(static_cast<size_t>(h) * w * c);
          ResizeBilinear(pixels, ih, iw, c, h, w, resized.data());
          pixels.swap(resized);
        }
        shape = {h, w, c};
      } else {
        continue;
      }
      ds.pixels = (ds.size == 0 || ds.pixels) && eight_bit;
      if (ds.size == 0) {
        ds.sample_shape = shape;
      } else {
        EDGEOPT_ENSURE(shape == ds.sample_shape, StatusCode::kInvalidArgument,
                       "%s: shape %s differs from the first sample's in %s", path.c_str(),
                       std::to_string(pixels.size()).c_str(), dir.c_str());
      }
      ds.x.insert(ds.x.end(), pixels.begin(), pixels.end());
      ds.labels.push_back(label);
      ++ds.size;
    }
  }
  EDGEOPT_ENSURE(!ds.class_names.empty(), StatusCode::kInvalidArgument, "%s: no class subfolders",
                 dir.c_str());
  EDGEOPT_ENSURE(ds.size > 0, StatusCode::kInvalidArgument,
                 "%s: no images or .npy files in the class subfolders", dir.c_str());
  ds.num_classes = static_cast<int>(ds.class_names.size());
  EDGEOPT_RETURN_IF_ERROR(ds.Validate());
  return ds;
}

StatusOr<Dataset> LoadCsv(const std::string& path, const std::string& label_column) {
  EDGEOPT_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(path));
  const std::string text(bytes.begin(), bytes.end());
  std::vector<std::string> lines = SplitString(text, '\n');
  while (!lines.empty() && Trim(lines.back()).empty()) lines.pop_back();
  EDGEOPT_ENSURE(!lines.empty(), StatusCode::kInvalidArgument, "%s: empty CSV file", path.c_str());
  std::vector<std::string> header;
  size_t first = 0;
  {
    std::vector<std::string> cells = SplitString(lines[0], ',');
    double v;
    bool numeric = true;
    for (const std::string& c : cells) numeric = numeric && ParseNumber(c, &v);
    if (!numeric) {
      for (const std::string& c : cells) header.push_back(Trim(c));
      first = 1;
    }
  }
  const size_t cols = header.empty() ? SplitString(lines[0], ',').size() : header.size();
  EDGEOPT_ENSURE(cols >= 1, StatusCode::kInvalidArgument, "%s: no columns", path.c_str());
  int label = static_cast<int>(cols) - 1;
  if (label_column == "none") {
    label = -1;
  } else if (!label_column.empty()) {
    auto it = std::find(header.begin(), header.end(), label_column);
    if (it != header.end()) {
      label = static_cast<int>(it - header.begin());
    } else {
      char* end = nullptr;
      const long idx = std::strtol(label_column.c_str(), &end, 10);
      EDGEOPT_ENSURE(
          end != label_column.c_str() && *end == '\0' && idx >= 0 && idx < static_cast<long>(cols),
          StatusCode::kInvalidArgument,
          "%s: label column '%s' is neither a header name nor an "
          "index below %zu",
          path.c_str(), label_column.c_str(), cols);
      label = static_cast<int>(idx);
    }
  }
  EDGEOPT_ENSURE(label < 0 || cols >= 2, StatusCode::kInvalidArgument,
                 "%s: one column, and it is the label", path.c_str());
  Dataset ds;
  ds.name = path;
  ds.sample_shape = {static_cast<int>(label >= 0 ? cols - 1 : cols)};
  std::vector<double> labels;
  for (size_t r = first; r < lines.size(); ++r) {
    if (Trim(lines[r]).empty()) continue;
    std::vector<std::string> cells = SplitString(lines[r], ',');
    EDGEOPT_ENSURE(cells.size() == cols, StatusCode::kInvalidArgument,
                   "%s:%zu: %zu columns, expected %zu", path.c_str(), r + 1, cells.size(), cols);
    for (size_t c = 0; c < cols; ++c) {
      double v;
      EDGEOPT_ENSURE(ParseNumber(cells[c], &v), StatusCode::kInvalidArgument,
                     "%s:%zu: column %zu ('%s') is not a number", path.c_str(), r + 1, c + 1,
                     Trim(cells[c]).c_str());
      if (static_cast<int>(c) == label) {
        labels.push_back(v);
      } else {
        ds.x.push_back(static_cast<float>(v));
      }
    }
    ++ds.size;
  }
  EDGEOPT_ENSURE(ds.size > 0, StatusCode::kInvalidArgument, "%s: no data rows", path.c_str());
  if (label >= 0) {
    bool integral = true;
    for (double v : labels) integral = integral && v >= 0 && std::floor(v) == v;
    if (integral) {
      EDGEOPT_RETURN_IF_ERROR(LabelsFrom(labels, path, &ds));
    } else {
      ds.targets.assign(labels.begin(), labels.end());
      ds.target_shape = {1};
    }
  }
  EDGEOPT_RETURN_IF_ERROR(ds.Validate());
  return ds;
}

namespace {

StatusOr<Dataset> LoadScaled(const std::string& spec, const LoadOptions& options);

}  // namespace

StatusOr<Dataset> LoadDataset(const std::string& spec, const LoadOptions& options) {
  EDGEOPT_ASSIGN_OR_RETURN(Dataset ds, LoadScaled(spec, options));
  if (options.raw_pixels && ds.pixels) {
    // x / 255 was rounded correctly: times 255 it is within an ulp of the pixel value.
    for (float& v : ds.x) v = std::nearbyint(v * kPixelMax);
  }
  return ds;
}

namespace {

StatusOr<Dataset> LoadScaled(const std::string& spec, const LoadOptions& options) {
  EDGEOPT_ENSURE(!spec.empty(), StatusCode::kInvalidArgument, "empty data spec");
  // name[:split]
  std::string base = spec, split;
  const size_t colon = spec.rfind(':');
  if (colon != std::string::npos) {
    const std::string tail = spec.substr(colon + 1);
    if (tail == "train" || tail == "test") {
      base = spec.substr(0, colon);
      split = tail;
    }
  }
  if (base == "fashion-mnist" || base == "fashion_mnist" || base == "fmnist") {
    return LoadFashionMnist(split.empty() ? "train" : split);
  }
  const std::string lower = Lower(base);
  if (EndsWith(lower, ".npz")) return LoadNpzDataset(base, split);
  EDGEOPT_ENSURE(split.empty() || IsDirectory(base), StatusCode::kInvalidArgument,
                 "%s: a :%s split applies to fashion-mnist, .npz files and IDX "
                 "directories",
                 spec.c_str(), split.c_str());
  if (EndsWith(lower, ".npy")) return LoadNpyFile(base);
  if (EndsWith(lower, ".csv")) return LoadCsv(base, options.csv_label_column);
  if (base.find(',') != std::string::npos) {
    const size_t comma = base.find(',');
    return LoadIdx(base.substr(0, comma), base.substr(comma + 1));
  }
  if (lower.find("idx") != std::string::npos && !IsDirectory(base)) {
    std::string labels;
    const size_t pos = base.find("images-idx3");
    if (pos != std::string::npos) {
      std::string candidate = base;
      candidate.replace(pos, 11, "labels-idx1");
      // The labels may be compressed or not independently of the images.
      std::string plain = candidate;
      if (EndsWith(Lower(plain), ".gz")) plain.resize(plain.size() - 3);
      for (const std::string& c : {candidate, plain, plain + ".gz"}) {
        if (labels.empty() && FileExists(c)) labels = c;
      }
    }
    return LoadIdx(base, labels);
  }
  if (IsDirectory(base)) {
    std::string images, labels;
    if (FindIdxPair(base, split.empty() ? "train" : split, &images, &labels).ok()) {
      EDGEOPT_ASSIGN_OR_RETURN(Dataset ds, LoadIdx(images, labels));
      ds.name = spec;
      return ds;
    }
    EDGEOPT_ASSIGN_OR_RETURN(std::vector<std::string> entries, ListDirectory(base));
    bool has_subdirs = false, has_npy = false;
    for (const std::string& e : entries) {
      if (IsDirectory(JoinPath(base, e))) has_subdirs = true;
      if (FileExtension(e) == ".npy") has_npy = true;
    }
    if (has_subdirs) return LoadClassFolders(base, options);
    if (has_npy) return LoadNpyFolder(base);
    return MakeStatus(StatusCode::kInvalidArgument,
                      "%s: a directory without IDX files, class subfolders or .npy files",
                      base.c_str());
  }
  EDGEOPT_ENSURE(FileExists(base), StatusCode::kNotFound,
                 "%s: no such file or directory (data specs: fashion-mnist[:train|:test], "
                 "FILE.npz, FILE.npy, FILE.csv, IDX files, DIR/)",
                 base.c_str());
  return MakeStatus(StatusCode::kInvalidArgument,
                    "%s: unknown data format (expected .npz, .npy, .csv, IDX or a directory)",
                    base.c_str());
}

}  // namespace

}  // namespace data
}  // namespace edgeopt
